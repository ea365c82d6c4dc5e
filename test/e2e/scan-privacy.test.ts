import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { coarsen, hashPeriod } from '../../src/modules/verification/scan-privacy.js';
import { scanKit } from '../support/scans.js';
import { startTestServer, type TestServer } from '../support/server.js';

/** Scan minimisation (README "Privacy"): what a scan row keeps, while the fraud rules keep firing. */
let s: TestServer;
let brand: { id: string; key: string };
let retailer: { id: string; key: string };
const kit = scanKit(() => s, '0614142');
const PARIS = { latitude: 48.8566, longitude: 2.3522 };
const NEW_YORK = { latitude: 40.7128, longitude: -74.006 };

type Row = { latitude: number | null; longitude: number | null; country: string | null; device_hash: string | null; client_key: string | null; verdict: string };
const rowsOf = (passportId: string) =>
  kit.sql<Row>('select latitude, longitude, country, device_hash, client_key, verdict::text as verdict from scan_event where passport_id = ? order by seq', [passportId]);
const code = (r: { errors?: { extensions?: { code?: string } }[] }) => r.errors?.[0]?.extensions?.code;

beforeAll(async () => {
  s = await startTestServer({ DPP_RETENTION_INTERVAL_MS: '0' });
  brand = await s.org('BRAND', { gs1CompanyPrefixes: ['0614142'] });
  retailer = await s.org('RETAILER');
});
afterAll(async () => {
  await s?.stop();
});

describe('STANDARD recording', () => {
  it('stores the place coarsened to 0.1°, while IMPOSSIBLE_TRAVEL still fires for Paris then New York', async () => {
    const gtin = await kit.model(brand.key);
    const [u] = await kit.units(brand.key, gtin);
    const first = await kit.ok({ digitalLink: u!.link, ...PARIS, country: 'FR', deviceId: 'phone-1' });
    expect([first.verdict, first.rulesNotApplied]).toEqual(['AUTHENTIC', []]);
    const second = await kit.ok({ digitalLink: u!.link, ...NEW_YORK, country: 'US' });
    expect(second.alerts.map((a) => a.kind)).toContain('IMPOSSIBLE_TRAVEL');
    // The evidence as the brand reads it: measured between the exact New York point and Paris as stored.
    const [travel] = await kit.sql<{ evidence: Record<string, unknown> }>("select evidence from fraud_alert where passport_id = ? and kind = 'IMPOSSIBLE_TRAVEL'", [u!.id]);
    expect(Math.abs((travel!.evidence.distanceKm as number) - 5837)).toBeLessThan(15);
    const rows = await rowsOf(u!.id);
    expect(rows.map((r) => [r.latitude, r.longitude, r.country])).toEqual([
      [48.9, 2.4, 'FR'],
      [40.7, -74, 'US'],
    ]);
    // Hashes, never the device id or the address.
    expect(rows[0]!.device_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(rows)).not.toContain('phone-1');
    expect(JSON.stringify(rows)).not.toContain('127.0.0.1');
    // The alert a brand reads carries no coordinates.
    expect(JSON.stringify(travel.evidence)).not.toMatch(/48\.8|2\.35|40\.71|74\.00/);
  });

  it('keeps more decimals only for a model that asks, and refuses precision out of range or with MINIMAL', async () => {
    const gtin = await kit.model(brand.key, { scanLocationDecimals: 3 });
    const [u] = await kit.units(brand.key, gtin);
    await kit.ok({ digitalLink: u!.link, ...PARIS });
    expect((await rowsOf(u!.id)).map((r) => [r.latitude, r.longitude])).toEqual([[48.857, 2.352]]);
    for (const bad of [{ scanLocationDecimals: 5 }, { scanLocationDecimals: -1 }, { scanRecording: 'MINIMAL', scanLocationDecimals: 2 }]) {
      const r = await s.gql('mutation($i: ProductModelInput!) { createProductModel(input: $i) { id } }', { i: { gtin: kit.nextGtin(), name: 'Bad', ...bad } }, brand.key);
      expect(code(r)).toBe('BAD_USER_INPUT');
    }
    expect([coarsen(-0.04, 1), coarsen(null, 1), coarsen(12.3456, 0)]).toEqual([0, null, 12]);
  });

  it('hashes client and device under a key of the month: the same month links, another month does not', async () => {
    const gtin = await kit.model(brand.key);
    const [u] = await kit.units(brand.key, gtin);
    const now = Date.now();
    const thisMonth = new Date(now - 60_000);
    const lastMonth = new Date(Date.UTC(thisMonth.getUTCFullYear(), thisMonth.getUTCMonth(), 0, 12));
    expect(hashPeriod(lastMonth)).not.toBe(hashPeriod(thisMonth));
    for (const at of [lastMonth, thisMonth, new Date(now - 30_000)]) {
      await kit.ok({ digitalLink: u!.link, deviceId: 'phone-2', at: at.toISOString() }, retailer.key);
    }
    const rows = await kit.sql<{ client_key: string; device_hash: string }>('select client_key, device_hash from scan_event where passport_id = ? order by scanned_at', [u!.id]);
    expect(rows).toHaveLength(3);
    // Scans 2 and 3 fall in one month, unless this test runs in the first minute of a month.
    if (hashPeriod(thisMonth) === hashPeriod(new Date(now - 30_000))) {
      expect(rows[1]!.client_key).toBe(rows[2]!.client_key);
      expect(rows[1]!.device_hash).toBe(rows[2]!.device_hash);
    }
    expect(rows[0]!.client_key).not.toBe(rows[1]!.client_key);
    expect(rows[0]!.device_hash).not.toBe(rows[1]!.device_hash);
  });

  it('still raises GREY_MARKET, SCAN_VELOCITY and a CRITICAL UNKNOWN_SERIAL for a probing client', async () => {
    const gtin = await kit.model(brand.key, { authorisedMarkets: ['DE'] });
    const [u] = await kit.units(brand.key, gtin);
    expect((await kit.ok({ digitalLink: u!.link, country: 'US' })).alerts.map((a) => a.kind)).toEqual(['GREY_MARKET']);
    let last;
    for (let i = 0; i < 21; i++) last = await kit.ok({ gtin, serial: u!.serial }, retailer.key);
    expect(last!.alerts.map((a) => a.kind)).toContain('SCAN_VELOCITY');
    let probe;
    for (let i = 0; i < 5; i++) probe = await kit.ok({ gtin, serial: `PROBE${i}` }, retailer.key);
    expect(probe!.alerts.map((a) => [a.kind, a.severity])).toEqual([['UNKNOWN_SERIAL', 'CRITICAL']]);
  });
});

