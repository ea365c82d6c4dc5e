import { generateKeyPairSync, randomBytes, verify } from 'node:crypto';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { SignPool, SignWorkerError } from '../../src/crypto/sign-pool.js';

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const messages = (n: number) => Array.from({ length: n }, (_, i) => randomBytes(20 + (i % 40)));
const pools: SignPool[] = [];
const newPool = (size: number) => {
  const p = new SignPool(size);
  pools.push(p);
  return p;
};
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
});

describe('SignPool', () => {
  it('signs every message in order with the key, spread over its workers', async () => {
    const pool = newPool(3);
    const m = messages(3001);
    const sigs = await pool.sign(privateKey, m);
    expect(sigs).toHaveLength(3001);
    expect(pool.threads).toHaveLength(3);
    for (const i of [0, 1000, 1001, 2000, 3000]) expect(verify(null, m[i]!, publicKey, sigs[i]!)).toBe(true);
  });

  it('fails a batch whose worker exits, at once, replaces the worker, and signs the next batch', async () => {
    const pool = newPool(2);
    await pool.sign(privateKey, messages(10)); // workers up
    const [victim, survivor] = pool.threads;
    const batch = pool.sign(privateKey, messages(40_000));
    const t0 = performance.now();
    await victim!.terminate();
    await expect(batch).rejects.toBeInstanceOf(SignWorkerError);
    // Without waiting for the surviving worker's half (about 20,000 signatures, seconds on a busy machine).
    expect(performance.now() - t0).toBeLessThan(1_000);
    expect(pool.threads).toHaveLength(2);
    expect(pool.threads).toContain(survivor);
    expect(pool.threads).not.toContain(victim);
    const m = messages(5000);
    const sigs = await pool.sign(privateKey, m);
    expect(verify(null, m[4999]!, publicKey, sigs[4999]!)).toBe(true);
  });

  it('replaces a worker that fails while idle, without crashing the process', async () => {
    const pool = newPool(2);
    await pool.sign(privateKey, messages(10));
    const [failing] = pool.threads;
    failing!.emit('error', new Error('worker crashed while idle')); // what a worker's uncaught exception raises here
    expect(pool.threads).toHaveLength(2);
    expect(pool.threads).not.toContain(failing);
    const m = messages(100);
    expect(verify(null, m[99]!, publicKey, (await pool.sign(privateKey, m))[99]!)).toBe(true);
  });

  it('terminates every worker on close, and starts afresh if used again', async () => {
    const pool = newPool(2);
    await pool.sign(privateKey, messages(100));
    const threads = [...pool.threads];
    const exits = threads.map((w) => once(w, 'exit'));
    await pool.close();
    await Promise.all(exits);
    expect(pool.threads).toHaveLength(0);
    const m = messages(10);
    expect(verify(null, m[9]!, publicKey, (await pool.sign(privateKey, m))[9]!)).toBe(true);
    expect(pool.threads.every((w) => !threads.includes(w))).toBe(true);
  });
});
