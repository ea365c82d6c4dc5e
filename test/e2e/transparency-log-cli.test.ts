import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EntityManager } from '@mikro-orm/postgresql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noteSigner, verifierKey } from '../../src/crypto/signed-note.js';
import { rawQuery } from '../../src/db/raw.js';
import { gtinCheckDigit } from '../../src/gs1/index.js';
import { startTestServer, type TestServer } from '../support/server.js';

/** Runs the built `dpp` CLI (as `npm run dpp` does) and answers its exit code and output. */
function dpp(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['dist/src/cli/dpp.js', ...args], { timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

let s: TestServer;
let brand: { id: string; key: string };
let gtin: string;
let batch = 0;
const dir = mkdtempSync(join(tmpdir(), 'dpp-log-cli-'));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const em = () => s.db.orm.em.fork() as EntityManager;
const get = (path: string, key?: string) => fetch(`${s.url}${path}`, key ? { headers: { authorization: `Bearer ${key}` } } : {});

async function mint(quantity: number): Promise<string[]> {
  const r = await s.gql<{ mintPassports: { passports: { id: string }[] } }>(
    'mutation($i: MintInput!) { mintPassports(input: $i) { passports { id } } }',
    { i: { gtin, quantity, sign: true, idempotencyKey: `cli-${batch++}` } },
    brand.key,
  );
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  return r.data!.mintPassports.passports.map((p) => p.id);
}

/** The checkpoint note once it covers every stored event. */
async function caughtUp(): Promise<{ note: string; size: number }> {
  const [{ n }] = (await rawQuery<{ n: string }>(em(), 'select count(*) as n from lifecycle_event', [])) as [{ n: string }];
  for (let i = 0; i < 300; i++) {
    const note = await (await get('/log/checkpoint')).text();
    const size = Number(note.split('\n')[1]);
    if (size >= Number(n)) return { note, size };
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the log did not catch up');
}

beforeAll(async () => {
  s = await startTestServer({ DPP_LOG_INTERVAL_MS: '50', DPP_LOG_CHECKPOINT_MS: '50', DPP_LOG_ORIGIN: 'dpp.test/log' });
  brand = await s.org('BRAND', { gs1CompanyPrefixes: ['0614141'] });
  gtin = '061414100001' + gtinCheckDigit('061414100001');
  await s.gql('mutation($i: ProductModelInput!) { createProductModel(input: $i) { id } }', { i: { gtin, name: 'CLI' } }, brand.key);
  await s.gql('mutation { rotateSigningKey { kid } }', {}, brand.key);
});
afterAll(async () => s?.stop());

describe('dpp log (offline checks and the watcher)', () => {
  it('verify-inclusion and verify-consistency check saved JSON offline', async () => {
    const [unit] = await mint(2);
    const first = await caughtUp();
    const key = file('key.txt', await (await get('/.well-known/log-key')).text());
    const cp1 = file('cp1.txt', first.note);
    const [event] = await rawQuery<{ id: string }>(em(), 'select id from lifecycle_event where passport_id = $1 and seq = 2', [unit]);
    const proofJson = await (await get(`/log/proof/inclusion?eventId=${event!.id}`, brand.key)).text();
    const ok = await dpp('log', 'verify-inclusion', file('proof.json', proofJson), '--checkpoint', cp1, '--key', key);
    expect(ok.stdout).toMatch(/^VALID: leaf \d+/);
    expect(ok.code).toBe(0);

    const forged = { ...(JSON.parse(proofJson) as Record<string, unknown>), eventHash: randomBytes(32).toString('hex'), leafHash: undefined };
    const bad = await dpp('log', 'verify-inclusion', file('forged.json', JSON.stringify(forged)), '--checkpoint', cp1, '--key', key);
    expect(bad.stdout).toMatch(/^INVALID/);
    expect(bad.code).toBe(1);

    await mint(3);
    const second = await caughtUp();
    const cp2 = file('cp2.txt', second.note);
    const consistency = file('consistency.json', await (await get(`/log/proof/consistency?from=${first.size}&to=${second.size}`)).text());
    const good = await dpp('log', 'verify-consistency', consistency, '--old', cp1, '--new', cp2, '--key', key);
    expect(good.stdout).toMatch(/^CONSISTENT/);
    expect(good.code).toBe(0);
    // A proof for other sizes, or checkpoints by another key, are refused.
    const swapped = await dpp('log', 'verify-consistency', consistency, '--old', cp2, '--new', cp1, '--key', key);
    expect(swapped.code).not.toBe(0);
    const stranger = file('stranger.txt', verifierKey(noteSigner('dpp.test/log', randomBytes(32))));
    const unsigned = await dpp('log', 'verify-consistency', consistency, '--old', cp1, '--new', cp2, '--key', stranger);
    expect(unsigned.stderr).toMatch(/not signed|does not verify/);
    expect(unsigned.code).not.toBe(0);
  });

  it('dpp log watch follows a growing log and alerts when the tree is rewritten or the signature is wrong', async () => {
    const state = join(dir, 'watch');
    const url = s.url;
    await mint(1);
    await caughtUp();
    const firstRun = await dpp('log', 'watch', url, '--state', state, '--once');
    expect(firstRun.stdout).toMatch(/pinned the log key on first use/);
    expect(firstRun.stdout).toMatch(/\(first seen\)/);
    expect(firstRun.code).toBe(0);
    await mint(2);
    await caughtUp();
    const grown = await dpp('log', 'watch', url, '--state', state, '--once');
    expect(grown.stdout).toMatch(/extends \d+/);
    expect(grown.code).toBe(0);

    // The operator rewrites history: the same events, leaves in another order, freshly signed checkpoints.
    await em().transactional(async (trx) => {
      const tx = trx as EntityManager;
      await rawQuery(tx, 'select 1 from log_state where id = 1 for update', []);
      await rawQuery(tx, 'delete from log_leaf', []);
      await rawQuery(tx, 'delete from log_tile', []);
      await rawQuery(tx, 'delete from log_checkpoint', []);
      await rawQuery(tx, `update log_state set tree_size = 0, frontier = '\\x'::bytea where id = 1`, []);
      await rawQuery(tx, `insert into log_pending (event_ids, event_hashes) select string_agg(id::text, chr(31) order by id desc), string_agg(hash, chr(31) order by id desc) from lifecycle_event`, []);
    });
    await mint(1);
    await caughtUp();
    const rewritten = await dpp('log', 'watch', url, '--state', state, '--once');
    expect(rewritten.stderr).toMatch(/ALERT: INCONSISTENT log/);
    expect(rewritten.code).toBe(1);
    expect(readFileSync(join(state, 'checkpoints.log'), 'utf8').trim().split('\n')).toHaveLength(2);

    const wrongKey = verifierKey(noteSigner('dpp.test/log', randomBytes(32)));
    const forged = await dpp('log', 'watch', url, '--state', join(dir, 'watch-2'), '--key', wrongKey, '--once');
    expect(forged.stderr).toMatch(/ALERT: bad checkpoint signature/);
    expect(forged.code).toBe(1);
  });
});
