import { createPublicKey, verify as edVerify } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { decodeList as independentDecode } from '@digitalbazaar/vc-bitstring-status-list';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeList, setBit } from '../../src/modules/status-lists/bitstring.js';
import { gtinCheckDigit } from '../../src/gs1/index.js';
import { expandSafely, shippedContextsLoader } from '../support/jsonld.js';
import { startTestServer, type TestServer } from '../support/server.js';

const run = promisify(execFile);
let s: TestServer;
let brand: { id: string; key: string };
let other: { id: string; key: string };
let dir: string;
let gtin: string;
type Unit = { id: string };

async function dppVerify(...args: string[]): Promise<{ code: number; out: string }> {
  try {
    return { code: 0, out: (await run(process.execPath, ['dist/src/cli/dpp.js', 'verify', ...args])).stdout };
  } catch (e) {
    const err = e as { code: number; stdout: string };
    return { code: err.code, out: err.stdout };
  }
}

async function mint(quantity: number, key: string, sign = true): Promise<Unit[]> {
  const r = await s.gql<{ mintPassports: { passports: Unit[] } }>(
    'mutation($i: MintInput!) { mintPassports(input: $i) { passports { id } } }',
    { i: { gtin, quantity, idempotencyKey: `k-${Math.random()}`, sign } },
    key,
  );
  expect(r.errors).toBeUndefined();
  return r.data!.mintPassports.passports;
}

async function credentialOf(id: string): Promise<Record<string, any>> {
  const r = await s.gql<{ passport: { verifiableCredential: Record<string, any> } }>('query($id: ID!) { passport(id: $id) { verifiableCredential } }', { id }, brand.key);
  return r.data!.passport.verifiableCredential;
}

async function revoke(id: string, key = brand.key) {
  return s.gql('mutation($id: ID!) { revokePassport(passportId: $id, reason: STOLEN) { status } }', { id }, key);
}

async function fetchList(url: string, accept = 'application/json'): Promise<Response> {
  return fetch(url.replace(/^https?:\/\/[^/]+/, s.url), { headers: { accept } });
}

