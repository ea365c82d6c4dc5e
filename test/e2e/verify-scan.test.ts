import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromBase64Url, toBase64Url } from '../../src/crypto/ed25519.js';
import { gtinCheckDigit, parseDigitalLink } from '../../src/gs1/index.js';
import { Organization } from '../../src/modules/organizations/organization.entity.js';
import pg from 'pg';
import { testServerUrl } from '../support/database.js';
import { startTestServer, type GqlResponse, type TestServer } from '../support/server.js';

type Org = { id: string; key: string };
type Unit = { id: string; gtin: string; serial: string; lot: string | null; link: string; sig: string; kid: string };
type Alert = {
  id: string;
  kind: string;
  severity: string;
  status: string;
  passportId: string | null;
  gtin: string | null;
  evidence: Record<string, unknown> | null;
  count: number;
  createdAt: string;
  lastSeenAt: string;
};
type Verification = {
  verdict: 'AUTHENTIC' | 'SUSPICIOUS' | 'COUNTERFEIT' | 'UNKNOWN' | 'REVOKED';
  reasons: string[];
  scannedAt: string;
  passport: { gtin: string; serial: string; lot: string | null; status: string; digitalLink: string; brandName: string; model: { name: string; gtin: string } } | null;
  alerts: Alert[];
};
type ScanInput = {
  digitalLink?: string;
  gtin?: string;
  serial?: string;
  latitude?: number;
  longitude?: number;
  country?: string;
  deviceId?: string;
  at?: string;
};

const ALERT_FIELDS = 'id kind severity status passportId gtin evidence count createdAt lastSeenAt';
const VERIFY = `mutation($i: ScanInput!) { verifyScan(input: $i) { verdict reasons scannedAt
  passport { gtin serial lot status digitalLink brandName model { name gtin } }
  alerts { ${ALERT_FIELDS} } } }`;
const ALERTS = `query($f: AlertFilter, $first: Int, $after: String) { fraudAlerts(filter: $f, first: $first, after: $after) {
  edges { cursor node { ${ALERT_FIELDS} } } pageInfo { hasNextPage endCursor } } }`;
const ACK = `mutation($id: ID!) { acknowledgeFraudAlert(id: $id) { ${ALERT_FIELDS} } }`;
const MINT = 'mutation($i: MintInput!) { mintPassports(input: $i) { id passports { id serial } } }';
const SIGN = 'mutation($b: ID!) { signPassports(input: { batchId: $b }) { signed kid } }';
const PASSPORT = 'query($id: ID!) { passport(id: $id) { id gtin serial lot digitalLink signature { kid value } } }';

type AlertPage = { fraudAlerts: { edges: { cursor: string; node: Alert }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } };

let s: TestServer;
let brand: Org;
let otherBrand: Org;
let retailer: Org;
let recycler: Org;
let regulator: Org;
let customs: Org;
let brandName: string;
let item = 10000;
let batchNo = 0;

const BRAND_PREFIX = '0614141';
const OTHER_PREFIX = '0700000';
const PARIS = { latitude: 48.8566, longitude: 2.3522 };
const NEW_YORK = { latitude: 40.7128, longitude: -74.006 };
const VERSAILLES = { latitude: 48.8049, longitude: 2.1204 };

const code = (r: GqlResponse<unknown>) => r.errors?.[0]?.extensions?.code;
const em = () => s.db.orm.em.fork();

/** A fresh GTIN-14 under a company prefix. */
function nextGtin(prefix = BRAND_PREFIX): string {
  const body = `${prefix}${String(item++)}`.slice(0, 12).padStart(12, '0');
  return (body + gtinCheckDigit(body)).padStart(14, '0');
}

async function model(key: string, extra: Record<string, unknown> = {}, prefix = BRAND_PREFIX): Promise<string> {
  const gtin = nextGtin(prefix);
  const r = await s.gql('mutation($i: ProductModelInput!) { createProductModel(input: $i) { id } }', { i: { gtin, name: `Model ${gtin}`, warrantyMonths: 24, ...extra } }, key);
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  return gtin;
}

/** Mints and signs `quantity` units of a model; returns them with their signed Digital Links. */
async function units(gtin: string, quantity = 1, key = brand.key, extra: Record<string, unknown> = {}): Promise<Unit[]> {
  const r = await s.gql<{ mintPassports: { id: string; passports: { id: string }[] } }>(MINT, { i: { gtin, quantity, lot: 'L1', idempotencyKey: `scan-${batchNo++}`, ...extra } }, key);
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  const signed = await s.gql(SIGN, { b: r.data!.mintPassports.id }, key);
  if (signed.errors) throw new Error(JSON.stringify(signed.errors));
  const out: Unit[] = [];
  for (const p of r.data!.mintPassports.passports) {
    const q = await s.gql<{ passport: { id: string; gtin: string; serial: string; lot: string | null; digitalLink: string; signature: { kid: string; value: string } } }>(PASSPORT, { id: p.id }, key);
    if (q.errors) throw new Error(JSON.stringify(q.errors));
    const x = q.data!.passport;
    out.push({ id: x.id, gtin: x.gtin, serial: x.serial, lot: x.lot, link: x.digitalLink, sig: x.signature.value, kid: x.signature.kid });
  }
  return out;
}

async function unit(gtin: string, key = brand.key, extra: Record<string, unknown> = {}): Promise<Unit> {
  return (await units(gtin, 1, key, extra))[0]!;
}

function scan(input: ScanInput, key?: string): Promise<GqlResponse<{ verifyScan: Verification }>> {
  return s.gql<{ verifyScan: Verification }>(VERIFY, { i: input }, key);
}

/** A scan that must succeed. */
async function ok(input: ScanInput, key?: string): Promise<Verification> {
  const r = await scan(input, key);
  if (r.errors || !r.data) throw new Error(`verifyScan failed: ${JSON.stringify(r.errors)}`);
  return r.data.verifyScan;
}

