import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromBase64Url, toBase64Url } from '../../src/crypto/ed25519.js';
import { gtinCheckDigit } from '../../src/gs1/index.js';
import { startTestServer, type GqlResponse, type TestServer } from '../support/server.js';

type Org = { id: string; key: string };
type Unit = { id: string; gtin: string; serial: string; link: string; sig: string };
type Bucket = { key: string; count: number };
type Analytics = {
  from: string;
  to: string;
  totalScans: number;
  byVerdict: Bucket[];
  scansByCountry: Bucket[];
  scansByDay: Bucket[];
  scansByGtin: Bucket[];
  alertsByKind: Bucket[];
  alertsByCountry: Bucket[];
  topUnitsByRisk: { passportId: string; gtin: string; serial: string; riskScore: number; alerts: number; lastAlertAt: string | null }[];
};

const ANALYTICS = `query($f: AnalyticsFilter!) { scanAnalytics(filter: $f) { from to totalScans
  byVerdict { key count } scansByCountry { key count } scansByDay { key count } scansByGtin { key count }
  alertsByKind { key count } alertsByCountry { key count }
  topUnitsByRisk { passportId gtin serial riskScore alerts lastAlertAt } } }`;
const VERIFY = 'mutation($i: ScanInput!) { verifyScan(input: $i) { verdict alerts { kind severity } } }';
const MINT = 'mutation($i: MintInput!) { mintPassports(input: $i) { id passports { id } } }';
const SIGN = 'mutation($b: ID!) { signPassports(input: { batchId: $b }) { signed } }';
const PASSPORT = 'query($id: ID!) { passport(id: $id) { id gtin serial digitalLink signature { value } } }';

const PREFIX_A = '0755555';
const PREFIX_B = '0766666';
const DAY = 86_400_000;

let s: TestServer;
let brand: Org;
let otherBrand: Org;
let emptyBrand: Org;
let retailer: Org;
let regulator: Org;
let customs: Org;
let gtin1: string;
let gtin2: string;
let gtinB: string;
let u1: Unit;
let u2: Unit;
let u3: Unit;
let item = 10000;
let batchNo = 0;

// Three whole UTC days well in the past: [day0, day0 + 3 days).
const day0 = Math.floor((Date.now() - 10 * DAY) / DAY) * DAY;
const at = (day: number, hour: number) => new Date(day0 + day * DAY + hour * 3_600_000).toISOString();
const dayKey = (day: number) => new Date(day0 + day * DAY).toISOString().slice(0, 10);
const period = { from: new Date(day0).toISOString(), to: new Date(day0 + 3 * DAY).toISOString() };

const code = (r: GqlResponse<unknown>) => r.errors?.[0]?.extensions?.code;

function nextGtin(prefix: string): string {
  const body = `${prefix}${String(item++)}`.slice(0, 12).padStart(12, '0');
  return (body + gtinCheckDigit(body)).padStart(14, '0');
}

async function model(key: string, prefix: string): Promise<string> {
  const gtin = nextGtin(prefix);
  const r = await s.gql('mutation($i: ProductModelInput!) { createProductModel(input: $i) { id } }', { i: { gtin, name: `Model ${gtin}`, authorisedMarkets: ['DE'] } }, key);
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  return gtin;
}

async function units(gtin: string, quantity: number, key: string): Promise<Unit[]> {
  const r = await s.gql<{ mintPassports: { id: string; passports: { id: string }[] } }>(MINT, { i: { gtin, quantity, lot: 'L1', idempotencyKey: `analytics-${batchNo++}` } }, key);
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  const signed = await s.gql(SIGN, { b: r.data!.mintPassports.id }, key);
  if (signed.errors) throw new Error(JSON.stringify(signed.errors));
  const out: Unit[] = [];
  for (const p of r.data!.mintPassports.passports) {
    const q = await s.gql<{ passport: { id: string; gtin: string; serial: string; digitalLink: string; signature: { value: string } } }>(PASSPORT, { id: p.id }, key);
    if (q.errors) throw new Error(JSON.stringify(q.errors));
    const x = q.data!.passport;
    out.push({ id: x.id, gtin: x.gtin, serial: x.serial, link: x.digitalLink, sig: x.signature.value });
  }
  return out;
}

/** A scan by the retailer at an explicit time; returns the verdict and the kinds of alert it raised. */
async function scan(input: Record<string, unknown>): Promise<[string, string[]]> {
  const r = await s.gql<{ verifyScan: { verdict: string; alerts: { kind: string }[] } }>(VERIFY, { i: input }, retailer.key);
  if (r.errors || !r.data) throw new Error(`verifyScan failed: ${JSON.stringify(r.errors)}`);
  return [r.data.verifyScan.verdict, r.data.verifyScan.alerts.map((a) => a.kind)];
}

