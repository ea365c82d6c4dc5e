import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromBase64Url, toBase64Url } from '../../src/crypto/ed25519.js';
import { gtinCheckDigit } from '../../src/gs1/index.js';
import { verifyOffline } from '../../src/verify/offline-verifier.js';
import { startTestServer, type TestServer } from '../support/server.js';

const run = promisify(execFile);
let s: TestServer;
let brand: { id: string; key: string };
let dir: string;
let links: string[];
let credential: Record<string, any>;

/** Runs the built `dpp verify` (dist/ is built by the test global setup) and returns its exit code and output. */
async function dppVerify(...args: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout } = await run(process.execPath, ['dist/src/cli/dpp.js', 'verify', ...args]);
    return { code: 0, out: stdout };
  } catch (e) {
    const err = e as { code: number; stdout: string };
    return { code: err.code, out: err.stdout };
  }
}

async function saveJwks(name: string): Promise<string> {
  const file = join(dir, name);
  writeFileSync(file, await (await fetch(`${s.url}/.well-known/jwks.json`)).text());
  return file;
}

function withSig(link: string, mutate: (sig: Uint8Array) => Uint8Array): string {
  const url = new URL(link);
  url.searchParams.set('sig', toBase64Url(mutate(fromBase64Url(url.searchParams.get('sig')!))));
  return url.toString();
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dpp-verify-'));
  s = await startTestServer();
  brand = await s.org('BRAND', { gs1CompanyPrefixes: ['4006381'] });
  const body = '400638100001';
  const gtin = body + gtinCheckDigit(body);
  await s.gql('mutation($i: ProductModelInput!) { createProductModel(input: $i) { id } }', { i: { gtin, name: 'Verifier test' } }, brand.key);
  const minted = await s.gql<{ mintPassports: { id: string; passports: { id: string }[] } }>(
    'mutation($i: MintInput!) { mintPassports(input: $i) { id passports { id } } }',
    { i: { gtin, quantity: 3, lot: 'V1', idempotencyKey: 'verify' } },
    brand.key,
  );
  await s.gql('mutation($i: SignInput!) { signPassports(input: $i) { signed } }', { i: { batchId: minted.data!.mintPassports.id } }, brand.key);
  const read = await Promise.all(
    minted.data!.mintPassports.passports.map((p) =>
      s.gql<{ passport: { digitalLink: string; verifiableCredential: Record<string, any> } }>('query($id: ID!) { passport(id: $id) { digitalLink verifiableCredential } }', { id: p.id }, brand.key),
    ),
  );
  links = read.map((r) => r.data!.passport.digitalLink);
  credential = read[0]!.data!.passport.verifiableCredential;
});
afterAll(async () => {
  await s?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('dpp verify (offline)', () => {
  it('accepts a signed Digital Link and a credential with a JWKS file, exit code 0', async () => {
    const keys = await saveJwks('jwks.json');
    const link = await dppVerify(links[0]!, '--keys', keys);
    expect(link.code).toBe(0);
    expect(link.out).toMatch(/^VALID \(digital-link\)/);
    const file = join(dir, 'credential.json');
    writeFileSync(file, JSON.stringify(credential));
    const vc = await dppVerify(file, '--keys', keys);
    expect(vc.code).toBe(0);
    expect(vc.out).toMatch(/^VALID \(credential\)/);
  });

  it('fetches the key set from a URL', async () => {
    const r = await dppVerify(links[1]!, '--keys', `${s.url}/.well-known/jwks.json`, '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ valid: true, kind: 'digital-link' });
  });

  it('rejects a flipped signature byte, a truncated signature, a missing one, and another unit\'s signature', async () => {
    const keys = await saveJwks('jwks2.json');
    const flipped = withSig(links[0]!, (sig) => {
      sig[10]! ^= 0x01;
      return sig;
    });
    expect((await dppVerify(flipped, '--keys', keys)).code).toBe(1);
    expect((await dppVerify(withSig(links[0]!, (sig) => sig.subarray(0, 40)), '--keys', keys)).out).toContain('not 64 bytes');
    expect((await dppVerify(links[0]!.split('?')[0]!, '--keys', keys)).out).toContain('no signature');
    const swapped = `${links[0]!.split('?')[0]}?sig=${new URL(links[1]!).searchParams.get('sig')}`;
    expect((await dppVerify(swapped, '--keys', keys)).code).toBe(1);
    expect((await dppVerify('not a link', '--keys', keys)).code).toBe(1);
    expect((await dppVerify(links[0]!)).code).toBe(2);
  });

  it('rejects a credential with any one field changed', () => {
    const jwksPromise = fetch(`${s.url}/.well-known/jwks.json`).then((r) => r.json() as Promise<{ keys: unknown[] }>);
    return jwksPromise.then((jwks) => {
      expect(verifyOffline(credential, jwks).valid).toBe(true);
      for (const mutate of [
        (c: any) => (c.credentialSubject.serial = 'FORGED'),
        (c: any) => (c.credentialSubject.status = 'RECYCLED'),
        (c: any) => (c.issuer = 'did:web:evil.example'),
        (c: any) => (c.validFrom = '2020-01-01T00:00:00Z'),
        (c: any) => (c.proof.created = '2020-01-01T00:00:00Z'),
      ]) {
        const copy = structuredClone(credential);
        mutate(copy);
        expect(verifyOffline(copy, jwks).valid).toBe(false);
      }
    });
  });

  it('rejects what a revoked key signed, once the key is revoked', async () => {
    const keys = await s.gql<{ signingKeys: { kid: string; status: string }[] }>('{ signingKeys { kid status } }', {}, brand.key);
    const active = keys.data!.signingKeys.find((k) => k.status === 'ACTIVE')!;
    expect((await dppVerify(links[2]!, '--keys', await saveJwks('before.json'))).code).toBe(0);
    const revoked = await s.gql('mutation($k: ID!) { revokeSigningKey(kid: $k, reason: "key leaked") { status } }', { k: active.kid }, brand.key);
    expect(revoked.errors).toBeUndefined();
    const after = await dppVerify(links[2]!, '--keys', await saveJwks('after.json'));
    expect(after.code).toBe(1);
    expect(after.out).toContain('revoked');
  });
});

describe('npm run demo', () => {
  it('creates a demo brand on the embedded database, mints and signs three units, and its printed verify commands pass', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'dpp-demo-'));
    const cli = join(process.cwd(), 'dist/src/cli/dpp.js');
    const env = { ...process.env, DATABASE_URL: '', TEST_DATABASE_URL: '', DPP_DATA_DIR: join(cwd, 'data'), PORT: '1', LOG_LEVEL: 'silent' };
    const { stdout } = await run(process.execPath, [cli, 'demo'], { cwd, env });
    const links = [...stdout.matchAll(/Digital Link: (\S+)/g)].map((m) => m[1]!);
    expect(links).toHaveLength(3);
    expect(links.every((l) => l.startsWith('http://localhost:1/01/') && l.includes('?sig='))).toBe(true);
    for (const subject of [links[0]!, join(cwd, 'demo-credential.json')]) {
      const { stdout: out } = await run(process.execPath, [cli, 'verify', subject, '--keys', join(cwd, 'demo-jwks.json')], { cwd });
      expect(out).toMatch(/^VALID/);
    }
    rmSync(cwd, { recursive: true, force: true });
    // A whole embedded database is created and migrated in a child process: ~12 s of CPU, more on a busy machine.
  }, 120_000);
});
