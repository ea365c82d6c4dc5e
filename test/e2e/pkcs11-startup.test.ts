import { type ChildProcess, spawn } from 'node:child_process';
import { createPublicKey, randomBytes, verify as edVerify } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gtinCheckDigit, parseDigitalLink } from '../../src/gs1/index.js';
import { identityBytes } from '../../src/modules/passports/identity.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { softHsmFor } from '../support/requires.js';
import { createSoftHsmToken, type SoftHsmToken } from '../support/softhsm.js';

// Issue 24: `npm start` (dist/src/main.js) with DPP_KEY_STORE=pkcs11. A wrong PIN, a missing token and a
// missing module each stop it at start, before the database opens, with a message naming the variable; a good start signs, and nothing
// it prints, at trace level, carries the PIN.

const HSM = softHsmFor('the PKCS#11 start-up tests (test/e2e/pkcs11-startup.test.ts)');
const suite = HSM ? describe : describe.skip;

let token: SoftHsmToken;
let db: TestDatabase;
const platformKey = `dpp_${randomBytes(24).toString('base64url')}`;

function serverEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  return {
    ...process.env,
    ...db.env,
    ...token.env,
    TEST_DATABASE_URL: '',
    NODE_ENV: 'test',
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'trace',
    DPP_MASTER_KEY: randomBytes(32).toString('hex'),
    DPP_BOOTSTRAP_API_KEY: platformKey,
    ...token.serverEnv,
    ...extra,
  };
}

/** Starts the server and waits for it to exit (a start-up fault) or to listen; all output is kept. */
function start(env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; exit?: number | null; port?: number; output: () => string }> {
  let output = '';
  const child = spawn(process.execPath, ['dist/src/main.js'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stderr!.on('data', (d) => (output += String(d)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`neither listening nor exited after 150 s: ${output}`)), 150_000);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      output += `${line}\n`;
      const m = /"port":(\d+).*server listening/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve({ child, port: Number(m[1]), output: () => output });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      // Let the pipes drain before reading the output.
      setTimeout(() => resolve({ child, exit: code, output: () => output }), 100);
    });
  });
}

beforeAll(async () => {
  if (!HSM) return;
  token = createSoftHsmToken();
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
  token?.remove();
});

suite('starting with DPP_KEY_STORE=pkcs11', () => {
  it('stops at start on a wrong PIN, naming DPP_PKCS11_PIN and never showing a PIN', async () => {
    const wrong = `wrong-${randomBytes(4).toString('hex')}`;
    const r = await start(serverEnv({ DPP_PKCS11_PIN: wrong }));
    expect(r.exit).toBe(1);
    expect(r.output()).toMatch(/DPP_PKCS11_PIN: the token "[^"]+" refused the PIN \(wrong PIN\)/);
    expect(r.output()).not.toContain(wrong);
    expect(r.output()).not.toContain(token.pin);
  });

  it('stops at start on a missing token, naming DPP_PKCS11_TOKEN_LABEL and the tokens it found', async () => {
    const r = await start(serverEnv({ DPP_PKCS11_TOKEN_LABEL: 'no-such-token' }));
    expect(r.exit).toBe(1);
    expect(r.output()).toContain(`DPP_PKCS11_TOKEN_LABEL: no token labelled "no-such-token" in ${token.module} (tokens present: "${token.label}"`);
    expect(r.output()).not.toContain(token.pin);
  });

  it('stops at start on a missing module, naming DPP_PKCS11_MODULE', async () => {
    const r = await start(serverEnv({ DPP_PKCS11_MODULE: '/nonexistent/libvendor-pkcs11.so' }));
    expect(r.exit).toBe(1);
    expect(r.output()).toContain('DPP_PKCS11_MODULE: cannot load the PKCS#11 library /nonexistent/libvendor-pkcs11.so');
    expect(r.output()).not.toContain(token.pin);
  });

  it('starts with the PIN from DPP_PKCS11_PIN_FILE, signs in the token, stops cleanly, and logs no PIN at trace level', async () => {
    const pinFile = join(token.dir, 'user.pin');
    writeFileSync(pinFile, `${token.pin}\n`, { mode: 0o600 });
    const r = await start(serverEnv({ DPP_PKCS11_PIN: '', DPP_PKCS11_PIN_FILE: pinFile }));
    expect(r.port, r.output()).toBeGreaterThan(0);
    const url = `http://127.0.0.1:${r.port}`;
    const gql = async <T>(query: string, variables: unknown, key: string) => {
      const res = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: JSON.stringify({ query, variables }) });
      const body = (await res.json()) as { data: T; errors?: unknown };
      expect(body.errors).toBeUndefined();
      return body.data;
    };
    try {
      const org = await gql<{ createOrganization: { id: string } }>('mutation { createOrganization(input: { name: "HSM brand", kind: BRAND, gs1CompanyPrefixes: ["4012345"] }) { id } }', {}, platformKey);
      const key = (await gql<{ createApiKey: { secret: string } }>('mutation($o: ID!) { createApiKey(organizationId: $o, label: "t") { secret } }', { o: org.createOrganization.id }, platformKey)).createApiKey.secret;
      const gtin = '401234500002' + gtinCheckDigit('401234500002');
      await gql('mutation($i: ProductModelInput!) { createProductModel(input: $i) { id } }', { i: { gtin, name: 'HSM' } }, key);
      const minted = await gql<{ mintPassports: { passports: { serial: string; digitalLink: string }[] } }>(
        'mutation($i: MintInput!) { mintPassports(input: $i) { passports { serial digitalLink } } }',
        { i: { gtin, quantity: 200, lot: 'S1', idempotencyKey: 'start', sign: true } },
        key,
      );
      const jwks = (await (await fetch(`${url}/.well-known/jwks.json`)).json()) as { keys: object[] };
      expect(jwks.keys).toHaveLength(1);
      const publicKey = createPublicKey({ key: jwks.keys[0] as never, format: 'jwk' });
      for (const u of minted.mintPassports.passports) {
        const sig = Buffer.from(parseDigitalLink(u.digitalLink).sig!, 'base64url');
        expect(edVerify(null, identityBytes({ gtin: gtin.padStart(14, '0'), serial: u.serial, lot: 'S1' }), publicKey, sig)).toBe(true);
      }
    } finally {
      const exited = new Promise<number | null>((resolve) => r.child.once('exit', resolve));
      r.child.kill('SIGTERM');
      expect(await exited).toBe(0);
    }
    const output = r.output();
    expect(output).toContain('PKCS#11 key store: logged in to the token');
    expect(output).toContain('generated an Ed25519 key in the token');
    expect(output.split('\n').filter((l) => l.includes(token.pin))).toEqual([]);
  }, 240_000);
});
