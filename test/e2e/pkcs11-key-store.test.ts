import { createHash, createPublicKey, type KeyObject, verify as edVerify } from 'node:crypto';
import { base58 } from '@scure/base';
import canonicalize from 'canonicalize';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { gtinCheckDigit, parseDigitalLink } from '../../src/gs1/index.js';
import { LifecycleEvent } from '../../src/modules/history/lifecycle-event.entity.js';
import { LocalEncryptedKeyStore } from '../../src/modules/keys/local-key-store.js';
import { SigningKey } from '../../src/modules/keys/signing-key.entity.js';
import { kidFor } from '../../src/modules/keys/signing-key.service.js';
import { identityBytes } from '../../src/modules/passports/identity.js';
import { MintBatch, Passport } from '../../src/modules/passports/passport.entity.js';
import { softHsmFor } from '../support/requires.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { createSoftHsmToken, probePrivateKey, type SoftHsmToken } from '../support/softhsm.js';

// Issue 24: brands' keys generated, used and destroyed inside a PKCS#11 token (SoftHSM2 in a temporary
// directory), proven against the real server: JWKS, pkcs11-tool, another process with the PIN, every table.

const HSM = softHsmFor('the PKCS#11 key store tests (test/e2e/pkcs11-key-store.test.ts)');
const suite = HSM ? describe : describe.skip;

type Key = { kid: string; status: string; publicKeyJwk: { x: string } };
type Jwks = { keys: { kid: string; kty: string; crv: string; x: string }[] };
type Minted = { mintPassports: { id: string; passports: { id: string; serial: string; digitalLink: string }[] } };
const MINT = 'mutation($i: MintInput!) { mintPassports(input: $i) { id passports { id serial digitalLink } } }';
const ROTATE = 'mutation { rotateSigningKey { kid status publicKeyJwk } }';
const REVOKE = 'mutation($kid: ID!, $reason: String!) { revokeSigningKey(kid: $kid, reason: $reason) { kid status } }';

let token: SoftHsmToken;
let s: TestServer;
let brand: { id: string; key: string };
let gtin: string;
const logLines: string[] = [];

const idHex = (kid: string) => Buffer.from(kid, 'base64url').toString('hex');
const jwks = async () => (await (await fetch(`${s.url}/.well-known/jwks.json`)).json()) as Jwks;
async function jwkKey(kid: string): Promise<KeyObject> {
  const jwk = (await jwks()).keys.find((k) => k.kid === kid);
  expect(jwk, `kid ${kid} in the JWKS`).toBeDefined();
  return createPublicKey({ key: jwk as never, format: 'jwk' });
}

/** pkcs11-tool's object listing, as {kind, label, id, access} blocks. */
function tokenObjects(): { kind: string; label?: string; id?: string; access?: string }[] {
  const text = token.tool(['--list-objects'], { login: true });
  return text.split(/\n(?=\S)/).filter((b) => /Key Object/.test(b)).map((block) => ({
    kind: /^(\w+) Key Object/.exec(block)![1]!,
    label: /label:\s+(.*)/.exec(block)?.[1]?.trim(),
    id: /ID:\s+([0-9a-f]+)/.exec(block)?.[1],
    access: /Access:\s+(.*)/.exec(block)?.[1]?.trim(),
  }));
}

async function rotate(): Promise<Key> {
  const r = await s.gql<{ rotateSigningKey: Key }>(ROTATE, {}, brand.key);
  expect(r.errors).toBeUndefined();
  return r.data!.rotateSigningKey;
}

async function mint(quantity: number, idempotencyKey: string, lot = 'H1') {
  return s.gql<Minted>(MINT, { i: { gtin, quantity, lot, idempotencyKey, sign: true } }, brand.key);
}

/** Every unit's signature (from its Digital Link) checked with node:crypto against the JWKS key its row names. */
async function verifyUnits(units: Minted['mintPassports']['passports'], lot: string, kid: string) {
  const key = await jwkKey(kid);
  for (const u of units) {
    const sig = parseDigitalLink(u.digitalLink).sig!;
    expect(edVerify(null, identityBytes({ gtin: gtin.padStart(14, '0'), serial: u.serial, lot }), key, Buffer.from(sig, 'base64url'))).toBe(true);
  }
}