const kinds = (v: Verification) => v.alerts.map((a) => a.kind).sort();
const alertOf = (v: Verification, kind: string) => v.alerts.find((a) => a.kind === kind);
const withSig = (u: Unit, sig: string) => u.link.replace(/([?&]sig=)[^&#]*/, `$1${sig}`);

async function sql<T = Record<string, unknown>>(query: string, params: unknown[] = []): Promise<T[]> {
  return (await em().getConnection().execute(query, params)) as T[];
}

/** The numbers of a unit's scans, or of the unknown-serial scans of a GTIN, in order. */
async function scanNumbers(of: { passportId: string } | { unknownOf: string }): Promise<number[]> {
  const [row] = await sql<{ seqs: number[] }>(
    'passportId' in of
      ? 'select array_agg(seq order by seq) as seqs from scan_event where passport_id = ?'
      : 'select array_agg(seq order by seq) as seqs from scan_event where passport_id is null and gtin = ?',
    ['passportId' in of ? of.passportId : of.unknownOf],
  );
  return row!.seqs;
}

async function scanEvents(passportId?: string): Promise<number> {
  const rows = passportId
    ? await sql<{ n: number }>('select count(*)::int as n from scan_event where passport_id = ?', [passportId])
    : await sql<{ n: number }>('select count(*)::int as n from scan_event');
  return rows[0]!.n;
}

async function alertRows(): Promise<number> {
  return (await sql<{ n: number }>('select count(*)::int as n from fraud_alert'))[0]!.n;
}

async function alertsOf(subject: { passportId?: string; gtin?: string }, kind: string, status?: string) {
  const where = subject.passportId ? 'passport_id = ?' : 'passport_id is null and gtin = ?';
  return sql<{ id: string; count: number; severity: string; status: string }>(
    `select id, count, severity::text as severity, status::text as status from fraud_alert where ${where} and kind = ?${status ? ' and status = ?' : ''} order by first_seen_at, id`,
    [subject.passportId ?? subject.gtin, kind, ...(status ? [status] : [])],
  );
}

function hoursAgo(h: number, plusMinutes = 0): string {
  return new Date(Date.now() - h * 3_600_000 + plusMinutes * 60_000).toISOString();
}

beforeAll(async () => {
  s = await startTestServer();
  brand = await s.org('BRAND', { gs1CompanyPrefixes: [BRAND_PREFIX], markets: ['DE'] });
  otherBrand = await s.org('BRAND', { gs1CompanyPrefixes: [OTHER_PREFIX] });
  retailer = await s.org('RETAILER');
  recycler = await s.org('RECYCLER');
  regulator = await s.org('REGULATOR');
  customs = await s.org('CUSTOMS');
  brandName = (await em().findOneOrFail(Organization, { id: brand.id })).name;
});
afterAll(async () => {
  await s?.stop();
});

describe('genuine units', () => {
  it('answers AUTHENTIC with reasons, the public passport and no alerts, by signed Digital Link and by GTIN + serial', async () => {
    const gtin = await model(brand.key);
    const u = await unit(gtin);
    expect(parseDigitalLink(u.link).sig).toBe(u.sig);
    const before = await scanEvents();

    const byLink = await ok({ digitalLink: u.link });
    expect(byLink.verdict).toBe('AUTHENTIC');
    expect(byLink.reasons.length).toBeGreaterThan(0);
    expect(byLink.alerts).toEqual([]);
    expect(byLink.passport).toMatchObject({ gtin, serial: u.serial, lot: 'L1', status: 'SIGNED', brandName, model: { name: `Model ${gtin}`, gtin } });
    expect(byLink.passport!.digitalLink).toContain(`/01/${gtin}`);
    expect(byLink.passport!.digitalLink).toContain(`/21/${u.serial}`);
    expect(Math.abs(Date.parse(byLink.scannedAt) - Date.now())).toBeLessThan(60_000);

    const byId = await ok({ gtin, serial: u.serial });
    expect(byId.verdict).toBe('AUTHENTIC');
    expect(byId.reasons.length).toBeGreaterThan(0);
    expect(byId.alerts).toEqual([]);
    expect(byId.passport).toMatchObject({ gtin, serial: u.serial, status: 'SIGNED', brandName, model: { name: `Model ${gtin}` } });

    // An organisation caller gets the same answer.
    expect((await ok({ digitalLink: u.link }, retailer.key)).verdict).toBe('AUTHENTIC');
    expect(await scanEvents()).toBe(before + 3);
    expect(await scanEvents(u.id)).toBe(3);
    expect(await alertsOf({ passportId: u.id }, 'INVALID_SIGNATURE')).toEqual([]);
  });

  it('accepts the GTIN in its 13-digit form and country codes in lower case', async () => {
    const gtin = await model(brand.key);
    const u = await unit(gtin);
    const v = await ok({ gtin: gtin.slice(1), serial: u.serial, country: 'de', ...PARIS });
    expect(v.verdict).toBe('AUTHENTIC');
    expect(v.passport?.serial).toBe(u.serial);
  });
});

describe('input validation', () => {
  let gtin: string;
  let u: Unit;
  beforeAll(async () => {
    gtin = await model(brand.key);
    u = await unit(gtin);
  });

  const wrongCheck = () => gtin.slice(0, 13) + String((Number(gtin[13]) + 1) % 10);
  const base = () => ({ gtin, serial: u.serial });

  it.each<[string, () => ScanInput, string | undefined]>([
    ['a malformed link', () => ({ digitalLink: 'not a link' }), undefined],
    ['a link with no serial', () => ({ digitalLink: `https://id.example/01/${gtin}` }), undefined],
    ['a link with a wrong check digit', () => ({ digitalLink: `https://id.example/01/${wrongCheck()}/21/${u.serial}` }), undefined],
    ['a link longer than 2,048 characters', () => ({ digitalLink: `https://id.example/01/${gtin}/21/${'A'.repeat(3000)}` }), undefined],
    ['a GTIN with a wrong check digit', () => ({ gtin: wrongCheck(), serial: u.serial }), undefined],
    ['a GTIN of letters', () => ({ gtin: 'ABCDEFGHIJKLMN', serial: u.serial }), undefined],
    ['a 10,000-character serial', () => ({ gtin, serial: 'A'.repeat(10_000) }), undefined],
    ['a 21-character serial', () => ({ gtin, serial: 'A'.repeat(21) }), undefined],
    ['a serial outside the GS1 character set', () => ({ gtin, serial: 'AB CD' }), undefined],
    ['neither a link nor GTIN + serial', () => ({}), undefined],
    ['a GTIN without a serial', () => ({ gtin }), undefined],
    ['a serial without a GTIN', () => ({ serial: u.serial }), undefined],
    ['latitude 91', () => ({ ...base(), latitude: 91, longitude: 0 }), 'latitude'],
    ['longitude -181', () => ({ ...base(), latitude: 0, longitude: -181 }), undefined],
    ['latitude without longitude', () => ({ ...base(), latitude: 10 }), undefined],
    ['longitude without latitude', () => ({ ...base(), longitude: 10 }), undefined],
    ['country ZZ', () => ({ ...base(), country: 'ZZ' }), 'country'],
    ['country Germany', () => ({ ...base(), country: 'Germany' }), 'country'],
    ['a 201-character deviceId', () => ({ ...base(), deviceId: 'd'.repeat(201) }), 'deviceId'],
    ['`at` from an anonymous caller', () => ({ ...base(), at: hoursAgo(1) }), 'at'],
  ])('refuses %s with BAD_USER_INPUT and records nothing', async (_what, input, field) => {
    const before = { scans: await scanEvents(), alerts: await alertRows() };
    const r = await scan(input());
    expect(r.data?.verifyScan ?? null).toBeNull();
    expect(code(r), JSON.stringify(r.errors)).toBe('BAD_USER_INPUT');
    if (field) expect(r.errors![0]!.message).toContain(field);
    expect({ scans: await scanEvents(), alerts: await alertRows() }).toEqual(before);
  });

  it('refuses a scan time in the future even from an organisation', async () => {
    const before = await scanEvents();
    const r = await scan({ ...base(), at: new Date(Date.now() + 86_400_000).toISOString() }, retailer.key);
    expect(code(r)).toBe('BAD_USER_INPUT');
    expect(await scanEvents()).toBe(before);
  });
});

describe('signatures', () => {
  it('calls a flipped signature byte COUNTERFEIT and raises a CRITICAL INVALID_SIGNATURE alert', async () => {
    const gtin = await model(brand.key);
    const u = await unit(gtin);
    const bytes = fromBase64Url(u.sig);
    bytes[5]! ^= 1;
    const flipped = toBase64Url(bytes);
    expect(flipped).not.toBe(u.sig);
    const before = await scanEvents(u.id);
    const v = await ok({ digitalLink: withSig(u, flipped) });
    expect(v.verdict).toBe('COUNTERFEIT');
    expect(v.reasons.length).toBeGreaterThan(0);
    expect(alertOf(v, 'INVALID_SIGNATURE')).toMatchObject({ severity: 'CRITICAL', status: 'OPEN', passportId: u.id, gtin, count: 1 });
    expect(await scanEvents(u.id)).toBe(before + 1);
    expect(await alertsOf({ passportId: u.id }, 'INVALID_SIGNATURE', 'OPEN')).toHaveLength(1);
  });

  it('calls a truncated (still well-formed base64url) signature COUNTERFEIT', async () => {
    const gtin = await model(brand.key);
    const u = await unit(gtin);
    const v = await ok({ digitalLink: withSig(u, u.sig.slice(0, 40)) });
    expect(v.verdict).toBe('COUNTERFEIT');
    expect(alertOf(v, 'INVALID_SIGNATURE')?.severity).toBe('CRITICAL');
  });

  it('calls the genuine signature of another unit carried on this unit\'s link COUNTERFEIT', async () => {
    const gtin = await model(brand.key);
    const [a, b] = await units(gtin, 2);
    const v = await ok({ digitalLink: withSig(a!, b!.sig) });
    expect(v.verdict).toBe('COUNTERFEIT');
    expect(kinds(v)).toContain('INVALID_SIGNATURE');
  });

  it('answers REVOKED for a unit signed by a key its brand has revoked', async () => {
    const keyBrand = await s.org('BRAND', { gs1CompanyPrefixes: ['0712345'] });
    const gtin = await model(keyBrand.key, {}, '0712345');
    const u = await unit(gtin, keyBrand.key);
    expect((await ok({ digitalLink: u.link })).verdict).toBe('AUTHENTIC');
    const keys = await s.gql<{ signingKeys: { kid: string; status: string }[] }>('{ signingKeys { kid status } }', {}, keyBrand.key);
    expect(keys.data!.signingKeys).toContainEqual({ kid: u.kid, status: 'ACTIVE' });
    const revoked = await s.gql<{ revokeSigningKey: { kid: string; status: string } }>(
      'mutation($k: ID!, $r: String!) { revokeSigningKey(kid: $k, reason: $r) { kid status } }',
      { k: u.kid, r: 'key leaked' },
      keyBrand.key,
    );
    expect(revoked.data?.revokeSigningKey).toEqual({ kid: u.kid, status: 'REVOKED' });
    const v = await ok({ digitalLink: u.link });
    expect(v.verdict).toBe('REVOKED');
    expect(v.reasons.length).toBeGreaterThan(0);
    expect(v.passport?.serial).toBe(u.serial);
  });

  it('answers REVOKED for a unit its brand has revoked (stolen)', async () => {
    const gtin = await model(brand.key);
    const u = await unit(gtin);
    const r = await s.gql('mutation($id: ID!) { revokePassport(passportId: $id, reason: STOLEN) { id status } }', { id: u.id }, brand.key);
    expect(r.errors).toBeUndefined();
    for (const input of [{ digitalLink: u.link }, { gtin, serial: u.serial }]) {
      const v = await ok(input);
      expect(v.verdict).toBe('REVOKED');
      expect(v.passport?.status).toBe('REVOKED');
    }
  });
});

describe('unknown identities', () => {
  it('answers UNKNOWN with a HIGH UNKNOWN_SERIAL alert, grouped per GTIN, turning CRITICAL once one client probed 5 serials', async () => {
    const gtin = await model(brand.key);
    await unit(gtin); // the GTIN has real units too
    const serials = ['NEVERMINTED1', 'NEVERMINTED2', 'NEVERMINTED3', 'NEVERMINTED4', 'NEVERMINTED5'];
    const before = await scanEvents();
    const first = await ok({ gtin, serial: serials[0]! });
    expect(first.verdict).toBe('UNKNOWN');
    expect(first.passport).toBeNull();
    expect(first.reasons.length).toBeGreaterThan(0);
    expect(first.alerts).toHaveLength(1);
    expect(first.alerts[0]).toMatchObject({ kind: 'UNKNOWN_SERIAL', severity: 'HIGH', status: 'OPEN', passportId: null, gtin, count: 1 });

    let last = first;
    for (let i = 1; i < serials.length; i++) {
      last = await ok({ digitalLink: `https://id.example/01/${gtin}/21/${serials[i]}` });
      expect(last.verdict).toBe('UNKNOWN');
      expect(alertOf(last, 'UNKNOWN_SERIAL')?.severity).toBe(i + 1 >= 5 ? 'CRITICAL' : 'HIGH');
    }
    const alert = alertOf(last, 'UNKNOWN_SERIAL')!;
    expect(alert.id).toBe(first.alerts[0]!.id);
    expect(alert.count).toBe(5);
    expect(await scanEvents()).toBe(before + 5);
    const rows = await alertsOf({ gtin }, 'UNKNOWN_SERIAL');
    expect(rows).toEqual([{ id: alert.id, count: 5, severity: 'CRITICAL', status: 'OPEN' }]);
  });

  it('does not count the same unknown serial twice as a probe', async () => {
    const gtin = await model(brand.key);
    for (let i = 0; i < 6; i++) {
      const v = await ok({ gtin, serial: 'SAMEUNKNOWN' }, retailer.key);
      expect(alertOf(v, 'UNKNOWN_SERIAL')?.severity).toBe('HIGH');
    }
  });

  it('answers UNKNOWN with no alert for a GTIN no brand registered, and still records the scan', async () => {
    const body = '099999912345';
    const gtin = (body + gtinCheckDigit(body)).padStart(14, '0');
    const before = { scans: await scanEvents(), alerts: await alertRows() };
    for (const input of [{ gtin, serial: 'ANY1' }, { digitalLink: `https://id.example/01/${gtin}/21/ANY2?sig=${'A'.repeat(86)}` }]) {
      const v = await ok(input);
      expect(v.verdict).toBe('UNKNOWN');
      expect(v.alerts).toEqual([]);
      expect(v.passport).toBeNull();
      expect(v.reasons.length).toBeGreaterThan(0);
    }
    expect({ scans: await scanEvents(), alerts: await alertRows() }).toEqual({ scans: before.scans + 2, alerts: before.alerts });
  });
});

describe('travel and markets', () => {
  it('raises a HIGH IMPOSSIBLE_TRAVEL alert for Paris then New York 30 minutes later, and none for Paris then Versailles', async () => {
    const gtin = await model(brand.key);
    const [far, near] = await units(gtin, 2);
    const t0 = hoursAgo(3);
    const a = await ok({ gtin, serial: far!.serial, ...PARIS, country: 'FR', at: t0 }, retailer.key);
    expect(a.verdict).toBe('AUTHENTIC');
    expect(a.alerts).toEqual([]);
    expect(Date.parse(a.scannedAt)).toBe(Date.parse(t0));
    const b = await ok({ gtin, serial: far!.serial, ...NEW_YORK, country: 'US', at: hoursAgo(3, 30) }, retailer.key);
    expect(b.verdict).toBe('SUSPICIOUS');
    const travel = alertOf(b, 'IMPOSSIBLE_TRAVEL');
    expect(travel).toMatchObject({ severity: 'HIGH', status: 'OPEN', passportId: far!.id, count: 1 });
    // Evidence is for operators: distances and times, never coordinates.
    expect(JSON.stringify(travel!.evidence)).not.toMatch(/48\.85|40\.71|74\.00/);
    expect(b.reasons.some((r) => /km/.test(r))).toBe(true);

    await ok({ gtin, serial: near!.serial, ...PARIS, at: t0 }, retailer.key);
    const c = await ok({ gtin, serial: near!.serial, ...VERSAILLES, at: hoursAgo(3, 10) }, retailer.key);
    expect(c.verdict).toBe('AUTHENTIC');
    expect(c.alerts).toEqual([]);
  });

  it('raises a MEDIUM GREY_MARKET alert outside the model\'s authorised markets, none inside', async () => {
    const gtin = await model(brand.key, { authorisedMarkets: ['DE'] });
    const [u, v] = await units(gtin, 2);
    const fr = await ok({ digitalLink: u!.link, country: 'FR' });
    expect(fr.verdict).toBe('SUSPICIOUS');
    expect(fr.alerts.map((a) => [a.kind, a.severity])).toEqual([['GREY_MARKET', 'MEDIUM']]);
    const de = await ok({ digitalLink: v!.link, country: 'DE' });
    expect(de.verdict).toBe('AUTHENTIC');
    expect(de.alerts).toEqual([]);
    // No country given: nothing to compare.
    expect((await ok({ digitalLink: v!.link })).alerts).toEqual([]);
  });

  it('uses the batch\'s destination markets instead of the model\'s when set', async () => {
    const gtin = await model(brand.key, { authorisedMarkets: ['DE'] });
    const u = await unit(gtin, brand.key, { destinationMarkets: ['FR'] });
    expect((await ok({ digitalLink: u.link, country: 'FR' })).alerts).toEqual([]);
    const de = await ok({ digitalLink: u.link, country: 'DE' });
    expect(de.verdict).toBe('SUSPICIOUS');
    expect(kinds(de)).toEqual(['GREY_MARKET']);
  });
});

describe('scan volume', () => {
  it('raises SCAN_VELOCITY (MEDIUM) on the 21st scan within an hour, grouped: one open alert with count 5 after 25 scans', async () => {
    const gtin = await model(brand.key);
    const u = await unit(gtin);
    let alertId: string | undefined;
    for (let i = 1; i <= 25; i++) {
      const v = await ok({ digitalLink: u.link }, retailer.key);
      const velocity = alertOf(v, 'SCAN_VELOCITY');
      if (i <= 20) {
        expect(velocity, `scan ${i}`).toBeUndefined();
        expect(v.verdict).toBe('AUTHENTIC');
      } else {
        expect(velocity, `scan ${i}`).toMatchObject({ severity: 'MEDIUM', status: 'OPEN', count: i - 20 });
        expect(v.verdict).toBe('SUSPICIOUS');
        alertId ??= velocity!.id;
        expect(velocity!.id).toBe(alertId);
      }
    }
    expect(await alertsOf({ passportId: u.id }, 'SCAN_VELOCITY')).toEqual([{ id: alertId, count: 5, severity: 'MEDIUM', status: 'OPEN' }]);
    expect(await scanEvents(u.id)).toBe(25);
  });

  it('raises a HIGH SCAN_COUNT alert once lifetime scans exceed the model\'s maxLifetimeScans', async () => {
    const gtin = await model(brand.key, { maxLifetimeScans: 3 });
    const u = await unit(gtin);
    for (let i = 1; i <= 3; i++) expect((await ok({ gtin, serial: u.serial }, retailer.key)).alerts, `scan ${i}`).toEqual([]);
    const fourth = await ok({ gtin, serial: u.serial }, retailer.key);
    expect(fourth.alerts.map((a) => [a.kind, a.severity, a.count])).toEqual([['SCAN_COUNT', 'HIGH', 1]]);
    expect(fourth.verdict).toBe('SUSPICIOUS');
    const fifth = await ok({ gtin, serial: u.serial }, retailer.key);
    expect(alertOf(fifth, 'SCAN_COUNT')).toMatchObject({ id: fourth.alerts[0]!.id, count: 2 });
  });

  it('keeps counts and grouping exact under 100 concurrent scans of one unit spread inside one hour (race)', async () => {
    const gtin = await model(brand.key);
    const u = await unit(gtin);
    const start = Date.now() - 55 * 60_000;
    const results = await Promise.all(
      // Sent out of time order (a permutation of the 100 slots), as replayed device logs arrive.
      Array.from({ length: 100 }, (_, i) => scan({ gtin, serial: u.serial, at: new Date(start + ((i * 37) % 100) * 30_000).toISOString() }, retailer.key)),
    );
    expect(results.filter((r) => r.errors).map((r) => r.errors)).toEqual([]);
    expect(await scanEvents(u.id)).toBe(100);
    const fired = results.filter((r) => alertOf(r.data!.verifyScan, 'SCAN_VELOCITY')).length;
    const rows = await alertsOf({ passportId: u.id }, 'SCAN_VELOCITY');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: 'OPEN', severity: 'MEDIUM' });
    // Every firing is counted in the one alert...
    expect(rows[0]!.count).toBe(fired);
    // ...and every scan beyond the 20th of the hour fires, whichever order they were recorded in.
    expect(rows[0]!.count).toBe(80);
  });

  it('keeps counts and grouping exact under 100 concurrent live scans (server clock) of one unit (race)', async () => {
    const gtin = await model(brand.key);
    const u = await unit(gtin);
    const results = await Promise.all(Array.from({ length: 100 }, () => scan({ gtin, serial: u.serial }, retailer.key)));
    expect(results.filter((r) => r.errors).map((r) => r.errors)).toEqual([]);
    expect(await scanEvents(u.id)).toBe(100);
    const rows = await alertsOf({ passportId: u.id }, 'SCAN_VELOCITY');
    expect(rows).toHaveLength(1);
    expect(rows[0]!.count).toBe(results.filter((r) => alertOf(r.data!.verifyScan, 'SCAN_VELOCITY')).length);
    expect(rows[0]!.count).toBe(80);
  });

  it('numbers a unit\'s scans 1, 2, 3… with no gap or repeat, however many arrive at once (race)', async () => {
    const gtin = await model(brand.key);
    const u = await unit(gtin);
    const results = await Promise.all(Array.from({ length: 60 }, (_, i) => scan({ gtin, serial: u.serial }, i % 2 ? retailer.key : undefined)));
    expect(results.filter((r) => r.errors).map((r) => r.errors)).toEqual([]);
    expect(await scanNumbers({ passportId: u.id })).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
  });

  it('answers and records each of 40 concurrent scans of different units as its own, though they share statements', async () => {
    const gtin = await model(brand.key, { authorisedMarkets: ['FR', 'DE'] });
    const many = await units(gtin, 36);
    const inputs: ScanInput[] = [
      ...many.map((u, i) => ({ digitalLink: u.link, ...(i % 3 === 0 ? { latitude: 48 + i / 100, longitude: 2 + i / 100 } : {}), country: i % 4 === 0 ? 'US' : 'FR' })),
      ...['GHOST1', 'GHOST2', 'GHOST3', 'GHOST4'].map((serial) => ({ gtin, serial })),
    ];
    const answers = await Promise.all(inputs.map((input) => ok(input, retailer.key)));
    answers.forEach((v, i) => {
      const input = inputs[i]!;
      if (i < many.length) {
        expect([i, v.verdict, v.passport?.serial, kinds(v)]).toEqual([i, input.country === 'US' ? 'SUSPICIOUS' : 'AUTHENTIC', many[i]!.serial, input.country === 'US' ? ['GREY_MARKET'] : []]);
      } else {
        expect([i, v.verdict, v.passport]).toEqual([i, 'UNKNOWN', null]);
      }
    });
    const rows = await sql<{ serial: string; seq: number; latitude: number | null; country: string; verdict: string; reasons: string[] }>(
      'select serial, seq, latitude, country, verdict, reasons from scan_event where gtin = ? order by serial',
      [gtin],
    );
    expect(rows).toHaveLength(40);
    for (const [i, input] of inputs.entries()) {
      const serial = i < many.length ? many[i]!.serial : input.serial;
      const row = rows.find((r) => r.serial === serial)!;
      expect([serial, row.seq, row.latitude ?? null, row.country, row.verdict, row.reasons]).toEqual([
        serial,
        i < many.length ? 1 : row.seq,
        // Stored coarsened to 0.1° (README "Privacy").
        input.latitude != null ? Math.round(input.latitude * 10) / 10 : null,
        input.country ?? null,
        answers[i]!.verdict,
        answers[i]!.reasons,
      ]);
    }
    // The client's probes of unknown serials are numbered 1..4 in whatever order they were recorded.
    expect(rows.filter((r) => r.serial.startsWith('GHOST')).map((r) => r.seq).sort()).toEqual([1, 2, 3, 4]);
    // Alerts grouped exactly, though several firings of one alert may share a statement, and each announced.
    const ghostAlerts = answers.slice(many.length).map((v) => alertOf(v, 'UNKNOWN_SERIAL')!);
    expect(new Set(ghostAlerts.map((a) => a.id)).size).toBe(1);
    const alerts = await sql<{ id: string; subject: string; kind: string; count: number; announced: number }>(
      `select a.id, a.subject, a.kind, a.count, (select count(*)::int from outbox_message o where o.payload->>'alertId' = a.id::text) as announced
       from fraud_alert a where a.gtin = ? order by a.subject`,
      [gtin],
    );
    expect(alerts.find((a) => a.subject === `gtin:${gtin}`)).toMatchObject({ id: ghostAlerts[0]!.id, kind: 'UNKNOWN_SERIAL', count: 4 });
    const grey = alerts.filter((a) => a.kind === 'GREY_MARKET');
    expect(grey.map((a) => a.subject).sort()).toEqual(many.filter((_, i) => i % 4 === 0).map((u) => u.id).sort());
    expect(grey.every((a) => a.count === 1)).toBe(true);
    expect(alerts.every((a) => a.announced >= 1)).toBe(true);
  });

  it('answers every one of 150 concurrent probes by one client and 50 scans of one unit, numbering both densely (race)', async () => {
    const gtin = await model(brand.key);
    const u = await unit(gtin);
    const prober = await s.org('RETAILER');
    const results = await Promise.all([
      ...Array.from({ length: 150 }, (_, i) => scan({ gtin, serial: `FLOOD${String(i).padStart(3, '0')}` }, prober.key)),
      ...Array.from({ length: 50 }, () => scan({ gtin, serial: u.serial }, prober.key)),
    ]);
    expect(results.filter((r) => r.errors).map((r) => r.errors)).toEqual([]);
    expect(await scanNumbers({ unknownOf: gtin })).toEqual(Array.from({ length: 150 }, (_, i) => i + 1));
    expect(await scanNumbers({ passportId: u.id })).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    const [alert] = await sql<{ count: number; severity: string }>("select count, severity from fraud_alert where subject = ? and kind = 'UNKNOWN_SERIAL'", [`gtin:${gtin}`]);
    expect(alert).toEqual({ count: 150, severity: 'CRITICAL' });
  });

  it('counts one client\'s probes of unknown serials exactly however many arrive at once (race)', async () => {
    const gtin = await model(brand.key);
    const prober = await s.org('RETAILER');
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => scan({ gtin, serial: `PROBE${String(i).padStart(3, '0')}` }, prober.key)));
    expect(results.filter((r) => r.errors).map((r) => r.errors)).toEqual([]);
    // Numbered per GTIN and client: 1..30, no gap or repeat.
    expect(await scanNumbers({ unknownOf: gtin })).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    // One alert for the GTIN, every firing counted, and the last firing saw all 30 distinct serials.
    const alerts = () =>
      sql<{ count: number; severity: string; evidence: { distinctUnknownSerialsFromClientLastHour: number } }>(
        `select count, severity, evidence from fraud_alert where subject = ? and kind = 'UNKNOWN_SERIAL'`,
        [`gtin:${gtin}`],
      );
    expect(await alerts()).toMatchObject([{ count: 30, severity: 'CRITICAL', evidence: { distinctUnknownSerialsFromClientLastHour: 30 } }]);
    // Another client's probe is its first.
    await ok({ gtin, serial: 'PROBE000' }, retailer.key);
    expect(await scanNumbers({ unknownOf: gtin })).toEqual([1, ...Array.from({ length: 30 }, (_, i) => i + 1)]);
    expect(await alerts()).toMatchObject([{ count: 31, evidence: { distinctUnknownSerialsFromClientLastHour: 1 } }]);
  });

  it.skipIf(!testServerUrl)(
    'records a scan whose number was taken while it decided under the unit\'s lock instead, counting the scan that took it (race; PostgreSQL only: needs a second session)',
    async () => {
      const gtin = await model(brand.key, { maxLifetimeScans: 2 });
      const u = await unit(gtin);
      await ok({ gtin, serial: u.serial }); // scan 1
      // Another writer takes number 2 and holds it uncommitted while the next scan reads the history (1 scan)
      // and tries to record itself as number 2.
      const other = new pg.Client({ connectionString: s.services.config.databaseUrl });
      await other.connect();
      try {
        await other.query('begin');
        await other.query(
          `insert into scan_event (id, passport_id, seq, gtin, serial, scanned_at, client_key, channel, signature_check, verdict, reasons, created_at)
           values (gen_random_uuid(), $1, 2, $2, $3, now(), 'test', 'GRAPHQL', 'ABSENT', 'AUTHENTIC', '{}', now())`,
          [u.id, gtin, u.serial],
        );
        let settled = false;
        const pending = scan({ gtin, serial: u.serial }, retailer.key).finally(() => (settled = true));
        // Wait until the scan's insert waits on the held number.
        for (let i = 0; ; i++) {
          if (settled) throw new Error(`the scan ended before waiting: ${JSON.stringify(await pending)}`);
          // Activity is read once per transaction unless the snapshot is cleared.
          await other.query('select pg_stat_clear_snapshot()');
          const waiting = await other.query(
            `select 1 from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and query like '%insert into scan_event%'`,
          );
          if (waiting.rowCount) break;
          if (i > 1000) throw new Error('the scan never waited on the held number');
          await new Promise((r) => setTimeout(r, 10));
        }
        await other.query('commit');
        const r = await pending;
        expect(r.errors).toBeUndefined();
        // Recorded as number 3 and judged on 3 lifetime scans: over the model's maximum of 2.
        expect(r.data!.verifyScan.alerts.map((a) => [a.kind, a.count])).toEqual([['SCAN_COUNT', 1]]);
        expect(await scanNumbers({ passportId: u.id })).toEqual([1, 2, 3]);
      } finally {
        await other.end();
      }
    },
  );
});

