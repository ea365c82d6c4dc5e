import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gtinCheckDigit, parseDigitalLink } from '../../src/gs1/index.js';
import { identityRecord } from '../../src/modules/passports/identity.js';
import { verifyOffline } from '../../src/verify/offline-verifier.js';
import { startResolverServer } from '../support/resolver-server.js';
import type { TestServer } from '../support/server.js';

// Issue 13 item 1: whatever a Digital Link states that the signed identity record covers must be the unit's,
// on the fast path (carried signature = stored one) and on the Ed25519 path (they differ), over GraphQL and
// over the resolver. A wrong lot on a copied label is a counterfeit signal of its own (IDENTITY_MISMATCH).

type Alert = { kind: string; severity: string; evidence: Record<string, unknown> | null };
type Verification = { verdict: string; reasons: string[]; alerts: Alert[] };
type Unit = { id: string; serial: string; link: string };

const VERIFY = 'mutation($i: ScanInput!) { verifyScan(input: $i) { verdict reasons alerts { kind severity evidence } } }';
const SIGNATURE_MATCHES = "This code's signature matches the brand's key.";
const REGISTERED = 'This unit is registered by its brand.';

let s: TestServer;
let brand: { id: string; key: string };
let gtin: string;
let otherGtin: string;
let item = 100;

function nextGtin(): string {
  const body = `0766666${String(item++).padStart(5, '0')}`;
  return (body + gtinCheckDigit(body)).padStart(14, '0');
}

async function model(g: string): Promise<void> {
  const r = await s.gql('mutation($i: ProductModelInput!) { createProductModel(input: $i) { id } }', { i: { gtin: g, name: `Model ${g}` } }, brand.key);
  if (r.errors) throw new Error(JSON.stringify(r.errors));
}

/** Mints `quantity` signed units (sign: true) of `gtin` in lot `lot` (none when null). */
async function mint(quantity: number, lot: string | null, key: string): Promise<Unit[]> {
  const r = await s.gql<{ mintPassports: { passports: { id: string; serial: string; digitalLink: string }[] } }>(
    'mutation($i: MintInput!) { mintPassports(input: $i) { passports { id serial digitalLink } } }',
    { i: { gtin, quantity, ...(lot ? { lot } : {}), sign: true, idempotencyKey: key } },
    brand.key,
  );
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  return r.data!.mintPassports.passports.map((p) => ({ id: p.id, serial: p.serial, link: p.digitalLink }));
}

/** verifyScan, anonymous (as a consumer scans) or as `key` (the brand sees alert evidence). */
async function verify(digitalLink: string, key?: string): Promise<Verification> {
  const r = await s.gql<{ verifyScan: Verification }>(VERIFY, { i: { digitalLink } }, key);
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  return r.data!.verifyScan;
}

/** The resolver's JSON answer for a link (pointed at the test server). */
async function resolve(link: string): Promise<{ status: number; body: Verification & { passport: unknown } }> {
  const u = new URL(link);
  const res = await fetch(`${s.url}${u.pathname}${u.search}`, { headers: { accept: 'application/json' } });
  return { status: res.status, body: (await res.json()) as Verification & { passport: unknown } };
}

