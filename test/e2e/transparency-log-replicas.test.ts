import { createHash } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { rawQuery } from '../../src/db/raw.js';
import { gtinCheckDigit } from '../../src/gs1/index.js';
import { createLogger } from '../../src/logging/logger.js';
import { type RunningServer, startServer } from '../../src/server/app.js';
import { testServerUrl } from '../support/database.js';
import { startTestServer, type TestServer } from '../support/server.js';

// RFC 9162 MTH, naively, over leaf hashes: the tree every checkpoint must be a prefix of.
const H = (...p: Uint8Array[]) => createHash('sha256').update(Buffer.concat(p)).digest();
function mth(d: Buffer[]): Buffer {
  if (d.length === 0) return H();
  if (d.length === 1) return d[0]!;
  let k = 1;
  while (k * 2 < d.length) k *= 2;
  return H(Buffer.from([1]), mth(d.slice(0, k)), mth(d.slice(k)));
}

// Two API servers on one PostgreSQL, both running a sequencer: there is only one tree (embedded PGlite has one process).
describe.skipIf(!testServerUrl)('transparency log with two servers on one PostgreSQL', () => {
  let a: TestServer;
  let b: RunningServer;
  let brand: { id: string; key: string };
  let gtin: string;
  const fast = { DPP_LOG_INTERVAL_MS: '10', DPP_LOG_CHECKPOINT_MS: '10', DPP_LOG_BATCH: '37', DPP_LOG_ORIGIN: 'dpp.test/log' };

  beforeAll(async () => {
    a = await startTestServer(fast);
    const c = a.services.config;
    b = await startServer(
      loadConfig({
        NODE_ENV: 'test',
        PORT: '0',
        HOST: '127.0.0.1',
        LOG_LEVEL: 'silent',
        DATABASE_URL: c.databaseUrl!,
        DPP_BOOTSTRAP_API_KEY: a.platformKey,
        DPP_MASTER_KEY: Buffer.from(a.services.masterKey).toString('hex'),
        ...fast,
      }),
      createLogger('silent'),
    );
    brand = await a.org('BRAND', { gs1CompanyPrefixes: ['0614141'] });
    gtin = '061414100001' + gtinCheckDigit('061414100001');
    await a.gql('mutation($i: ProductModelInput!) { createProductModel(input: $i) { id } }', { i: { gtin, name: 'Replicas' } }, brand.key);
    await a.gql('mutation { rotateSigningKey { kid } }', {}, brand.key);
  });
  afterAll(async () => {
    await b?.close();
    await a?.stop();
  });

  it('concurrent writes through both servers end in one tree that every checkpoint is a prefix of', async () => {
    const mintOn = async (url: string, n: number, i: number) => {
      const res = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${brand.key}` },
        body: JSON.stringify({ query: 'mutation($i: MintInput!) { mintPassports(input: $i) { id } }', variables: { i: { gtin, quantity: n, sign: i % 2 === 0, idempotencyKey: `replica-${i}` } } }),
      });
      expect(((await res.json()) as { errors?: unknown }).errors).toBeUndefined();
    };
    await Promise.all(Array.from({ length: 8 }, (_, i) => mintOn(i % 2 ? b.url : a.url, 20 + i * 7, i)));

    const em = a.db.orm.em.fork() as EntityManager;
    const [{ n }] = (await rawQuery<{ n: string }>(em, 'select count(*) as n from lifecycle_event', [])) as [{ n: string }];
    let notes: string[] = [];
    for (let i = 0; i < 400; i++) {
      notes = await Promise.all([a.url, b.url].map(async (u) => (await fetch(`${u}/log/checkpoint`)).text()));
      if (notes.every((note) => Number(note.split('\n')[1]) === Number(n))) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(notes[0]).toBe(notes[1]);
    expect(Number(notes[0]!.split('\n')[1])).toBe(Number(n));

    // Every event has exactly one leaf, indexes 0…n-1, each unit's events in seq order.
    const leaves = await rawQuery<{ leaf_index: string; hash: string; passport_id: string; seq: number }>(
      em,
      'select l.leaf_index, e.hash, e.passport_id, e.seq from log_leaf l join lifecycle_event e on e.id = l.event_id order by l.leaf_index',
      [],
    );
    expect(leaves.map((l) => Number(l.leaf_index))).toEqual(Array.from({ length: Number(n) }, (_, i) => i));
    const lastSeq = new Map<string, number>();
    for (const l of leaves) {
      expect(l.seq).toBeGreaterThan(lastSeq.get(l.passport_id) ?? 0);
      lastSeq.set(l.passport_id, l.seq);
    }
    // Every checkpoint either server signed is the root of a prefix of that one sequence of leaves.
    const hashes = leaves.map((l) => H(Buffer.from([0]), Buffer.from(l.hash, 'hex')));
    const checkpoints = await rawQuery<{ tree_size: string; root_hash: Buffer }>(em, 'select tree_size, root_hash from log_checkpoint order by tree_size', []);
    expect(checkpoints.length).toBeGreaterThan(1);
    for (const c of checkpoints) expect(mth(hashes.slice(0, Number(c.tree_size))).equals(c.root_hash)).toBe(true);
    expect(Buffer.from(notes[0]!.split('\n')[2]!, 'base64').equals(mth(hashes))).toBe(true);
  });
});
