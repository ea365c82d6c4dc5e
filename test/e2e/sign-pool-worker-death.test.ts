import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { SignPool } from '../../src/crypto/sign-pool.js';
import { fromBase64Url, verify } from '../../src/crypto/ed25519.js';
import { jwkToPublicKey } from '../../src/crypto/jwk.js';
import { gtinCheckDigit, parseDigitalLink } from '../../src/gs1/index.js';
import { LifecycleEvent } from '../../src/modules/history/lifecycle-event.entity.js';
import type { LocalEncryptedKeyStore } from '../../src/modules/keys/local-key-store.js';
import { identityBytes } from '../../src/modules/passports/identity.js';
import { MintBatch, Passport } from '../../src/modules/passports/passport.entity.js';
import { startTestServer, type TestServer } from '../support/server.js';

// Issue 20: a signing worker that dies mid-batch must fail the mint promptly (not hang it with its
// transaction open), write nothing, and leave a pool that signs the next mint.

let s: TestServer;
let brand: { id: string; key: string };
const MINT = `mutation($i: MintInput!) { mintPassports(input: $i) { id passports { id serial digitalLink } } }`;
type Minted = { mintPassports: { id: string; passports: { id: string; serial: string; digitalLink: string }[] } };

async function counts() {
  const em = s.db.orm.em.fork();
  return { passports: await em.count(Passport, {}), batches: await em.count(MintBatch, {}), events: await em.count(LifecycleEvent, {}) };
}

beforeAll(async () => {
  s = await startTestServer();
  brand = await s.org('BRAND', { gs1CompanyPrefixes: ['0614141'] });
});
afterAll(async () => {
  vi.restoreAllMocks();
  await s?.stop();
});

describe('a signing worker dying during a signed mint', () => {
  it('answers SERVICE_UNAVAILABLE within two seconds, writes nothing, and the retry mints and signs', async () => {
    const body = '061414177777';
    const gtin = body + gtinCheckDigit(body);
    expect((await s.gql('mutation($i: ProductModelInput!) { createProductModel(input: $i) { id } }', { i: { gtin, name: 'Pool' } }, brand.key)).errors).toBeUndefined();
    const pool = (s.services.keyStore as LocalEncryptedKeyStore).pool;
    const before = await counts();

    // The mint signs its 20,000 units in two chunks of 10,000; once the second is handed to the pool,
    // one worker is killed (whichever chunk it holds then, the batch is lost).
    const sign = SignPool.prototype.sign;
    let calls = 0;
    let killedAt = 0;
    let victim: (typeof pool.threads)[number] | undefined;
    const spy = vi.spyOn(pool, 'sign').mockImplementation(function (this: SignPool, ...args) {
      const signing = sign.apply(this, args);
      if (++calls === 2) {
        victim = pool.threads[0]!;
        killedAt = performance.now();
        void victim.terminate();
      }
      return signing;
    });
    const input = { gtin, quantity: 20_000, lot: 'P1', idempotencyKey: 'worker-death', sign: true };
    const failed = await s.gql<Minted>(MINT, { i: input }, brand.key);
    const answeredAfter = performance.now() - killedAt;
    spy.mockRestore();

    expect(calls).toBe(2);
    expect(failed.status).toBe(503);
    expect(failed.errors?.[0]?.extensions).toMatchObject({ code: 'SERVICE_UNAVAILABLE', reason: 'SIGNING_INTERRUPTED' });
    expect(failed.data?.mintPassports ?? null).toBeNull();
    expect(answeredAfter).toBeLessThan(2_000);
    expect(await counts()).toEqual(before);
    // The pool replaced the dead worker and kept the others.
    expect(pool.threads.length).toBeGreaterThan(0);
    expect(pool.threads).not.toContain(victim);

    // The client's retry (same request, same idempotency key) mints and signs everything.
    const retry = await s.gql<Minted>(MINT, { i: input }, brand.key);
    expect(retry.errors).toBeUndefined();
    const units = retry.data!.mintPassports.passports;
    expect(units).toHaveLength(20_000);
    const after = await counts();
    expect(after.passports - before.passports).toBe(20_000);
    expect(after.events - before.events).toBe(40_000);
    const { keys } = (await (await fetch(`${s.url}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] };
    const rows = await s.db.orm.em.fork().find(Passport, { id: { $in: [units[0]!.id, units[9_999]!.id, units[10_000]!.id, units[19_999]!.id] } });
    expect(rows).toHaveLength(4);
    for (const row of rows) {
      const sig = parseDigitalLink(units.find((u) => u.id === row.id)!.digitalLink).sig!;
      expect(sig).toBe(row.signature);
      const jwk = keys.find((k) => k.kid === row.kid)!;
      expect(verify(fromBase64Url(sig), identityBytes({ gtin: row.gtin, serial: row.serial, lot: 'P1' }), jwkToPublicKey(jwk))).toBe(true);
    }
  });
});