function forged(u: Unit): string {
  const bytes = fromBase64Url(u.sig);
  bytes[0]! ^= 0x80;
  return u.link.replace(/([?&]sig=)[^&#]*/, `$1${toBase64Url(bytes)}`);
}

async function analytics(key: string | undefined, f: Record<string, unknown>): Promise<GqlResponse<{ scanAnalytics: Analytics }>> {
  return s.gql<{ scanAnalytics: Analytics }>(ANALYTICS, { f }, key);
}

async function ok(key: string, f: Record<string, unknown> = period): Promise<Analytics> {
  const r = await analytics(key, f);
  if (r.errors || !r.data) throw new Error(JSON.stringify(r.errors));
  return r.data.scanAnalytics;
}

beforeAll(async () => {
  s = await startTestServer();
  brand = await s.org('BRAND', { gs1CompanyPrefixes: [PREFIX_A] });
  otherBrand = await s.org('BRAND', { gs1CompanyPrefixes: [PREFIX_B] });
  emptyBrand = await s.org('BRAND', { gs1CompanyPrefixes: ['0777777'] });
  retailer = await s.org('RETAILER');
  regulator = await s.org('REGULATOR');
  customs = await s.org('CUSTOMS');
  gtin1 = await model(brand.key, PREFIX_A);
  gtin2 = await model(brand.key, PREFIX_A);
  gtinB = await model(otherBrand.key, PREFIX_B);
  [u1, u2] = (await units(gtin1, 2, brand.key)) as [Unit, Unit];
  [u3] = (await units(gtin2, 1, brand.key)) as [Unit];
  const [b1] = await units(gtinB, 1, otherBrand.key);

  // Before the period: a grey-market scan of u3 (scan and alert both outside it).
  expect(await scan({ digitalLink: u3.link, country: 'IT', at: at(-1, 12) })).toEqual(['SUSPICIOUS', ['GREY_MARKET']]);
  // Day 0: three genuine scans.
  expect(await scan({ digitalLink: u1.link, country: 'DE', at: at(0, 9) })).toEqual(['AUTHENTIC', []]);
  expect(await scan({ digitalLink: u2.link, country: 'DE', at: at(0, 10) })).toEqual(['AUTHENTIC', []]);
  expect(await scan({ digitalLink: u3.link, at: at(0, 23) })).toEqual(['AUTHENTIC', []]);
  // Day 1: a forged signature on u1, an unknown serial of gtin1, and the other brand's unit.
  expect(await scan({ digitalLink: forged(u1), country: 'DE', at: at(1, 8) })).toEqual(['COUNTERFEIT', ['INVALID_SIGNATURE']]);
  expect(await scan({ gtin: gtin1, serial: 'NOSUCHUNIT1', country: 'FR', at: at(1, 9) })).toEqual(['UNKNOWN', ['UNKNOWN_SERIAL']]);
  expect(await scan({ digitalLink: b1!.link, country: 'DE', at: at(1, 10) })).toEqual(['AUTHENTIC', []]);
  // Day 2: u2 diverted to France, twice (one GREY_MARKET alert, count 2).
  expect(await scan({ digitalLink: u2.link, country: 'FR', at: at(2, 0) })).toEqual(['SUSPICIOUS', ['GREY_MARKET']]);
  expect(await scan({ digitalLink: u2.link, country: 'FR', at: at(2, 23) })).toEqual(['SUSPICIOUS', ['GREY_MARKET']]);
  // After the period.
  expect(await scan({ digitalLink: u1.link, country: 'DE', at: at(3, 0) })).toEqual(['AUTHENTIC', []]);
});
afterAll(async () => {
  await s?.stop();
});

const brandExpected = () => ({
  totalScans: 7,
  byVerdict: [
    { key: 'AUTHENTIC', count: 3 },
    { key: 'SUSPICIOUS', count: 2 },
    { key: 'COUNTERFEIT', count: 1 },
    { key: 'UNKNOWN', count: 1 },
  ],
  scansByCountry: [
    { key: 'DE', count: 3 },
    { key: 'FR', count: 3 },
    { key: 'unknown', count: 1 },
  ],
  scansByDay: [
    { key: dayKey(0), count: 3 },
    { key: dayKey(1), count: 2 },
    { key: dayKey(2), count: 2 },
  ],
  scansByGtin: [
    { key: gtin1, count: 6 },
    { key: gtin2, count: 1 },
  ],
  alertsByKind: [
    { key: 'GREY_MARKET', count: 1 },
    { key: 'INVALID_SIGNATURE', count: 1 },
    { key: 'UNKNOWN_SERIAL', count: 1 },
  ],
  // INVALID_SIGNATURE: u1's latest scan in the period was in DE; UNKNOWN_SERIAL and GREY_MARKET: FR.
  alertsByCountry: [
    { key: 'FR', count: 2 },
    { key: 'DE', count: 1 },
  ],
});

describe('scanAnalytics for a brand', () => {
  it('counts its scans and alerts in the period by verdict, country, day, GTIN and kind', async () => {
    const a = await ok(brand.key);
    expect(a).toMatchObject(brandExpected());
    expect(a.from).toBe(period.from);
    expect(a.to).toBe(period.to);
  });

  it('ranks the forged unit first: CRITICAL 15 × 1 beats MEDIUM 3 × 2', async () => {
    const a = await ok(brand.key);
    expect(a.topUnitsByRisk).toEqual([
      { passportId: u1.id, gtin: gtin1, serial: u1.serial, riskScore: 15, alerts: 1, lastAlertAt: at(1, 8) },
      { passportId: u2.id, gtin: gtin1, serial: u2.serial, riskScore: 6, alerts: 1, lastAlertAt: at(2, 23) },
    ]);
  });

  it('narrows to one GTIN', async () => {
    const a = await ok(brand.key, { ...period, gtin: gtin2 });
    expect(a.totalScans).toBe(1);
    expect(a.scansByGtin).toEqual([{ key: gtin2, count: 1 }]);
    expect(a.scansByCountry).toEqual([{ key: 'unknown', count: 1 }]);
    expect(a.alertsByKind).toEqual([]);
    expect(a.topUnitsByRisk).toEqual([]);
  });

  it('honours the period bounds: the day before holds only u3\'s grey-market scan and alert', async () => {
    const a = await ok(brand.key, { from: new Date(day0 - DAY).toISOString(), to: period.from });
    expect(a.totalScans).toBe(1);
    expect(a.scansByCountry).toEqual([{ key: 'IT', count: 1 }]);
    expect(a.alertsByKind).toEqual([{ key: 'GREY_MARKET', count: 1 }]);
    expect(a.alertsByCountry).toEqual([{ key: 'IT', count: 1 }]);
    expect(a.topUnitsByRisk.map((u) => [u.passportId, u.riskScore])).toEqual([[u3.id, 3]]);
  });

  it('shows another brand only its own: one scan, no alerts; a brand without scans sees zeros', async () => {
    const b = await ok(otherBrand.key);
    expect(b).toMatchObject({ totalScans: 1, byVerdict: [{ key: 'AUTHENTIC', count: 1 }], scansByGtin: [{ key: gtinB, count: 1 }], alertsByKind: [], topUnitsByRisk: [] });
    const e = await ok(emptyBrand.key);
    expect(e).toMatchObject({ totalScans: 0, byVerdict: [], scansByCountry: [], scansByDay: [], scansByGtin: [], alertsByKind: [], alertsByCountry: [], topUnitsByRisk: [] });
    // Asking for the other brand's gtin does not leak it.
    expect((await ok(emptyBrand.key, { ...period, gtin: gtin1 })).totalScans).toBe(0);
  });
});

describe('scanAnalytics for authorities', () => {
  it('gives a regulator or customs one brand by brandId, or every brand', async () => {
    expect(await ok(regulator.key, { ...period, brandId: brand.id })).toMatchObject(brandExpected());
    expect(await ok(customs.key, { ...period, brandId: brand.id })).toMatchObject(brandExpected());
    const all = await ok(regulator.key);
    expect(all.totalScans).toBe(8);
    expect(all.scansByGtin).toEqual([
      { key: gtin1, count: 6 },
      { key: gtin2, count: 1 },
      { key: gtinB, count: 1 },
    ]);
    expect(all.topUnitsByRisk[0]!.passportId).toBe(u1.id);
    expect((await ok(s.platformKey, { ...period, brandId: otherBrand.id })).totalScans).toBe(1);
  });
});

describe('refusals', () => {
  it.each<[string, () => Record<string, unknown>]>([
    ['from after to', () => ({ from: period.to, to: period.from })],
    ['from equal to to', () => ({ from: period.from, to: period.from })],
    ['a period of 367 days', () => ({ from: new Date(day0 - 367 * DAY).toISOString(), to: new Date(day0).toISOString() })],
    ['a malformed GTIN', () => ({ ...period, gtin: '123' })],
    ['a brandId that is not an id', () => ({ ...period, brandId: 'nope' })],
  ])('refuses %s with BAD_USER_INPUT', async (_what, f) => {
    const r = await analytics(regulator.key, f());
    expect(r.data?.scanAnalytics ?? null).toBeNull();
    expect(code(r), JSON.stringify(r.errors)).toBe('BAD_USER_INPUT');
  });

  it('accepts exactly 366 days', async () => {
    const a = await ok(brand.key, { from: new Date(day0 + 3 * DAY - 366 * DAY).toISOString(), to: period.to });
    expect(a.totalScans).toBe(8); // the period plus the day before
  });

  it('refuses a brand asking for another brand, other kinds and anonymous callers', async () => {
    expect(code(await analytics(brand.key, { ...period, brandId: otherBrand.id }))).toBe('FORBIDDEN');
    expect((await ok(brand.key, { ...period, brandId: brand.id })).totalScans).toBe(7);
    expect(code(await analytics(retailer.key, period))).toBe('FORBIDDEN');
    expect(code(await analytics(undefined, period))).toBe('UNAUTHENTICATED');
  });
});
