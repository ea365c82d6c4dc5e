import { createHash, createPublicKey, verify as edVerify } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/crypto/jcs.js';
import { rawQuery } from '../../src/db/raw.js';
import { gtinCheckDigit } from '../../src/gs1/index.js';
import { startTestServer, type TestServer } from '../support/server.js';

/*
 * An independent verifier, written here from RFC 9162 §2.1.3.2 / §2.1.4.2 and c2sp.org/signed-note and
 * tlog-checkpoint, importing none of the log's code: what a regulator would write to check our proofs.
 */
const H = (...parts: Uint8Array[]) => createHash('sha256').update(Buffer.concat(parts)).digest();
const node = (l: Uint8Array, r: Uint8Array) => H(Buffer.from([1]), l, r);
const leafOf = (eventHashHex: string) => H(Buffer.from([0]), Buffer.from(eventHashHex, 'hex'));

function rfcInclusion(index: number, size: number, leaf: Buffer, path: Buffer[], root: Buffer): boolean {
  if (index >= size) return false;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of path) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = node(p, r);
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else r = node(r, p);
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && r.equals(root);
}

function rfcConsistency(m: number, n: number, r1: Buffer, r2: Buffer, proof: Buffer[]): boolean {
  if (m === n) return proof.length === 0 && r1.equals(r2);
  if (m === 0 || m > n || proof.length === 0) return m === 0 && proof.length === 0;
  const path = (m & (m - 1)) === 0 ? [r1, ...proof] : proof;
  let fn = m - 1;
  let sn = n - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr = path[0]!;
  let sr = path[0]!;
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = node(c, fr);
      sr = node(c, sr);
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else sr = node(sr, c);
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && fr.equals(r1) && sr.equals(r2);
}

/** Opens a signed checkpoint with a verifier key `<name>+<id>+<base64(0x01||key)>`: its size and root, or throws. */
function openCheckpoint(note: string, vkey: string): { size: number; root: Buffer } {
  const [, name, id, b64] = /^([^+]+)\+([0-9a-f]{8})\+(.+)$/.exec(vkey.trim())!;
  const raw = Buffer.from(b64!, 'base64');
  expect(raw[0]).toBe(1);
  const pub = createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), raw.subarray(1)]), format: 'der', type: 'spki' });
  expect(H(Buffer.from(`${name}\n`), raw).subarray(0, 4).toString('hex')).toBe(id);
  const split = note.lastIndexOf('\n\n');
  const text = note.slice(0, split + 1);
  const sigLine = note.slice(split + 2).split('\n').find((l) => l.startsWith(`\u2014 ${name} `));
  if (!sigLine) throw new Error('not signed by the log key');
  const sig = Buffer.from(sigLine.split(' ')[2]!, 'base64');
  if (sig.subarray(0, 4).toString('hex') !== id || !edVerify(null, Buffer.from(text), pub, sig.subarray(4))) throw new Error('bad signature');
  const [origin, size, root] = text.split('\n');
  expect(origin).toBe(name);
  return { size: Number(size), root: Buffer.from(root!, 'base64') };
}

let s: TestServer;
let brand: { id: string; key: string };
let gtin: string;
let vkey: string;
let batch = 0;
const em = () => s.db.orm.em.fork() as EntityManager;
const get = (path: string, key?: string) => fetch(`${s.url}${path}`, key ? { headers: { authorization: `Bearer ${key}` } } : {});

async function mint(quantity: number): Promise<string[]> {
  const r = await s.gql<{ mintPassports: { passports: { id: string }[] } }>(
    'mutation($i: MintInput!) { mintPassports(input: $i) { passports { id } } }',
    { i: { gtin, quantity, sign: true, idempotencyKey: `tlog-${batch++}` } },
    brand.key,
  );
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  return r.data!.mintPassports.passports.map((p) => p.id);
}

