import type { EntityManager } from '@mikro-orm/postgresql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { retentionService, uuidv7Floor } from '../../src/modules/privacy/retention.service.js';
import { scanKit } from '../support/scans.js';
import { startTestServer, type TestServer } from '../support/server.js';

/** Retention (README "Privacy"): old scans go, in batches, while counts, analytics and alerts stay exact. */
let s: TestServer;
let brand: { id: string; key: string };
let retailer: { id: string; key: string };
const kit = scanKit(() => s, '0614143');
const DAY = 86_400_000;
const fork = () => s.db.orm.em.fork() as EntityManager;
let aged = 0;

/** Moves a GTIN's scans `days` back, as if recorded then: their time and their (time-ordered) ids. */
async function age(gtin: string, days: number): Promise<number> {
  const rows = await kit.sql<{ id: string }>('select id from scan_event where gtin = ? order by id', [gtin]);
  const base = uuidv7Floor(new Date(Date.now() - days * DAY)).slice(0, -12);
  for (const { id } of rows) {
    await kit.sql(`update scan_event set id = ?, scanned_at = scanned_at - make_interval(days => ?) where id = ?`, [`${base}${String(++aged).padStart(12, '0')}`, days, id]);
  }
  return rows.length;
}

type Buckets = { key: string; count: number }[];
type Analytics = { totalScans: number; byVerdict: Buckets; scansByCountry: Buckets; scansByDay: Buckets; scansByGtin: Buckets };
async function analytics(gtin: string, fromDaysAgo: number, toDaysAgo: number): Promise<Analytics> {
  const r = await s.gql<{ scanAnalytics: Analytics }>(
    `query($f: AnalyticsFilter!) { scanAnalytics(filter: $f) { totalScans byVerdict { key count } scansByCountry { key count } scansByDay { key count } scansByGtin { key count } } }`,
    { f: { gtin, from: new Date(Date.now() - fromDaysAgo * DAY).toISOString(), to: new Date(Date.now() - toDaysAgo * DAY).toISOString() } },
    brand.key,
  );
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  return r.data!.scanAnalytics;
}
const alertState = (gtin: string) => kit.sql<{ kind: string; count: number; status: string }>("select kind::text as kind, count, status::text as status from fraud_alert where gtin = ? order by kind", [gtin]);

beforeAll(async () => {
  s = await startTestServer({ DPP_RETENTION_INTERVAL_MS: '0' });
  brand = await s.org('BRAND', { gs1CompanyPrefixes: ['0614143'] });
  retailer = await s.org('RETAILER');
});
afterAll(async () => {
  await s?.stop();
});

describe('scan retention', () => {
  it('deletes old scans in batches; lifetime counts, maxLifetimeScans, numbering, analytics and alerts stay exact', async () => {
    const gtin = await kit.model(brand.key, { maxLifetimeScans: 3, authorisedMarkets: ['DE'] });
    const [old, kept] = await kit.units(brand.key, gtin, 2);
    for (let i = 0; i < 3; i++) await kit.ok({ gtin, serial: old!.serial, country: 'FR', at: new Date(Date.now() - (3 - i) * 3_600_000).toISOString() }, retailer.key);
    await kit.ok({ gtin, serial: 'NEVERMINTED9', country: 'DE' }, retailer.key);
    await kit.ok({ gtin, serial: 'NEVERMINTED8' }, retailer.key);
    expect(await age(gtin, 500)).toBe(5);
    await kit.ok({ gtin, serial: kept!.serial, country: 'DE' }, retailer.key);

    const before = await analytics(gtin, 505, 495);
    expect(before.totalScans).toBe(5);
    const alertsBefore = await alertState(gtin);
    expect(alertsBefore.map((a) => a.kind).sort()).toEqual(['GREY_MARKET', 'UNKNOWN_SERIAL']);

    const purged = await retentionService.purgeScans(fork(), 400, { batchSize: 2 });
    expect(purged).toEqual({ deleted: 5, batches: 3, skipped: false });
    expect((await kit.sql<{ serial: string }>('select serial from scan_event where gtin = ?', [gtin])).map((r) => r.serial)).toEqual([kept!.serial]);
    expect(await analytics(gtin, 505, 495)).toEqual(before);
    expect(await alertState(gtin)).toEqual(alertsBefore);
    expect((await kit.sql<{ scans_purged: number }>('select scans_purged from passport where id = ?', [old!.id]))[0]!.scans_purged).toBe(3);

    // The fourth scan of the unit is number 4 and exceeds the model's ceiling of 3, though scans 1–3 are gone.
    const fourth = await kit.ok({ gtin, serial: old!.serial }, retailer.key);
    expect(fourth.alerts.map((a) => a.kind)).toEqual(['SCAN_COUNT']);
    expect((await kit.sql<{ seq: number }>('select seq from scan_event where passport_id = ?', [old!.id])).map((r) => r.seq)).toEqual([4]);
    expect((await retentionService.purgeScans(fork(), 400)).deleted).toBe(0);
  });

  it('deletes each row once when two replicas run it at once, and counts each deleted scan once', async () => {
    const gtin = await kit.model(brand.key);
    const units = await kit.units(brand.key, gtin, 3);
    for (let i = 0; i < 30; i++) await kit.ok({ gtin, serial: units[i % 3]!.serial }, retailer.key);
    expect(await age(gtin, 450)).toBe(30);
    const daily = async () => (await kit.sql<{ n: number | null }>('select sum(scans)::int as n from scan_daily where gtin = ?', [gtin]))[0]!.n ?? 0;
    expect(await daily()).toBe(0);
    const [a, b] = await Promise.all([retentionService.purgeScans(fork(), 400, { batchSize: 4 }), retentionService.purgeScans(fork(), 400, { batchSize: 4 })]);
    // A replica that finds the other one at work stops; the next run (hourly) finishes what is left.
    const rest = await retentionService.purgeScans(fork(), 400, { batchSize: 4 });
    expect(a!.deleted + b!.deleted + rest.deleted).toBe(30);
    expect(await daily()).toBe(30);
    const floors = await kit.sql<{ scans_purged: number }>('select scans_purged from passport where gtin = ? order by scans_purged', [gtin]);
    expect(floors.map((f) => f.scans_purged)).toEqual([10, 10, 10]);
  });

  it('deletes audit entries past their own, longer retention; nothing else may delete them', async () => {
    const [org] = await kit.sql<{ id: string }>('select id from organization where id = ?', [brand.id]);
    const old = new Date(Date.now() - 7 * 365 * DAY).toISOString();
    await kit.sql(`insert into audit_log (id, organization_id, action, details, created_at) values (gen_random_uuid(), ?, 'test.old', '{}', ?), (gen_random_uuid(), ?, 'test.new', '{}', now())`, [org!.id, old, org!.id]);
    await expect(kit.sql(`delete from audit_log where action = 'test.old'`)).rejects.toThrow(/append-only/);
    expect(await retentionService.purgeAudit(fork(), 2190)).toMatchObject({ deleted: 1, skipped: false });
    expect((await kit.sql<{ action: string }>(`select action from audit_log where action like 'test.%'`)).map((r) => r.action)).toEqual(['test.new']);
  });
});