describe('MINIMAL recording', () => {
  it('stores no place, country, device or client, and answers the same verdicts', async () => {
    const standard = await kit.model(brand.key, { authorisedMarkets: ['DE'] });
    const minimal = await kit.model(brand.key, { authorisedMarkets: ['DE'], scanRecording: 'MINIMAL' });
    const model = await s.gql<{ productModel: { scanRecording: string } | null }>('query($g: String!) { productModel(gtin: $g) { scanRecording } }', { g: minimal }, brand.key);
    expect(model.data?.productModel?.scanRecording).toBe('MINIMAL');
    const verdicts = async (gtin: string) => {
      const [u] = await kit.units(brand.key, gtin);
      const good = await kit.ok({ digitalLink: u!.link, ...PARIS, country: 'DE', deviceId: 'phone-3' });
      const forged = await kit.ok({ digitalLink: u!.link.replace(/([?&]sig=)[^&#]*/, '$1' + 'A'.repeat(86)), country: 'DE' });
      const unknown = await kit.ok({ gtin, serial: 'NEVERMINTED1', ...PARIS, country: 'DE' });
      return { u: u!, answers: [good, forged, unknown] };
    };
    const a = await verdicts(standard);
    const b = await verdicts(minimal);
    expect(b.answers.map((x) => x.verdict)).toEqual(a.answers.map((x) => x.verdict));
    expect(b.answers.map((x) => x.verdict)).toEqual(['AUTHENTIC', 'COUNTERFEIT', 'UNKNOWN']);
    expect(b.answers.map((x) => x.rulesNotApplied)).toEqual(Array(3).fill(['IMPOSSIBLE_TRAVEL', 'GREY_MARKET']));
    const rows = await kit.sql<Row>(
      'select latitude, longitude, country, device_hash, client_key, verdict::text as verdict from scan_event where gtin = ?',
      [minimal],
    );
    expect(rows).toHaveLength(3);
    for (const r of rows) expect([r.latitude, r.longitude, r.country, r.device_hash, r.client_key]).toEqual([null, null, null, null, null]);
  });

  it('does not apply the rules that need where scans were made, and says so; velocity and counts still apply', async () => {
    const gtin = await kit.model(brand.key, { authorisedMarkets: ['DE'], scanRecording: 'MINIMAL', maxLifetimeScans: 2 });
    const [u] = await kit.units(brand.key, gtin);
    await kit.ok({ digitalLink: u!.link, ...PARIS, country: 'FR' });
    const far = await kit.ok({ digitalLink: u!.link, ...NEW_YORK, country: 'US' });
    expect(far.verdict).toBe('AUTHENTIC');
    expect(far.rulesNotApplied).toEqual(['IMPOSSIBLE_TRAVEL', 'GREY_MARKET']);
    const third = await kit.ok({ digitalLink: u!.link });
    expect(third.alerts.map((a) => a.kind)).toEqual(['SCAN_COUNT']);
    // Probing never escalates: no client is kept to count by.
    let probe;
    for (let i = 0; i < 6; i++) probe = await kit.ok({ gtin, serial: `MPROBE${i}` }, retailer.key);
    expect(probe!.alerts.map((a) => [a.kind, a.severity])).toEqual([['UNKNOWN_SERIAL', 'HIGH']]);
    // What a brand can read holds no country for these scans.
    const alerts = await kit.sql<{ evidence: unknown }>('select evidence from fraud_alert where gtin = ?', [gtin]);
    expect(JSON.stringify(alerts)).not.toMatch(/"(FR|US)"/);
    const analytics = await s.gql<{ scanAnalytics: { scansByCountry: { key: string; count: number }[] } }>(
      'query($f: AnalyticsFilter!) { scanAnalytics(filter: $f) { scansByCountry { key count } } }',
      { f: { from: new Date(Date.now() - 3_600_000).toISOString(), to: new Date(Date.now() + 60_000).toISOString(), gtin } },
      brand.key,
    );
    expect(analytics.data?.scanAnalytics.scansByCountry).toEqual([{ key: 'unknown', count: 9 }]);
  });
});