const withLot = (link: string, lot: string) => link.replace(/\/10\/[^/]+\//, `/10/${lot}/`);
const withoutSig = (link: string) => link.replace(/\?sig=[^&]*/, '');
const kinds = (v: Verification) => v.alerts.map((a) => a.kind).sort();

/** The alerts of a unit as stored (the resolver's answer does not list them). */
async function alertKinds(passportId: string): Promise<string[]> {
  const rows = (await s.db.orm.em.fork().getConnection().execute('select kind::text as kind from fraud_alert where passport_id = ? order by kind', [passportId])) as { kind: string }[];
  return rows.map((r) => r.kind);
}

/** The JWKS the server publishes, for the offline verifier (an independent reading of what the signature covers). */
async function jwks(): Promise<{ keys: unknown[] }> {
  return (await (await fetch(`${s.url}/.well-known/jwks.json`)).json()) as { keys: unknown[] };
}

beforeAll(async () => {
  // Its resolver host is its own address: a Digital Link's 307 to the verification result is followed.
  s = await startResolverServer();
  brand = await s.org('BRAND', { gs1CompanyPrefixes: ['0766666'] });
  gtin = nextGtin();
  otherGtin = nextGtin();
  await model(gtin);
  await model(otherGtin);
});
afterAll(async () => {
  await s?.stop();
});

describe('a link that states another identity than its unit (fast path: the carried signature is the stored one)', () => {
  it('answers a genuine signed link AUTHENTIC, "signature matches", as the offline verifier says VALID', async () => {
    const [u] = await mint(1, 'L42', 'fast-genuine');
    expect(u!.link).toMatch(/\/10\/L42\/21\/.+\?sig=/);
    const v = await verify(u!.link);
    expect(v).toMatchObject({ verdict: 'AUTHENTIC', alerts: [] });
    expect(v.reasons).toContain(SIGNATURE_MATCHES);
    expect((await verifyOffline(u!.link, await jwks())).valid).toBe(true);
  });

  it('answers /10/WRONG/ with ?sig= kept COUNTERFEIT with its own reason and a CRITICAL IDENTITY_MISMATCH alert, over GraphQL', async () => {
    const [u] = await mint(1, 'L42', 'fast-wrong-gql');
    const forged = withLot(u!.link, 'WRONG');
    expect((await verifyOffline(forged, await jwks())).valid).toBe(false);
    const v = await verify(forged, brand.key);
    expect(v.verdict).toBe('COUNTERFEIT');
    expect(v.reasons).not.toContain(SIGNATURE_MATCHES);
    expect(v.reasons[0]).toMatch(/lot does not match the unit/);
    expect(kinds(v)).toEqual(['IDENTITY_MISMATCH']);
    expect(v.alerts[0]).toMatchObject({ severity: 'CRITICAL', evidence: { fields: ['lot'], signature: 'INVALID' } });
  });

  it('answers the same over the resolver routes (/01/…/10/…/21/…), JSON and HTML', async () => {
    const [u] = await mint(1, 'L42', 'fast-wrong-resolver');
    const forged = withLot(u!.link, 'WRONG');
    const { status, body } = await resolve(forged);
    expect(status).toBe(200);
    expect(body.verdict).toBe('COUNTERFEIT');
    expect(body.reasons).not.toContain(SIGNATURE_MATCHES);
    expect(await alertKinds(u!.id)).toEqual(['IDENTITY_MISMATCH']);
    const f = new URL(forged);
    const page = await (await fetch(`${s.url}${f.pathname}${f.search}`, { headers: { accept: 'text/html' } })).text();
    expect(page).toContain('Verdict: Counterfeit');
    expect(page).not.toContain('signature matches');
  });

  it('does not read "registered by its brand" for a wrong lot without ?sig= (HIGH IDENTITY_MISMATCH), GraphQL and resolver', async () => {
    const [a, b] = await mint(2, 'L42', 'fast-wrong-nosig');
    const v = await verify(withoutSig(withLot(a!.link, 'WRONG')), brand.key);
    expect(v.verdict).toBe('COUNTERFEIT');
    expect(v.reasons).not.toContain(REGISTERED);
    expect(v.alerts).toEqual([expect.objectContaining({ kind: 'IDENTITY_MISMATCH', severity: 'HIGH', evidence: { fields: ['lot'], signature: 'ABSENT' } })]);
    const { body } = await resolve(withoutSig(withLot(b!.link, 'WRONG')));
    expect(body.verdict).toBe('COUNTERFEIT');
    expect(body.reasons).not.toContain(REGISTERED);
    // The right lot without a signature is still the registry's word for the unit.
    expect((await verify(withoutSig(a!.link))).reasons).toContain(REGISTERED);
  });

  it('does not verify a signed link that leaves out the lot it was signed with, as the offline verifier', async () => {
    const [u] = await mint(1, 'L42', 'fast-lot-left-out');
    const stripped = u!.link.replace('/10/L42/', '/');
    expect((await verifyOffline(stripped, await jwks())).valid).toBe(false);
    const v = await verify(stripped);
    expect(v.verdict).toBe('COUNTERFEIT');
    expect(v.reasons).not.toContain(SIGNATURE_MATCHES);
    expect(kinds(v)).toEqual(['INVALID_SIGNATURE']);
    // Without the signature, a link that states no lot is the registry's word for the unit.
    expect((await verify(withoutSig(stripped))).verdict).toBe('AUTHENTIC');
  });

  it('refuses a lot stated for a unit made without one', async () => {
    const [u] = await mint(1, null, 'fast-no-lot');
    expect(u!.link).not.toContain('/10/');
    const added = u!.link.replace('/21/', '/10/L42/21/');
    const v = await verify(added);
    expect(v.verdict).toBe('COUNTERFEIT');
    expect(kinds(v)).toEqual(['IDENTITY_MISMATCH']);
    expect((await resolve(added)).body.verdict).toBe('COUNTERFEIT');
  });

  it('checks every field of the signed identity record: a link stating any of them otherwise is never AUTHENTIC', async () => {
    const units = await mint(3, 'L42', 'fast-every-field');
    const fields = Object.keys(identityRecord({ gtin, serial: 'X', lot: 'L' })).filter((f) => f !== 'typ');
    expect(fields.sort()).toEqual(['gtin', 'lot', 'serial']);
    const altered: Record<string, (link: string) => string> = {
      gtin: (link) => link.replace(`/01/${gtin}/`, `/01/${otherGtin}/`),
      serial: (link) => link.replace(/\/21\/([^/?]+)/, (_m, serial: string) => `/21/${serial.slice(0, -1)}${serial.endsWith('0') ? '1' : '0'}`),
      lot: (link) => withLot(link, 'L43'),
    };
    for (const [i, field] of fields.entries()) {
      const link = altered[field]!(units[i]!.link);
      expect(parseDigitalLink(link)[field as 'gtin' | 'serial' | 'lot']).not.toBe(parseDigitalLink(units[i]!.link)[field as 'gtin' | 'serial' | 'lot']);
      for (const answer of [await verify(link), (await resolve(link)).body]) {
        expect(answer.verdict, field).not.toBe('AUTHENTIC');
        expect(answer.reasons, field).not.toContain(SIGNATURE_MATCHES);
      }
    }
  });
});

describe('a link that states another identity than its unit (Ed25519 path: the carried signature is not the stored one)', () => {
  /** Units whose stored signature is replaced by another unit's, so the genuine carried one goes through Ed25519. */
  async function storedSignatureReplaced(key: string): Promise<Unit[]> {
    const units = await mint(3, 'L42', key);
    const conn = s.db.orm.em.fork().getConnection();
    await conn.execute('update passport set signature = (select signature from passport where id = ?) where id in (?, ?)', [units[2]!.id, units[0]!.id, units[1]!.id]);
    return units;
  }

  it('verifies the genuine carried signature over what the link carries: AUTHENTIC with the right lot', async () => {
    const [u] = await storedSignatureReplaced('ed-genuine');
    const v = await verify(u!.link);
    expect(v.verdict).toBe('AUTHENTIC');
    expect(v.reasons).toContain(SIGNATURE_MATCHES);
  });

  it('answers /10/WRONG/ COUNTERFEIT with IDENTITY_MISMATCH, over GraphQL and the resolver', async () => {
    const [a, b] = await storedSignatureReplaced('ed-wrong');
    const v = await verify(withLot(a!.link, 'WRONG'));
    expect(v.verdict).toBe('COUNTERFEIT');
    expect(v.reasons).not.toContain(SIGNATURE_MATCHES);
    expect(kinds(v)).toEqual(['IDENTITY_MISMATCH']);
    const { body } = await resolve(withLot(b!.link, 'WRONG'));
    expect(body.verdict).toBe('COUNTERFEIT');
    expect(body.reasons).not.toContain(SIGNATURE_MATCHES);
    expect(await alertKinds(b!.id)).toEqual(['IDENTITY_MISMATCH']);
  });

  it('signed by a rotated (retired) key: still AUTHENTIC as printed, COUNTERFEIT with a changed lot', async () => {
    const [a, b] = await mint(2, 'L42', 'ed-rotated');
    const r = await s.gql('mutation { rotateSigningKey { kid } }', {}, brand.key);
    expect(r.errors).toBeUndefined();
    // The stored signature now differs from the carried one for b (as if re-signed): the Ed25519 path with the retired key.
    await s.db.orm.em.fork().getConnection().execute('update passport set signature = ? where id = ?', ['A'.repeat(86), b!.id]);
    expect((await verify(a!.link)).verdict).toBe('AUTHENTIC');
    expect((await verify(b!.link)).reasons).toContain(SIGNATURE_MATCHES);
    for (const u of [a!, b!]) {
      const v = await verify(withLot(u.link, 'WRONG'));
      expect(v.verdict).toBe('COUNTERFEIT');
      expect(kinds(v)).toEqual(['IDENTITY_MISMATCH']);
    }
  });
});

describe('batched scans', () => {
  it('records concurrent mismatched scans with their alerts through the shared statements', async () => {
    const units = await mint(12, 'L42', 'batched');
    const answers = await Promise.all(units.map((u, i) => verify(i % 2 ? withLot(u.link, 'WRONG') : u.link)));
    expect(answers.map((v) => v.verdict)).toEqual(units.map((_u, i) => (i % 2 ? 'COUNTERFEIT' : 'AUTHENTIC')));
    for (const [i, u] of units.entries()) expect(await alertKinds(u.id)).toEqual(i % 2 ? ['IDENTITY_MISMATCH'] : []);
  });
});