async function counts() {
  const em = s.db.orm.em.fork();
  return { passports: await em.count(Passport, {}), batches: await em.count(MintBatch, {}), events: await em.count(LifecycleEvent, {}) };
}

beforeAll(async () => {
  if (!HSM) return;
  token = createSoftHsmToken();
  process.env.SOFTHSM2_CONF = token.conf; // read by the library in this process, where the server runs
  const log = pino({ level: 'trace' }, { write: (line: string) => void logLines.push(line) });
  s = await startTestServer({ ...token.serverEnv, DPP_PKCS11_SESSIONS: '2' }, { log });
  brand = await s.org('BRAND', { gs1CompanyPrefixes: ['4012345'] });
  const body = '401234500001';
  gtin = body + gtinCheckDigit(body);
  expect((await s.gql('mutation($i: ProductModelInput!) { createProductModel(input: $i) { id } }', { i: { gtin, name: 'HSM drill' } }, brand.key)).errors).toBeUndefined();
});
afterAll(async () => {
  vi.restoreAllMocks();
  await s?.stop();
  token?.remove();
});

suite('a brand key in a SoftHSM2 token', () => {
  let first: Key;

  it('is generated in the token: its public half there equals the JWKS entry, its private half is sensitive and never extractable', async () => {
    first = await rotate();
    expect(first.status).toBe('ACTIVE');
    const row = await s.db.orm.em.fork().findOneOrFail(SigningKey, { kid: first.kid });
    expect(row.keyStore).toBe('pkcs11');
    // The row keeps the public key and an RFC 7512 URI naming the object: CKA_ID is the kid's 32 bytes.
    const pct = idHex(first.kid).replace(/../g, '%$&');
    expect(row.privateKeyRef).toBe(`pkcs11:token=${token.label};id=${pct};object=dpp:${first.kid};type=private`);

    const published = (await jwks()).keys.find((k) => k.kid === first.kid)!;
    expect(published).toMatchObject({ kty: 'OKP', crv: 'Ed25519', x: first.publicKeyJwk.x });
    const pem = token.tool(['--read-object', '--type', 'pubkey', '--id', idHex(first.kid)]);
    expect(createPublicKey(pem).export({ format: 'jwk' }).x).toBe(published.x);

    const objects = tokenObjects().filter((o) => o.id === idHex(first.kid));
    expect(objects.map((o) => [o.kind, o.label]).sort()).toEqual([['Private', `dpp:${first.kid}`], ['Public', `dpp:${first.kid}`]]);
    expect(objects.find((o) => o.kind === 'Private')!.access).toMatch(/^sensitive, always sensitive, never extractable, local$/);
    // Another application holding the PIN cannot read the private value.
    expect(probePrivateKey(token, idHex(first.kid))).toEqual({ count: 1, sensitive: true, extractable: false, alwaysSensitive: true, neverExtractable: true, value: 'CKR_ATTRIBUTE_SENSITIVE' });
  });

  it('signs minted units, signPassports batches and credentials in the token; every one verifies with node:crypto against the JWKS', async () => {
    const minted = await mint(3_000, 'hsm-mint');
    expect(minted.errors).toBeUndefined();
    const units = minted.data!.mintPassports.passports;
    expect(units).toHaveLength(3_000);
    await verifyUnits(units, 'H1', first.kid);

    const plain = await s.gql<Minted>(MINT, { i: { gtin, quantity: 300, lot: 'H2', idempotencyKey: 'hsm-plain' } }, brand.key);
    const signed = await s.gql<{ signPassports: { signed: number; kid: string } }>('mutation($b: ID!) { signPassports(input: { batchId: $b }) { signed kid } }', { b: plain.data!.mintPassports.id }, brand.key);
    expect(signed.data!.signPassports).toEqual({ signed: 300, kid: first.kid });
    const rows = await s.db.orm.em.fork().find(Passport, { batch: plain.data!.mintPassports.id });
    const key = await jwkKey(first.kid);
    for (const r of rows) expect(edVerify(null, identityBytes({ gtin: r.gtin, serial: r.serial, lot: 'H2' }), key, Buffer.from(r.signature!, 'base64url'))).toBe(true);

    for (const unit of units.slice(0, 3)) {
      // vc+jwt from the public route: a compact JWS (RFC 8037 EdDSA) checked by hand.
      const jws = await (await fetch(`${s.url}/credentials/untp-dpp/${unit.id}`, { headers: { accept: 'application/vc+jwt' } })).text();
      const [h, p, sig] = jws.split('.');
      const header = JSON.parse(Buffer.from(h!, 'base64url').toString()) as { alg: string; kid: string };
      expect(header.alg).toBe('EdDSA');
      expect(header.kid.endsWith(`#${first.kid}`)).toBe(true);
      expect(edVerify(null, Buffer.from(`${h}.${p}`), key, Buffer.from(sig!, 'base64url'))).toBe(true);
      // Data Integrity (eddsa-jcs-2022): hashes of the JCS proof options and document, signed together.
      const r = await s.gql<{ passport: { verifiableCredential: Record<string, any> } }>('query($id: ID!) { passport(id: $id) { verifiableCredential(profile: UNTP_DPP, securing: DATA_INTEGRITY) } }', { id: unit.id }, brand.key);
      const { proof, ...document } = r.data!.passport.verifiableCredential;
      const { proofValue, ...options } = proof;
      options['@context'] = document['@context'];
      expect(proof.verificationMethod.endsWith(`#${first.kid}`)).toBe(true);
      const sha = (x: unknown) => createHash('sha256').update(canonicalize(x)!).digest();
      expect(edVerify(null, Buffer.concat([sha(options), sha(document)]), key, base58.decode(proofValue.slice(1)))).toBe(true);
    }
  });

  it('leaves no private key material for it in any row of any table (the scan itself finds the public key)', async () => {
    const conn = s.db.orm.em.getConnection();
    const tables = (await conn.execute<{ table_name: string }[]>("select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE'")).map((t) => t.table_name);
    expect(tables).toEqual(expect.arrayContaining(['signing_key', 'passport', 'lifecycle_event', 'mint_batch']));
    // Each row as text (every column, jsonb and bytea included), searched for each needle.
    const rowsContaining = async (needle: string, regex = false) => {
      let hits = 0;
      for (const t of tables) {
        const [{ n }] = await conn.execute<{ n: number }[]>(`select count(*)::int as n from "${t}" r where r::text ${regex ? '~' : 'like'} ?`, [regex ? needle : `%${needle}%`]);
        hits += n!;
      }
      return hits;
    };
    // Positive control: the public key is found (in signing_key.public_key), so the scan reads the tables.
    expect(await rowsContaining(first.publicKeyJwk.x)).toBeGreaterThanOrEqual(1);
    // An Ed25519 private key as PKCS#8 (its fixed 16-byte prefix) in hex, base64 or base64url; PEM; a local sealed key.
    const pkcs8 = Buffer.from('302e020100300506032b657004220420', 'hex');
    for (const needle of [pkcs8.toString('hex'), pkcs8.subarray(0, 15).toString('base64'), pkcs8.subarray(0, 15).toString('base64url'), 'PRIVATE KEY']) {
      expect(await rowsContaining(needle), needle).toBe(0);
    }
    expect(await rowsContaining('v1\\.[A-Za-z0-9_-]{16}\\.[A-Za-z0-9_-]{40,}', true)).toBe(0);
    // The key's row: public key, and a reference that is exactly the URI (nothing sealed beside it).
    const [row] = await conn.execute<{ private_key_ref: string; public_key: string }[]>('select private_key_ref, public_key from signing_key where kid = ?', [first.kid]);
    expect(row!.private_key_ref).toMatch(/^pkcs11:token=[^;]+;id=(%[0-9a-f]{2}){32};object=dpp:[A-Za-z0-9_-]{43};type=private$/);
    expect(row!.public_key).toBe(first.publicKeyJwk.x);
  });

  it('rotation retires the key (still published, still in the token) and signs with a new token key', async () => {
    const second = await rotate();
    expect(second.kid).not.toBe(first.kid);
    const ids = tokenObjects().map((o) => o.id);
    expect(ids.filter((i) => i === idHex(first.kid))).toHaveLength(2);
    expect(ids.filter((i) => i === idHex(second.kid))).toHaveLength(2);
    expect((await jwks()).keys.map((k) => k.kid)).toEqual(expect.arrayContaining([first.kid, second.kid]));
    const minted = await mint(50, 'hsm-after-rotation', 'H3');
    expect(minted.errors).toBeUndefined();
    await verifyUnits(minted.data!.mintPassports.passports, 'H3', second.kid);
    const old = (await mint(3_000, 'hsm-mint')).data!.mintPassports.passports; // a replay: the first units, still verifying
    await verifyUnits(old.slice(0, 20), 'H1', first.kid);
  });

  it('revocation destroys the private object in the token; a brand left without a key gets a new one there', async () => {
    const keys = (await s.gql<{ signingKeys: Key[] }>('{ signingKeys { kid status publicKeyJwk } }', {}, brand.key)).data!.signingKeys;
    const active = keys.find((k) => k.status === 'ACTIVE')!;
    const r = await s.gql<{ revokeSigningKey: Key }>(REVOKE, { kid: first.kid, reason: 'moved' }, brand.key);
    expect(r.data!.revokeSigningKey.status).toBe('REVOKED');
    expect(tokenObjects().some((o) => o.id === idHex(first.kid))).toBe(false);
    expect(probePrivateKey(token, idHex(first.kid))).toEqual({ count: 0 });
    expect((await jwks()).keys.map((k) => k.kid)).not.toContain(first.kid);
    // Idempotent: a second revocation finds nothing left to destroy.
    expect((await s.gql(REVOKE, { kid: first.kid, reason: 'again' }, brand.key)).errors).toBeUndefined();

    expect((await s.gql(REVOKE, { kid: active.kid, reason: 'leaked' }, brand.key)).errors).toBeUndefined();
    expect(tokenObjects().some((o) => o.id === idHex(active.kid))).toBe(false);
    const minted = await mint(20, 'hsm-after-revocation', 'H4');
    expect(minted.errors).toBeUndefined();
    const fresh = (await s.gql<{ signingKeys: Key[] }>('{ signingKeys { kid status publicKeyJwk } }', {}, brand.key)).data!.signingKeys.find((k) => k.status === 'ACTIVE')!;
    expect(tokenObjects().filter((o) => o.id === idHex(fresh.kid))).toHaveLength(2);
    await verifyUnits(minted.data!.mintPassports.passports, 'H4', fresh.kid);
  });

  it("moves a brand: its local key keeps signing until it rotates into the token, then keeps verifying; no row's key is lost", async () => {
    // A brand whose ACTIVE key was made by the local store before the server moved to the token.
    const moved = await s.org('BRAND', { gs1CompanyPrefixes: ['4012346'] });
    const body = '401234600001';
    const movedGtin = body + gtinCheckDigit(body);
    expect((await s.gql('mutation($i: ProductModelInput!) { createProductModel(input: $i) { id } }', { i: { gtin: movedGtin, name: 'Old drill' } }, moved.key)).errors).toBeUndefined();
    const local = await new LocalEncryptedKeyStore(s.services.masterKey).generate();
    const localKid = kidFor(local.publicKey);
    const em = s.db.orm.em.fork();
    em.create(SigningKey, { kid: localKid, brand: moved.id, status: 'ACTIVE', publicKey: Buffer.from(local.publicKey).toString('base64url'), privateKeyRef: local.privateKeyRef, keyStore: 'local-aes-gcm' });
    await em.flush();

    const mintMoved = (quantity: number, idempotencyKey: string, lot: string) => s.gql<Minted>(MINT, { i: { gtin: movedGtin, quantity, lot, idempotencyKey, sign: true } }, moved.key);
    const before = await mintMoved(10, 'moved-1', 'M1');
    expect(before.errors).toBeUndefined();
    const localKey = await jwkKey(localKid);
    for (const u of before.data!.mintPassports.passports) {
      expect(edVerify(null, identityBytes({ gtin: movedGtin.padStart(14, '0'), serial: u.serial, lot: 'M1' }), localKey, Buffer.from(parseDigitalLink(u.digitalLink).sig!, 'base64url'))).toBe(true);
    }
    expect(logLines.some((l) => l.includes('is still a local key'))).toBe(true);

    const rotated = (await s.gql<{ rotateSigningKey: Key }>(ROTATE, {}, moved.key)).data!.rotateSigningKey;
    const row = await s.db.orm.em.fork().findOneOrFail(SigningKey, { kid: rotated.kid });
    expect([row.keyStore, row.privateKeyRef.startsWith(`pkcs11:token=${token.label};`)]).toEqual(['pkcs11', true]);
    expect(tokenObjects().filter((o) => o.id === idHex(rotated.kid))).toHaveLength(2);
    const after = await mintMoved(10, 'moved-2', 'M2');
    const tokenKey = await jwkKey(rotated.kid);
    for (const u of after.data!.mintPassports.passports) {
      expect(edVerify(null, identityBytes({ gtin: movedGtin.padStart(14, '0'), serial: u.serial, lot: 'M2' }), tokenKey, Buffer.from(parseDigitalLink(u.digitalLink).sig!, 'base64url'))).toBe(true);
    }
    // The local key is RETIRED, still published: what it signed keeps verifying.
    expect((await s.db.orm.em.fork().findOneOrFail(SigningKey, { kid: localKid })).status).toBe('RETIRED');
    expect((await jwks()).keys.map((k) => k.kid)).toContain(localKid);
  });

  it('a key whose reference names another token is refused with SIGNING_KEY_NOT_IN_STORE, nothing written', async () => {
    const other = await s.org('BRAND', { gs1CompanyPrefixes: ['4012347'] });
    const body = '401234700001';
    const otherGtin = body + gtinCheckDigit(body);
    await s.gql('mutation($i: ProductModelInput!) { createProductModel(input: $i) { id } }', { i: { gtin: otherGtin, name: 'Elsewhere' } }, other.key);
    const key = (await s.gql<{ rotateSigningKey: Key }>(ROTATE, {}, other.key)).data!.rotateSigningKey;
    const em = s.db.orm.em.fork();
    const row = await em.findOneOrFail(SigningKey, { kid: key.kid });
    row.privateKeyRef = row.privateKeyRef.replace(`token=${token.label}`, 'token=another-hsm');
    await em.flush();
    const before = await counts();
    const r = await s.gql<Minted>(MINT, { i: { gtin: otherGtin, quantity: 5, lot: 'X1', idempotencyKey: 'elsewhere', sign: true } }, other.key);
    expect(r.errors?.[0]?.extensions).toMatchObject({ code: 'SERVICE_UNAVAILABLE', reason: 'SIGNING_KEY_NOT_IN_STORE' });
    expect(await counts()).toEqual(before);
    // Named rightly again, the same request signs.
    row.privateKeyRef = row.privateKeyRef.replace('token=another-hsm', `token=${token.label}`);
    await em.flush();
    const retry = await s.gql<Minted>(MINT, { i: { gtin: otherGtin, quantity: 5, lot: 'X1', idempotencyKey: 'elsewhere', sign: true } }, other.key);
    expect(retry.errors).toBeUndefined();
  });

  it('racing first signatures and rotations leave one ACTIVE key, and every key in the token has its row (losers are destroyed)', async () => {
    const racer = await s.org('BRAND', { gs1CompanyPrefixes: ['4012348'] });
    const body = '401234800001';
    const racerGtin = body + gtinCheckDigit(body);
    await s.gql('mutation($i: ProductModelInput!) { createProductModel(input: $i) { id } }', { i: { gtin: racerGtin, name: 'Racer' } }, racer.key);
    const logStart = logLines.length;
    const results = await Promise.all([
      ...Array.from({ length: 4 }, (_, i) => s.gql<Minted>(MINT, { i: { gtin: racerGtin, quantity: 3, lot: 'R1', idempotencyKey: `race-${i}`, sign: true } }, racer.key)),
      ...Array.from({ length: 4 }, () => s.gql(ROTATE, {}, racer.key)),
    ]);
    for (const r of results) expect(r.errors).toBeUndefined();
    const rows = await s.db.orm.em.fork().find(SigningKey, { brand: racer.id });
    expect(rows.filter((k) => k.status === 'ACTIVE')).toHaveLength(1);
    // The first signatures raced: more keys were generated than rows kept (the losers' keys).
    const generated = logLines.slice(logStart).filter((l) => l.includes('generated an Ed25519 key in the token')).length;
    expect(generated).toBeGreaterThan(rows.length);
    // Every row of this token that is not revoked has its two objects, and no object lacks a row.
    const all = await s.db.orm.em.fork().find(SigningKey, { keyStore: 'pkcs11', status: { $ne: 'REVOKED' } });
    const expected = all.filter((k) => k.privateKeyRef.includes(`token=${token.label};`)).map((k) => idHex(k.kid)).sort();
    const inToken = [...new Set(tokenObjects().map((o) => o.id!))].sort();
    expect(inToken).toEqual(expected);
  });

  it('a token that vanishes mid-mint fails that mint cleanly (nothing written) and the store reconnects for the next', async () => {
    const keys = (await s.gql<{ signingKeys: Key[] }>('{ signingKeys { kid status } }', {}, brand.key)).data!.signingKeys;
    const kid = keys.find((k) => k.status === 'ACTIVE')!.kid;
    const before = await counts();
    // 12,000 units are signed in two calls (10,000 + 2,000); as the second starts, the token's files are deleted.
    const store = s.services.keyStore;
    const sign = store.sign.bind(store);
    let calls = 0;
    const spy = vi.spyOn(store, 'sign').mockImplementation((ref, messages) => {
      if (++calls === 2) token.vanish();
      return sign(ref, messages);
    });
    const failed = await mint(12_000, 'hsm-vanish', 'H5');
    spy.mockRestore();
    expect(calls).toBe(2);
    expect(failed.status).toBe(503);
    expect(failed.errors?.[0]?.extensions).toMatchObject({ code: 'SERVICE_UNAVAILABLE', reason: 'KEY_STORE_UNAVAILABLE' });
    expect(failed.data?.mintPassports ?? null).toBeNull();
    expect(await counts()).toEqual(before);

    // While the token is away, mints fail the same way (the reconnect finds no token).
    await new Promise((r) => setTimeout(r, 1_100));
    const away = await mint(10, 'hsm-away', 'H6');
    expect(away.errors?.[0]?.extensions).toMatchObject({ code: 'SERVICE_UNAVAILABLE', reason: 'KEY_STORE_UNAVAILABLE' });
    expect(JSON.stringify([failed, away])).not.toContain(token.pin);

    token.restore();
    await new Promise((r) => setTimeout(r, 1_100));
    const retry = await mint(12_000, 'hsm-vanish', 'H5');
    expect(retry.errors).toBeUndefined();
    expect(retry.data!.mintPassports.passports).toHaveLength(12_000);
    await verifyUnits(retry.data!.mintPassports.passports, 'H5', kid);
    const after = await counts();
    expect(after.passports - before.passports).toBe(12_000);
    expect(logLines.some((l) => l.includes('reconnected to the token'))).toBe(true);
  }, 240_000);

  it('never writes the PIN to a log line (trace level, failures included)', () => {
    expect(logLines.length).toBeGreaterThan(5);
    expect(logLines.some((l) => l.includes('logged in to the token'))).toBe(true);
    expect(logLines.some((l) => l.includes('the token failed while'))).toBe(true);
    expect(logLines.filter((l) => l.includes(token.pin))).toEqual([]);
    expect(JSON.stringify(s.services.config)).not.toContain(token.pin);
  });
});
