import { afterAll, beforeAll, expect, it } from 'vitest';
import { code, createModel, gtinFor, ok, type Org } from '../support/battery-fixtures.js';
import { modelData } from '../support/battery-pass.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { describeVectors } from '../unit/vectors.js';

let s: TestServer;
let brand: Org;
let partner: Org;
let other: Org;

const CREATE_ORG = 'mutation($i: OrganizationInput!) { createOrganization(input: $i) { id kind gs1CompanyPrefixes } }';
const KEYS = '{ signingKeys { kid brandId status } }';
const ROTATE = 'mutation { rotateSigningKey { kid brandId status } }';
const REVOKE = 'mutation($kid: ID!) { revokeSigningKey(kid: $kid, reason: "test") { kid status } }';
const MINT = 'mutation($i: MintInput!) { mintPassports(input: $i) { passports { id } } }';

async function jwksKids(): Promise<string[]> {
  const body = (await (await fetch(`${s.url}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] };
  return body.keys.map((k) => k.kid);
}

describeVectors('a service partner as an economic operator: GS1 prefixes, battery models, its own signing keys', () => {
  beforeAll(async () => {
    s = await startTestServer();
    brand = await s.org('BRAND', { gs1CompanyPrefixes: ['0614141'] });
    partner = await s.org('SERVICE_PARTNER', { gs1CompanyPrefixes: ['4098765'] });
    other = await s.org('SERVICE_PARTNER', { gs1CompanyPrefixes: ['4098766'] });
  });
  afterAll(async () => {
    await s?.stop();
  });

  it('lets the platform register a service partner with GS1 company prefixes, and no other kind but a brand', async () => {
    const created = ok(await s.gql<any>(CREATE_ORG, { i: { name: 'Second Life GmbH', kind: 'SERVICE_PARTNER', gs1CompanyPrefixes: ['4012399'] } }, s.platformKey)).createOrganization;
    expect(created).toMatchObject({ kind: 'SERVICE_PARTNER', gs1CompanyPrefixes: ['4012399'] });
    for (const kind of ['RETAILER', 'RECYCLER', 'REGULATOR']) {
      const r = await s.gql(CREATE_ORG, { i: { name: 'x', kind, gs1CompanyPrefixes: ['4012398'] } }, s.platformKey);
      expect(r.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'gs1CompanyPrefixes' });
    }
    // Only the platform registers organisations, prefixes included.
    expect(code(await s.gql(CREATE_ORG, { i: { name: 'x', kind: 'SERVICE_PARTNER', gs1CompanyPrefixes: ['4012397'] } }, partner.key))).toBe('FORBIDDEN');
  });

  it('lets a partner register battery models under its own prefix only, and nothing else', async () => {
    const own = gtinFor('4098765', '00011');
    const plain = await createModel(s, partner.key, gtinFor('4098765', '00012'));
    expect(plain.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'battery' });
    expect(code(await createModel(s, partner.key, gtinFor('0614141', '00013'), { category: 'STATIONARY_STORAGE', data: modelData() }))).toBe('FORBIDDEN');
    ok(await createModel(s, partner.key, own, { category: 'STATIONARY_STORAGE', data: modelData() }));
    // Updated by its partner, not by anyone else (another partner's update finds no model of its own).
    const update = 'mutation($g: String!, $i: ProductModelUpdateInput!) { updateProductModel(gtin: $g, input: $i) { gtin } }';
    ok(await s.gql(update, { g: own, i: { battery: { category: 'INDUSTRIAL', data: modelData() } } }, partner.key));
    expect(code(await s.gql(update, { g: own, i: { battery: { category: 'EV', data: modelData() } } }, other.key))).toBe('NOT_FOUND');
    expect(code(await s.gql(update, { g: own, i: { battery: { category: 'EV', data: modelData() } } }, brand.key))).toBe('NOT_FOUND');
    const noPrefix = await s.org('SERVICE_PARTNER');
    expect(code(await createModel(s, noPrefix.key, gtinFor('4098765', '00014'), { category: 'LMT', data: modelData() }))).toBe('FORBIDDEN');
    for (const kind of ['RETAILER', 'RECYCLER']) {
      const org = await s.org(kind);
      expect(code(await createModel(s, org.key, gtinFor('4098765', '00015'), { category: 'LMT', data: modelData() }))).toBe('FORBIDDEN');
    }
    // A partner mints only by repurposing or remanufacturing (repurposeBattery), never a batch of its own.
    expect(code(await s.gql(MINT, { i: { gtin: own, quantity: 1, idempotencyKey: 'partner-mint' } }, partner.key))).toBe('FORBIDDEN');
  });

  it('lets a partner create and manage its own keys, published in the JWKS and its DID document; nobody else manages them', async () => {
    expect(ok(await s.gql<any>(KEYS, {}, partner.key)).signingKeys).toEqual([]);
    const first = ok(await s.gql<any>(ROTATE, {}, partner.key)).rotateSigningKey;
    expect(first).toMatchObject({ brandId: partner.id, status: 'ACTIVE' });
    expect(await jwksKids()).toContain(first.kid);
    const did = (await (await fetch(`${s.url}/brands/${partner.id}/did.json`)).json()) as { verificationMethod: { id: string }[] };
    expect(did.verificationMethod.map((m) => m.id.split('#')[1])).toEqual([first.kid]);

    const second = ok(await s.gql<any>(ROTATE, {}, partner.key)).rotateSigningKey;
    const listed = ok(await s.gql<any>(KEYS, {}, partner.key)).signingKeys;
    expect(listed.map((k: any) => [k.kid, k.status])).toEqual([[second.kid, 'ACTIVE'], [first.kid, 'RETIRED']]);

    // The brand's list, another partner's and a brand's attempts to revoke: the partner's keys stay its own.
    ok(await s.gql(ROTATE, {}, brand.key));
    expect(ok(await s.gql<any>(KEYS, {}, brand.key)).signingKeys.every((k: any) => k.brandId === brand.id)).toBe(true);
    expect(ok(await s.gql<any>(KEYS, {}, other.key)).signingKeys).toEqual([]);
    expect(code(await s.gql(REVOKE, { kid: second.kid }, brand.key))).toBe('NOT_FOUND');
    expect(code(await s.gql(REVOKE, { kid: second.kid }, other.key))).toBe('NOT_FOUND');
    for (const kind of ['RETAILER', 'RECYCLER', 'DISTRIBUTOR']) {
      const org = await s.org(kind);
      expect(code(await s.gql(ROTATE, {}, org.key))).toBe('FORBIDDEN');
      expect(code(await s.gql(REVOKE, { kid: second.kid }, org.key))).toBe('FORBIDDEN');
    }
    expect(code(await s.gql(ROTATE, {}, s.platformKey))).toBe('FORBIDDEN');
    expect(ok(await s.gql<any>(KEYS, {}, partner.key)).signingKeys.find((k: any) => k.kid === second.kid).status).toBe('ACTIVE');

    // Its own revocation withdraws the key from the JWKS.
    expect(ok(await s.gql<any>(REVOKE, { kid: second.kid }, partner.key)).revokeSigningKey.status).toBe('REVOKED');
    expect(await jwksKids()).not.toContain(second.kid);
    expect(await jwksKids()).toContain(first.kid);
  });
});