describe('end of life', () => {
  it('raises a HIGH POST_END_OF_LIFE alert for a unit scanned after its end of life, and after recycling', async () => {
    const gtin = await model(brand.key);
    const [a, b] = await units(gtin, 2);
    for (const u of [a!, b!]) {
      const r = await s.gql('mutation($id: ID!, $r: String!) { declareEndOfLife(passportId: $id, reason: $r) { id status } }', { id: u.id, r: 'worn out' }, recycler.key);
      expect(r.errors).toBeUndefined();
    }
    const recycled = await s.gql('mutation($i: RecyclingInput!) { recordRecycling(input: $i) { id status } }', { i: { passportId: b!.id } }, recycler.key);
    expect(recycled.errors).toBeUndefined();

    const eol = await ok({ digitalLink: a!.link });
    expect(eol.passport?.status).toBe('END_OF_LIFE');
    expect(eol.alerts.map((x) => [x.kind, x.severity])).toEqual([['POST_END_OF_LIFE', 'HIGH']]);
    expect(eol.verdict).toBe('SUSPICIOUS');

    const rec = await ok({ gtin, serial: b!.serial });
    expect(rec.passport?.status).toBe('RECYCLED');
    expect(alertOf(rec, 'POST_END_OF_LIFE')?.severity).toBe('HIGH');
  });
});