/** The bits of a served list, decoded by Digital Bazaar's implementation, not ours. */
async function independentBits(url: string): Promise<{ get(i: number): boolean; length: number }> {
  const body = (await (await fetchList(url)).json()) as { credentialSubject: { encodedList: string } };
  const list = await independentDecode({ encodedList: body.credentialSubject.encodedList });
  return { get: (i) => list.getStatus(i), length: list.length };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dpp-status-'));
  s = await startTestServer();
  brand = await s.org('BRAND', { gs1CompanyPrefixes: ['4006382'] });
  other = await s.org('BRAND', { gs1CompanyPrefixes: ['4006383'] });
  const body = '400638200001';
  gtin = body + gtinCheckDigit(body);
  await s.gql('mutation($i: ProductModelInput!) { createProductModel(input: $i) { id } }', { i: { gtin, name: 'Status test' } }, brand.key);
});
afterAll(async () => {
  await s?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('W3C Bitstring Status List', () => {
  it('gives each credential a revocation entry; 1,000 units, 10 revoked: exactly those 10 bits, positions not in mint order', async () => {
    const units = await mint(1000, brand.key, false);
    const first = await s.gql<{ passport: { verifiableCredential: unknown } }>('query($id: ID!) { passport(id: $id) { verifiableCredential } }', { id: units[0]!.id }, brand.key);
    expect(first.data!.passport.verifiableCredential).toBeNull(); // unsigned units have no credential
    await s.gql('mutation($i: SignInput!) { signPassports(input: $i) { signed } }', { i: { passportIds: units.map((u) => u.id) } }, brand.key);
    const entries = await Promise.all(units.slice(0, 40).map(async (u) => (await credentialOf(u.id)).credentialStatus));
    for (const e of entries) {
      expect(e).toMatchObject({ type: 'BitstringStatusListEntry', statusPurpose: 'revocation' });
      expect(e.id).toBe(`${e.statusListCredential}#${e.statusListIndex}`);
    }
    const url = entries[0].statusListCredential as string;
    expect(new Set(entries.map((e) => e.statusListCredential))).toEqual(new Set([url]));
    const indexes = entries.map((e) => Number(e.statusListIndex));
    expect(new Set(indexes).size).toBe(indexes.length);
    // Mint order is not list order: sorted positions differ from the order the units were minted in, and spread out.
    expect(indexes).not.toEqual([...indexes].sort((a, b) => a - b));
    expect(Math.max(...indexes)).toBeGreaterThan(40_000);

    const revoked = units.filter((_, i) => i % 97 === 3).slice(0, 10);
    expect(revoked).toHaveLength(10);
    for (const u of revoked) expect((await revoke(u.id)).errors).toBeUndefined();
    const bits = await independentBits(url);
    expect(bits.length).toBe(131_072);
    const set: number[] = [];
    for (let i = 0; i < bits.length; i++) if (bits.get(i)) set.push(i);
    const revokedIdx = await Promise.all(revoked.map(async (u) => Number((await credentialOf(u.id)).credentialStatus.statusListIndex)));
    expect(set.sort((a, b) => a - b)).toEqual(revokedIdx.sort((a, b) => a - b));
  });

  it('serves the list publicly with ETag and max-age, as JSON with a proof or as vc+jwt; 304 on a match; 404 for others', async () => {
    const [u] = await mint(1, brand.key);
    const url = (await credentialOf(u!.id)).credentialStatus.statusListCredential as string;
    const res = await fetchList(url);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('public, max-age=60');
    const etag = res.headers.get('etag')!;
    const vc = (await res.json()) as Record<string, any>;
    expect(vc.type).toEqual(['VerifiableCredential', 'BitstringStatusListCredential']);
    expect(vc.id).toBe(url);
    expect(vc.proof).toMatchObject({ type: 'DataIntegrityProof', cryptosuite: 'eddsa-jcs-2022' });
    // Valid JSON-LD with nothing but the shipped W3C VC 2.0 context (it defines the status list terms): jsonld, safe mode.
    await expect(expandSafely(vc, shippedContextsLoader('urn:none'))).resolves.toHaveLength(1);
    expect((await fetch(url.replace(/^https?:\/\/[^/]+/, s.url), { headers: { 'if-none-match': etag } })).status).toBe(304);

    const jwt = await fetchList(url, 'application/vc+jwt');
    expect(jwt.headers.get('content-type')).toMatch(/^application\/vc\+jwt/);
    expect(jwt.headers.get('etag')).not.toBe(etag);
    const [h, p, sig] = (await jwt.text()).split('.');
    const header = JSON.parse(Buffer.from(h!, 'base64url').toString());
    expect(header).toMatchObject({ alg: 'EdDSA', typ: 'vc+jwt' });
    // RFC 7515/8037 by hand with node:crypto and the key from the brand's did:web document, not through our code.
    const did = (await (await fetch(`${s.url}/brands/${brand.id}/did.json`)).json()) as { verificationMethod: { id: string; publicKeyMultibase?: string }[] };
    expect(did.verificationMethod.map((m) => m.id)).toContain(header.kid);
    const jwks = (await (await fetch(`${s.url}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] };
    const jwk = jwks.keys.find((k) => header.kid.endsWith(`#${k.kid}`))!;
    const key = createPublicKey({ key: jwk as never, format: 'jwk' });
    expect(edVerify(null, Buffer.from(`${h}.${p}`), key, Buffer.from(sig!, 'base64url'))).toBe(true);
    expect(JSON.parse(Buffer.from(p!, 'base64url').toString())).toMatchObject({ id: url, credentialSubject: { statusPurpose: 'revocation' } });

    const path = new URL(url).pathname;
    expect((await fetch(`${s.url}${path.replace(brand.id, other.id)}`)).status).toBe(404);
    expect((await fetch(`${s.url}/status/${brand.id}/not-a-uuid`)).status).toBe(404);
  });

  it('revoking a key revokes every unit it signed in the list', async () => {
    const units = await mint(3, brand.key);
    const entries = await Promise.all(units.map(async (u) => (await credentialOf(u.id)).credentialStatus));
    const keys = await s.gql<{ signingKeys: { kid: string; status: string }[] }>('{ signingKeys { kid status } }', {}, brand.key);
    const active = keys.data!.signingKeys.find((k) => k.status === 'ACTIVE')!.kid;
    expect((await s.gql('mutation($k: ID!) { revokeSigningKey(kid: $k, reason: "test") { status } }', { k: active }, brand.key)).errors).toBeUndefined();
    const bits = await independentBits(entries[0].statusListCredential);
    for (const e of entries) expect(bits.get(Number(e.statusListIndex))).toBe(true);
  });

  it('dpp verify --status: VALID before a revocation, REVOKED (exit 1) after, a forged list refused', async () => {
    const [u] = await mint(1, brand.key);
    const credential = await credentialOf(u!.id);
    const url = credential.credentialStatus.statusListCredential as string;
    const credFile = join(dir, 'credential.json');
    writeFileSync(credFile, JSON.stringify(credential));
    const jwksFile = join(dir, 'jwks.json');
    writeFileSync(jwksFile, await (await fetch(`${s.url}/.well-known/jwks.json`)).text());
    const save = async (name: string, accept?: string) => {
      const file = join(dir, name);
      writeFileSync(file, await (await fetchList(url, accept)).text());
      return file;
    };

    const before = await save('before.json');
    let r = await dppVerify(credFile, '--keys', jwksFile, '--status', before);
    expect(r.out).toMatch(/^VALID/);
    expect(r.code).toBe(0);

    expect((await revoke(u!.id)).errors).toBeUndefined();
    const after = await save('after.json');
    r = await dppVerify(credFile, '--keys', jwksFile, '--status', after);
    expect(r.out).toMatch(/^REVOKED \(credential\)/);
    expect(r.code).toBe(1);
    r = await dppVerify(credFile, '--keys', jwksFile, '--status', await save('after.jwt', 'application/vc+jwt'));
    expect(r.out).toMatch(/^REVOKED/);
    expect(r.code).toBe(1);

    // The revoked bit cleared, the proof kept: the proof no longer matches.
    const forged = JSON.parse(await (await fetchList(url)).text()) as Record<string, any>;
    forged.credentialSubject.encodedList = encodeList(new Uint8Array(131_072 / 8));
    writeFileSync(join(dir, 'forged.json'), JSON.stringify(forged));
    r = await dppVerify(credFile, '--keys', jwksFile, '--status', join(dir, 'forged.json'));
    expect(r.out).toMatch(/^INVALID/);
    expect(r.out).toContain('proof does not verify');
    expect(r.code).toBe(1);
    // An older, genuinely signed list from before the revocation is still a valid list: offline checks are as fresh as the list.
    r = await dppVerify(credFile, '--keys', jwksFile, '--status', before);
    expect(r.code).toBe(0);
  });

  it('another brand cannot revoke the unit, and its status stays clear', async () => {
    const [u] = await mint(1, brand.key);
    const e = (await credentialOf(u!.id)).credentialStatus;
    const r = await revoke(u!.id, other.key);
    expect(r.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect((await independentBits(e.statusListCredential)).get(Number(e.statusListIndex))).toBe(false);
  });
});

describe('bitstring encoding', () => {
  it('matches Digital Bazaar\'s decoder bit for bit (index 0 is the most significant bit of the first byte)', async () => {
    const bits = new Uint8Array(131_072 / 8);
    for (const i of [0, 7, 8, 1000, 131_071]) setBit(bits, i);
    const list = await independentDecode({ encodedList: encodeList(bits) });
    for (let i = 0; i < 131_072; i++) expect(list.getStatus(i)).toBe([0, 7, 8, 1000, 131_071].includes(i));
  });
});