/** Waits until a checkpoint covers every event stored so far; answers it. */
async function caughtUp(): Promise<{ note: string; size: number; root: Buffer }> {
  const [{ n }] = (await rawQuery<{ n: string }>(em(), 'select count(*) as n from lifecycle_event', [])) as [{ n: string }];
  for (let i = 0; i < 200; i++) {
    const note = await (await get('/log/checkpoint')).text();
    const c = openCheckpoint(note, vkey);
    if (c.size >= Number(n)) return { note, ...c };
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the log did not catch up');
}

const events = (passportId: string) =>
  rawQuery<{ id: string; seq: number; hash: string }>(em(), 'select id, seq, hash from lifecycle_event where passport_id = $1 order by seq', [passportId]);

beforeAll(async () => {
  s = await startTestServer({ DPP_LOG_INTERVAL_MS: '50', DPP_LOG_CHECKPOINT_MS: '50', DPP_LOG_ORIGIN: 'dpp.test/log' });
  brand = await s.org('BRAND', { gs1CompanyPrefixes: ['0614141'] });
  gtin = '061414100001' + gtinCheckDigit('061414100001');
  await s.gql('mutation($i: ProductModelInput!) { createProductModel(input: $i) { id } }', { i: { gtin, name: 'Logged' } }, brand.key);
  await s.gql('mutation { rotateSigningKey { kid } }', {}, brand.key);
  vkey = await (await get('/.well-known/log-key')).text();
});
afterAll(async () => s?.stop());

describe('transparency log over HTTP, checked by an independent RFC 9162 verifier', () => {
  it('publishes the log key and signed C2SP checkpoints; GraphQL serves the same checkpoint', async () => {
    expect(vkey.trim()).toMatch(/^dpp\.test\/log\+[0-9a-f]{8}\+[A-Za-z0-9+/]{43,44}=?$/);
    await mint(3);
    const c = await caughtUp();
    expect(c.note.split('\n')[0]).toBe('dpp.test/log');
    const q = await s.gql<{ logCheckpoint: { origin: string; treeSize: number; rootHash: string; note: string; verifierKey: string } }>(
      '{ logCheckpoint { origin treeSize rootHash note verifierKey } }',
    );
    expect(q.errors).toBeUndefined();
    expect(q.data!.logCheckpoint.verifierKey).toBe(vkey.trim());
    expect(q.data!.logCheckpoint.treeSize).toBeGreaterThanOrEqual(c.size);
    expect(openCheckpoint(q.data!.logCheckpoint.note, vkey).root.toString('base64')).toBe(q.data!.logCheckpoint.rootHash);
    const json = (await (await fetch(`${s.url}/.well-known/log-key`, { headers: { accept: 'application/json' } })).json()) as { verifierKey: string };
    expect(json.verifierKey).toBe(vkey.trim());
  });

  it('every event of a unit has an inclusion proof that verifies against the signed root (HTTP and GraphQL)', async () => {
    const [unit] = await mint(2);
    const c = await caughtUp();
    for (const e of await events(unit!)) {
      const res = await get(`/log/proof/inclusion?eventId=${e.id}`, brand.key);
      expect(res.status).toBe(200);
      const p = (await res.json()) as { eventHash: string; leafIndex: number; treeSize: number; hashes: string[] };
      expect(p.eventHash).toBe(e.hash);
      expect(p.treeSize).toBe(c.size);
      expect(rfcInclusion(p.leafIndex, p.treeSize, leafOf(e.hash), p.hashes.map((h) => Buffer.from(h, 'base64')), c.root)).toBe(true);
      // A proof for another event's leaf does not pass for this one.
      expect(rfcInclusion(p.leafIndex, p.treeSize, leafOf(createHash('sha256').update('x').digest('hex')), p.hashes.map((h) => Buffer.from(h, 'base64')), c.root)).toBe(false);
    }
    const q = await s.gql<{ passport: { history: { edges: { node: { hash: string; inclusionProof: { leafIndex: number; treeSize: number; hashes: string[] } | null } }[] } } }>(
      'query($id: ID!, $n: Int) { passport(id: $id) { history { edges { node { hash inclusionProof(treeSize: $n) { leafIndex treeSize hashes } } } } } }',
      { id: unit, n: c.size },
      brand.key,
    );
    expect(q.errors).toBeUndefined();
    for (const { node: n } of q.data!.passport.history.edges) {
      expect(rfcInclusion(n.inclusionProof!.leafIndex, c.size, leafOf(n.hash), n.inclusionProof!.hashes.map((h) => Buffer.from(h, 'base64')), c.root)).toBe(true);
    }
  });

  it('a later checkpoint is proven consistent with an earlier one (HTTP and GraphQL)', async () => {
    const before = await caughtUp();
    await mint(5);
    const after = await caughtUp();
    expect(after.size).toBeGreaterThan(before.size);
    const res = await get(`/log/proof/consistency?from=${before.size}&to=${after.size}`);
    expect(res.status).toBe(200);
    const proof = ((await res.json()) as { hashes: string[] }).hashes.map((h) => Buffer.from(h, 'base64'));
    expect(rfcConsistency(before.size, after.size, before.root, after.root, proof)).toBe(true);
    expect(rfcConsistency(before.size, after.size, before.root, Buffer.alloc(32), proof)).toBe(false);
    const q = await s.gql<{ logConsistencyProof: string[] }>('query($f: Int!, $t: Int!) { logConsistencyProof(from: $f, to: $t) }', { f: before.size, t: after.size });
    expect(q.data!.logConsistencyProof.map((h) => Buffer.from(h, 'base64'))).toEqual(proof);
  });

  it('refuses bad sizes, and proofs of an event to anyone who may not read its history', async () => {
    const c = await caughtUp();
    expect((await get(`/log/proof/consistency?from=${c.size + 1}&to=${c.size}`)).status).toBe(400);
    expect((await get(`/log/proof/consistency?from=1&to=${c.size + 1000}`)).status).toBe(400);
    expect((await get('/log/proof/consistency?from=-1&to=2')).status).toBe(400);
    const bad = await s.gql('query($t: Int!) { logConsistencyProof(from: 2, to: $t) }', { t: c.size + 1000 });
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');

    const [unit] = await mint(1);
    await caughtUp();
    const [e] = await events(unit!);
    const other = await s.org('BRAND', { gs1CompanyPrefixes: ['0614142'] });
    const retailer = await s.org('RETAILER');
    const regulator = await s.org('REGULATOR');
    expect((await get(`/log/proof/inclusion?eventId=${e!.id}`)).status).toBe(401);
    expect((await get(`/log/proof/inclusion?eventId=${e!.id}`, other.key)).status).toBe(403);
    expect((await get(`/log/proof/inclusion?eventId=${e!.id}`, retailer.key)).status).toBe(403);
    // An unknown event answers like a forbidden one: existence is not revealed.
    expect((await get('/log/proof/inclusion?eventId=0190f0f0-0000-7000-8000-000000000000', other.key)).status).toBe(403);
    expect((await get(`/log/proof/inclusion?eventId=${e!.id}`, regulator.key)).status).toBe(200);
    expect((await get(`/log/proof/inclusion?eventId=${e!.id}&treeSize=${c.size + 100_000}`, brand.key)).status).toBe(400);
  });

  it('verifyHistory reports each event in the log; a rewritten chain still verifies as a chain but not in the log', async () => {
    const [unit] = await mint(1);
    const appended = await s.gql('mutation($i: TamperReportInput!) { reportTamper(input: $i) { seq } }', { i: { passportId: unit, description: 'seal looks broken' } }, brand.key);
    expect(appended.errors).toBeUndefined();
    const c = await caughtUp();
    type V = { verifyHistory: { valid: boolean; reason: string | null; firstBrokenSeq: number | null; logTreeSize: number; log: { seq: number; status: string; leafIndex: number | null }[] } };
    const query = 'query($id: ID!) { verifyHistory(passportId: $id) { valid reason firstBrokenSeq logTreeSize log { seq status leafIndex } } }';
    const ok = await s.gql<V>(query, { id: unit }, brand.key);
    expect(ok.errors).toBeUndefined();
    expect(ok.data!.verifyHistory.valid).toBe(true);
    expect(ok.data!.verifyHistory.logTreeSize).toBeGreaterThanOrEqual(c.size);
    const stored = await events(unit!);
    expect(ok.data!.verifyHistory.log.map((e) => e.status)).toEqual(stored.map(() => 'INCLUDED'));
    expect(stored.length).toBe(3);

    // Someone with the database rewrites the SIGNED event's payload, then every hash after it and the head:
    // the chain alone verifies again; the log does not.
    const before = await s.gql<V>(query, { id: unit }, brand.key);
    expect(before.data!.verifyHistory.valid).toBe(true);
    await rewriteFrom(unit!, 2);
    const after = await s.gql<V>(query, { id: unit }, brand.key);
    expect(after.data!.verifyHistory.valid).toBe(false);
    expect(after.data!.verifyHistory.firstBrokenSeq).toBe(2);
    expect(after.data!.verifyHistory.reason).toMatch(/transparency log/);
    expect(after.data!.verifyHistory.log.find((e) => e.seq === 2)!.status).toBe('NOT_INCLUDED');
    expect(after.data!.verifyHistory.log.find((e) => e.seq === 1)!.status).toBe('INCLUDED');
    // And the independent check of the served event against the signed root fails.
    const [, forged] = await events(unit!);
    const p = (await (await get(`/log/proof/inclusion?eventId=${forged!.id}`, brand.key)).json()) as { eventHash: string; leafIndex: number; treeSize: number; hashes: string[] };
    const latest = openCheckpoint(await (await get('/log/checkpoint')).text(), vkey);
    expect(p.eventHash).toBe(forged!.hash);
    expect(rfcInclusion(p.leafIndex, p.treeSize, leafOf(p.eventHash), p.hashes.map((h) => Buffer.from(h, 'base64')), latest.size === p.treeSize ? latest.root : c.root)).toBe(false);
  });
});

/** Rewrites a unit's history from `seq` on with a changed payload, recomputing every hash and the head (trigger off, one transaction). */
async function rewriteFrom(passportId: string, seq: number): Promise<void> {
  await em().transactional(async (trx) => {
    const tx = trx as EntityManager;
    await rawQuery(tx, 'alter table lifecycle_event disable trigger lifecycle_event_append_only', []);
    const rows = await rawQuery<{ id: string; seq: number; type: string; actor_id: string | null; payload: Record<string, unknown>; prev_hash: string | null; occurred_at: string; recorded_at: string }>(
      tx,
      `select id, seq, type, actor_id, payload, prev_hash, to_char(occurred_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as occurred_at,
         to_char(recorded_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as recorded_at from lifecycle_event where passport_id = $1 order by seq`,
      [passportId],
    );
    let prev = rows.find((r) => r.seq === seq - 1)?.id ? (await rawQuery<{ hash: string }>(tx, 'select hash from lifecycle_event where passport_id = $1 and seq = $2', [passportId, seq - 1]))[0]!.hash : null;
    for (const r of rows.filter((x) => x.seq >= seq)) {
      const payload = r.seq === seq ? { ...r.payload, forged: true } : r.payload;
      const hashed = { passportId, seq: r.seq, type: r.type, occurredAt: r.occurred_at, recordedAt: r.recorded_at, actorId: r.actor_id, payload, prevHash: prev };
      const hash = createHash('sha256').update(canonicalJson(hashed)).digest('hex');
      await rawQuery(tx, 'update lifecycle_event set payload = $2, prev_hash = $3, hash = $4 where id = $1', [r.id, JSON.stringify(payload), prev, hash]);
      prev = hash;
    }
    await rawQuery(tx, 'update passport set head_hash = $2 where id = $1', [passportId, prev]);
    await rawQuery(tx, 'alter table lifecycle_event enable trigger lifecycle_event_append_only', []);
  });
}