describe('fraudAlerts and acknowledgeFraudAlert', () => {
  let alertBrand: Org;
  let gtinA: string;
  let gtinB: string;
  let greyUnit: Unit;
  let ids: string[];
  const PREFIX = '0733333';
  const since = new Date(Date.now() - 60_000).toISOString();

  const list = async (key: string | undefined, vars: Record<string, unknown> = {}) => s.gql<AlertPage>(ALERTS, vars, key);
  const nodes = (r: GqlResponse<AlertPage>) => r.data!.fraudAlerts.edges.map((e) => e.node);

  beforeAll(async () => {
    alertBrand = await s.org('BRAND', { gs1CompanyPrefixes: [PREFIX] });
    gtinA = await model(alertBrand.key, { authorisedMarkets: ['DE'] }, PREFIX);
    gtinB = await model(alertBrand.key, { authorisedMarkets: ['DE'] }, PREFIX);
    const [a1, a2, a3] = await units(gtinA, 3, alertBrand.key);
    const [b1] = await units(gtinB, 1, alertBrand.key);
    greyUnit = a1!;
    const found: string[] = [];
    const fire = async (input: ScanInput) => {
      const v = await ok(input);
      expect(v.alerts).toHaveLength(1);
      found.push(v.alerts[0]!.id);
    };
    await fire({ digitalLink: a1!.link, country: 'FR' }); // GREY_MARKET MEDIUM
    await fire({ digitalLink: a2!.link, country: 'FR' }); // GREY_MARKET MEDIUM
    const bytes = fromBase64Url(a3!.sig);
    bytes[0]! ^= 0x80;
    await fire({ digitalLink: withSig(a3!, toBase64Url(bytes)) }); // INVALID_SIGNATURE CRITICAL
    await fire({ gtin: gtinA, serial: 'NOSUCHUNIT' }); // UNKNOWN_SERIAL HIGH
    await fire({ digitalLink: b1!.link, country: 'US' }); // GREY_MARKET MEDIUM on gtin B
    ids = found;
  });

  it('shows a brand its alerts, filtered by kind, severity, status, GTIN and time', async () => {
    const all = await list(alertBrand.key);
    expect(all.errors).toBeUndefined();
    expect(nodes(all).map((n) => n.id).sort()).toEqual([...ids].sort());
    expect(nodes(all).every((n) => n.gtin === gtinA || n.gtin === gtinB)).toBe(true);

    const filtered = async (f: Record<string, unknown>) => nodes(await list(alertBrand.key, { f })).map((n) => n.id).sort();
    expect(await filtered({ kind: 'GREY_MARKET' })).toEqual([ids[0], ids[1], ids[4]].sort());
    expect(await filtered({ severity: 'CRITICAL' })).toEqual([ids[2]]);
    expect(await filtered({ severity: 'HIGH' })).toEqual([ids[3]]);
    expect(await filtered({ status: 'OPEN' })).toEqual([...ids].sort());
    expect(await filtered({ status: 'ACKNOWLEDGED' })).toEqual([]);
    expect(await filtered({ gtin: gtinB })).toEqual([ids[4]]);
    expect(await filtered({ gtin: gtinA, kind: 'GREY_MARKET' })).toEqual([ids[0], ids[1]].sort());
    expect(await filtered({ since })).toEqual([...ids].sort());
    expect(await filtered({ since: new Date(Date.now() + 3_600_000).toISOString() })).toEqual([]);
  });

  it('answers a scan\'s alerts exactly as the brand\'s list shows them, after one firing and after a grouped second', async () => {
    // A brand of its own: the other tests here count this brand's alerts.
    const own = await s.org('BRAND', { gs1CompanyPrefixes: ['0744444'] });
    const gtin = await model(own.key, { authorisedMarkets: ['DE'] }, '0744444');
    const u = await unit(gtin, own.key);
    for (let n = 1; n <= 2; n++) {
      const v = await ok({ digitalLink: u.link, country: 'FR' }, own.key);
      const answered = alertOf(v, 'GREY_MARKET')!;
      const listed = nodes(await list(own.key)).find((a) => a.id === answered.id);
      expect(answered).toMatchObject({ count: n, passportId: u.id, gtin, status: 'OPEN', severity: 'MEDIUM' });
      expect(answered.evidence).not.toBeNull();
      expect(answered).toEqual(listed);
    }
  });

  it('pages with a cursor: first 2, then after endCursor, without overlap', async () => {
    const seen: string[] = [];
    let after: string | null = null;
    let pages = 0;
    for (;;) {
      const page: GqlResponse<AlertPage> = await list(alertBrand.key, { first: 2, after });
      expect(page.errors).toBeUndefined();
      const edges = page.data!.fraudAlerts.edges;
      expect(edges.length).toBeLessThanOrEqual(2);
      seen.push(...edges.map((e) => e.node.id));
      pages++;
      if (!page.data!.fraudAlerts.pageInfo.hasNextPage) break;
      expect(edges).toHaveLength(2);
      after = page.data!.fraudAlerts.pageInfo.endCursor;
      expect(after).toBe(edges[1]!.cursor);
      expect(pages).toBeLessThan(10);
    }
    expect(pages).toBe(3);
    expect(seen).toHaveLength(5);
    expect(new Set(seen).size).toBe(5);
    expect([...seen].sort()).toEqual([...ids].sort());
    expect(code(await list(alertBrand.key, { after: 'garbage' }))).toBe('BAD_USER_INPUT');
  });

  it('keeps other brands out, refuses retailers and anonymous callers, and shows authorities and the platform', async () => {
    const foreign = await list(brand.key, { first: 100 });
    expect(foreign.errors).toBeUndefined();
    expect(nodes(foreign).some((n) => ids.includes(n.id))).toBe(false);
    expect(nodes(await list(brand.key, { f: { gtin: gtinA } }))).toEqual([]);
    expect(nodes(await list(otherBrand.key, { first: 100 })).some((n) => ids.includes(n.id))).toBe(false);
    expect(code(await list(retailer.key))).toBe('FORBIDDEN');
    expect(code(await list(recycler.key))).toBe('FORBIDDEN');
    expect(code(await list(undefined))).toBe('UNAUTHENTICATED');
    for (const key of [regulator.key, customs.key, s.platformKey]) {
      const r = await list(key, { f: { gtin: gtinA } });
      expect(r.errors).toBeUndefined();
      expect(nodes(r).map((n) => n.id).sort()).toEqual(ids.slice(0, 4).sort());
    }
  });

  it('acknowledges an alert for its brand only (idempotent), and a later firing opens a new alert', async () => {
    const target = ids[0]!;
    const before = nodes(await list(alertBrand.key, { f: { gtin: gtinA, kind: 'GREY_MARKET' } })).find((n) => n.id === target)!;

    const foreign = await s.gql(ACK, { id: target }, otherBrand.key);
    expect(code(foreign)).toBe('NOT_FOUND');
    expect(code(await s.gql(ACK, { id: target }, brand.key))).toBe('NOT_FOUND');
    expect(code(await s.gql(ACK, { id: 'not-an-id' }, alertBrand.key))).toBe('NOT_FOUND');
    expect(code(await s.gql(ACK, { id: '0190a3c4-0000-7000-8000-000000000000' }, alertBrand.key))).toBe('NOT_FOUND');
    expect(['FORBIDDEN', 'NOT_FOUND']).toContain(code(await s.gql(ACK, { id: target }, retailer.key)));
    expect(code(await s.gql(ACK, { id: target }))).toBeDefined();
    expect((await alertsOf({ passportId: greyUnit.id }, 'GREY_MARKET'))[0]!.status).toBe('OPEN');

    const ack = await s.gql<{ acknowledgeFraudAlert: Alert }>(ACK, { id: target }, alertBrand.key);
    expect(ack.errors).toBeUndefined();
    expect(ack.data!.acknowledgeFraudAlert).toMatchObject({ id: target, status: 'ACKNOWLEDGED', kind: 'GREY_MARKET', count: before.count });
    const again = await s.gql<{ acknowledgeFraudAlert: Alert }>(ACK, { id: target }, alertBrand.key);
    expect(again.errors).toBeUndefined();
    expect(again.data!.acknowledgeFraudAlert).toMatchObject({ id: target, status: 'ACKNOWLEDGED' });
    expect(nodes(await list(alertBrand.key, { f: { status: 'ACKNOWLEDGED' } })).map((n) => n.id)).toEqual([target]);

    const refire = await ok({ digitalLink: greyUnit.link, country: 'FR' });
    const fresh = alertOf(refire, 'GREY_MARKET')!;
    expect(fresh.id).not.toBe(target);
    expect(fresh).toMatchObject({ status: 'OPEN', count: 1 });
    const rows = await alertsOf({ passportId: greyUnit.id }, 'GREY_MARKET');
    expect(rows.map((r) => [r.id, r.status])).toEqual([
      [target, 'ACKNOWLEDGED'],
      [fresh.id, 'OPEN'],
    ]);
    // A further firing grows the new open alert, not the acknowledged one.
    const third = alertOf(await ok({ digitalLink: greyUnit.link, country: 'FR' }), 'GREY_MARKET')!;
    expect(third).toMatchObject({ id: fresh.id, count: 2 });
    expect((await alertsOf({ passportId: greyUnit.id }, 'GREY_MARKET')).find((r) => r.id === target)!.status).toBe('ACKNOWLEDGED');
  });
});
