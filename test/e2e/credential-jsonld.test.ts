import { readFileSync } from 'node:fs';
import type { DocumentLoader } from 'jsonld';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyOffline } from '../../src/verify/offline-verifier.js';
import { expandSafely, SHIPPED_DPP_CONTEXT_FILE, shippedContextsLoader } from '../support/jsonld.js';
import { brandWithModel, claimUnit, gtinFor, registerOwner, sell } from '../support/owners.js';
import { startTestServer, type TestServer } from '../support/server.js';

// Passport.verifiableCredential read by every kind of caller allowed to read it, for a unit with
// every optional field and a bare one, checked by jsonld (safe mode) with only the shipped contexts.
const HOST = 'https://id.example.com';
const CONTEXT_URL = `${HOST}/contexts/dpp/v1`;
const VC_QUERY = 'query($id: ID!) { passport(id: $id) { verifiableCredential } }';

let s: TestServer;
const readers: Record<string, string> = {};
let full: string;
let bare: string;

beforeAll(async () => {
  s = await startTestServer({ DPP_RESOLVER_HOST: HOST });
  const brand = await brandWithModel(s, { prefix: '4012345', item: '77001' });
  readers.OWN_BRAND = brand.key;
  for (const kind of ['RECYCLER', 'SERVICE_PARTNER', 'REGULATOR', 'CUSTOMS']) readers[kind] = (await s.org(kind)).key;
  readers.PLATFORM = s.platformKey;

  const gtin = gtinFor('4012345', '77002');
  const model = await s.gql('mutation($i: ProductModelInput!) { createProductModel(input: $i) { id } }', { i: { gtin, name: 'Cargo bike', category: 'Bicycles' } }, brand.key);
  expect(model.errors).toBeUndefined();
  const minted = await s.gql<{ mintPassports: { passports: { id: string }[] } }>(
    'mutation($i: MintInput!) { mintPassports(input: $i) { passports { id } } }',
    { i: { gtin, quantity: 1, lot: 'L42', site: 'Plant 1', carrier: 'QR_AND_NFC', sign: true, idempotencyKey: 'jsonld-full' } },
    brand.key,
  );
  expect(minted.errors).toBeUndefined();
  full = minted.data!.mintPassports.passports[0]!.id;

  // No lot, site or category; sold and claimed, so its current owner reads it too (status OWNED).
  const [unit] = await brand.mint(1);
  bare = unit!.id;
  await sell(s, bare);
  const owner = await registerOwner(s);
  await claimUnit(s, owner, unit!);
  readers.OWNER = owner.token;
});
afterAll(async () => {
  await s?.stop();
});

async function credential(id: string, key: string): Promise<Record<string, unknown>> {
  const r = await s.gql<{ passport: { verifiableCredential: Record<string, unknown> | null } }>(VC_QUERY, { id }, key);
  expect(r.errors, JSON.stringify(r.errors)).toBeUndefined();
  return r.data!.passport.verifiableCredential!;
}

describe('GET /contexts/dpp/v1', () => {
  it('serves the shipped context file byte for byte, public, cacheable, as application/ld+json', async () => {
    const res = await fetch(`${s.url}/contexts/dpp/v1`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/ld\+json/);
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(Buffer.compare(Buffer.from(await res.arrayBuffer()), readFileSync(SHIPPED_DPP_CONTEXT_FILE))).toBe(0);
  });
});

describe('Passport.verifiableCredential is valid JSON-LD', () => {
  for (const reader of ['RECYCLER', 'SERVICE_PARTNER', 'REGULATOR', 'CUSTOMS', 'PLATFORM', 'OWN_BRAND']) {
    it(`as read by ${reader}: both units expand in safe mode with only the shipped contexts, and verify`, async () => {
      const jwks = (await (await fetch(`${s.url}/.well-known/jwks.json`)).json()) as { keys: unknown[] };
      for (const id of [full, bare]) {
        const vc = await credential(id, readers[reader]!);
        expect(vc['@context']).toEqual(['https://www.w3.org/ns/credentials/v2', CONTEXT_URL]);
        await expect(expandSafely(vc, shippedContextsLoader(CONTEXT_URL))).resolves.toHaveLength(1);
        expect(verifyOffline(vc, jwks).valid).toBe(true);
      }
    });
  }

  it('as read by the unit\'s owner, and with the context fetched from the server instead of the file', async () => {
    const vc = await credential(bare, readers.OWNER!);
    expect((vc.credentialSubject as { status: string }).status).toBe('OWNED');
    const fromServer: DocumentLoader = async (url) => {
      if (url !== CONTEXT_URL) return shippedContextsLoader(CONTEXT_URL)(url);
      return { contextUrl: null, documentUrl: url, document: await (await fetch(`${s.url}/contexts/dpp/v1`)).json() };
    };
    await expect(expandSafely(vc, fromServer)).resolves.toHaveLength(1);
  });

  it('carries every optional term for the full unit (so the checks above covered them)', async () => {
    const subject = (await credential(full, readers.OWN_BRAND!)).credentialSubject as Record<string, unknown>;
    expect(Object.keys(subject).sort()).toEqual(
      ['brand', 'carrier', 'gtin', 'id', 'identitySignature', 'lot', 'manufacturedAt', 'model', 'serial', 'sgtin', 'site', 'status', 'type'].sort(),
    );
    expect(subject.model).toMatchObject({ category: 'Bicycles' });
    expect(subject.carrier).toBe('QR_AND_NFC');
  });

  it('the same credential with the old context alone fails safe mode', async () => {
    const vc = await credential(full, readers.REGULATOR!);
    const { proof: _proof, ...unsecured } = vc;
    await expect(expandSafely({ ...unsecured, '@context': ['https://www.w3.org/ns/credentials/v2'] }, shippedContextsLoader(CONTEXT_URL))).rejects.toThrow(
      /Safe mode validation error/,
    );
  });
});
