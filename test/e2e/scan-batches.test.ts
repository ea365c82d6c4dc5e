import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gtinCheckDigit } from '../../src/gs1/index.js';
import { type ReadItem, scanBatches, type ScanWithFirings } from '../../src/modules/verification/scan-batches.js';
import { factWindow } from '../../src/modules/verification/scan-sql.js';
import { startTestServer, type TestServer } from '../support/server.js';

// The batched scan statements, called directly: a batch must answer exactly what one-scan statements answer,
// leave out scans that lost their number (with their alerts), and group one alert's firings within a batch.

let s: TestServer;
let brand: { id: string; key: string };
let gtin: string;
let unitA: { id: string; serial: string };
let unitB: { id: string; serial: string };
const client = 'c'.repeat(64);
const connection = () => s.db.orm.em.getConnection();
const sql = async <T>(query: string, params: unknown[] = []) => (await s.db.orm.em.fork().getConnection().execute(query, params)) as T[];

beforeAll(async () => {
  s = await startTestServer();
  brand = await s.org('BRAND', { gs1CompanyPrefixes: ['0755555'] });
  const body = '075555500001';
  gtin = (body + gtinCheckDigit(body)).padStart(14, '0');
  const model = await s.gql('mutation($i: ProductModelInput!) { createProductModel(input: $i) { id } }', { i: { gtin, name: 'Batch model' } }, brand.key);
  expect(model.errors).toBeUndefined();
  const minted = await s.gql<{ mintPassports: { passports: { id: string; serial: string }[] } }>(
    'mutation($i: MintInput!) { mintPassports(input: $i) { passports { id serial } } }',
    { i: { gtin, quantity: 2, idempotencyKey: 'batches' } },
    brand.key,
  );
  expect(minted.errors).toBeUndefined();
  [unitA, unitB] = minted.data!.mintPassports.passports as [{ id: string; serial: string }, { id: string; serial: string }];
});
afterAll(async () => {
  await s?.stop();
});

const at = new Date();
const item = (g: string, serial: string): ReadItem => {
  const [hour_from, hour_to, day_from] = factWindow(at) as [string, string, string];
  return { gtin: g, serial, hour_from, hour_to, day_from, client };
};
/** {@link scanRow}'s 15 values for a scan of `serial` numbered `seq`. */
const row = (serial: string, passportId: string | null, seq: number) => [randomUUID(), passportId, seq, gtin, serial, at.toISOString(), null, null, 'FR', null, client, 'GRAPHQL', 'VALID', passportId ? 'AUTHENTIC' : 'UNKNOWN', ['a reason', 'another, with "quotes"']];

describe('batched scan statements', () => {
  it('reads a batch exactly as one-scan reads, in order: units, an unknown serial, an unregistered GTIN', async () => {
    const body = '075555599999';
    const items = [item(gtin, unitA.serial), item(gtin, 'NOSUCHSERIAL'), item(gtin, unitB.serial), item((body + gtinCheckDigit(body)).padStart(14, '0'), 'X1')];
    const batch = await scanBatches.read(connection(), items);
    const alone = await Promise.all(items.map(async (i) => (await scanBatches.read(connection(), [i]))[0]));
    expect(batch.map((r) => [r?.id ?? null, r?.model_id ? 'model' : null, r?.probes ?? null])).toEqual([
      [unitA.id, 'model', null],
      [null, 'model', 1],
      [unitB.id, 'model', null],
      [null, null, null],
    ]);
    expect(batch.map(({ n: _n, ...r } = {} as never) => r)).toEqual(alone.map(({ n: _n, ...r } = {} as never) => r));
  });

  it('writes a batch of scans, leaving out the one whose number was taken, with its reasons intact', async () => {
    const rows = [row(unitA.serial, unitA.id, 1), row(unitB.serial, unitB.id, 1), row(unitA.serial, unitA.id, 1)];
    expect(await scanBatches.insert(connection(), rows)).toEqual([true, true, false]);
    const stored = await sql<{ id: string; reasons: string[] }>('select id, reasons from scan_event where gtin = ? and passport_id is not null order by seq, serial', [gtin]);
    expect(stored.map((r) => r.id).sort()).toEqual([rows[0]![0], rows[1]![0]].sort());
    expect(stored[0]!.reasons).toEqual(['a reason', 'another, with "quotes"']);
  });

  it('lets two batches that collide on two numbers, listed in opposite orders, both finish: each number written once, no deadlock (race)', async () => {
    const subject = (passportId: string) => ({ brandId: brand.id, passportId, gtin, at });
    const withAlert = (u: { id: string; serial: string }, seq: number): ScanWithFirings => ({
      values: row(u.serial, u.id, seq),
      subject: subject(u.id),
      firings: [{ kind: 'SCAN_VELOCITY', severity: 'MEDIUM', evidence: { seq } }],
    });
    for (let seq = 100; seq < 130; seq++) {
      const plain = await Promise.all([
        scanBatches.insert(connection(), [row(unitA.serial, unitA.id, seq), row(unitB.serial, unitB.id, seq)]),
        scanBatches.insert(connection(), [row(unitB.serial, unitB.id, seq), row(unitA.serial, unitA.id, seq)]),
      ]);
      // Unit A is first in one batch and second in the other: exactly one of the two wrote it, and likewise B.
      expect([plain[0][0]! !== plain[1][1]!, plain[0][1]! !== plain[1][0]!]).toEqual([true, true]);
      const alerted = await Promise.all([
        scanBatches.insertWithAlerts(connection(), [withAlert(unitA, seq + 100), withAlert(unitB, seq + 100)]),
        scanBatches.insertWithAlerts(connection(), [withAlert(unitB, seq + 100), withAlert(unitA, seq + 100)]),
      ]);
      expect([Boolean(alerted[0][0]) !== Boolean(alerted[1][1]), Boolean(alerted[0][1]) !== Boolean(alerted[1][0])]).toEqual([true, true]);
    }
    const counts = await sql<{ subject: string; count: number }>("select subject, count from fraud_alert where kind = 'SCAN_VELOCITY' and status = 'OPEN' and gtin = ? order by subject", [gtin]);
    expect(counts.map((c) => c.count)).toEqual([30, 30]);
  });

  it('groups one alert\'s firings within a batch, drops the alerts of a scan that lost its number, and announces each alert once per batch', async () => {
    const subject = (passportId: string | null) => ({ brandId: brand.id, passportId, gtin, at });
    const probe = (serial: string, seq: number, severity: 'HIGH' | 'CRITICAL'): ScanWithFirings => ({
      values: row(serial, null, seq),
      subject: subject(null),
      firings: [{ kind: 'UNKNOWN_SERIAL', severity, evidence: { serial } }],
    });
    const lost: ScanWithFirings = { values: row(unitA.serial, unitA.id, 1), subject: subject(unitA.id), firings: [{ kind: 'GREY_MARKET', severity: 'MEDIUM', evidence: {} }] };
    const outboxBefore = (await sql<{ n: number }>('select count(*)::int as n from outbox_message'))[0]!.n;

    const [p1, p2, l] = await scanBatches.insertWithAlerts(connection(), [probe('PROBE1', 1, 'HIGH'), probe('PROBE2', 2, 'CRITICAL'), lost]);
    expect(l).toBeNull();
    expect(p1).toHaveLength(1);
    expect(p1![0]).toMatchObject({ kind: 'UNKNOWN_SERIAL', severity: 'CRITICAL', count: 2, passport_id: null, brand_id: brand.id });
    expect(p2).toEqual(p1);
    expect(p1![0]!.evidence).toEqual({ serial: 'PROBE2' });
    expect(await sql("select kind from fraud_alert where subject = ? and kind = 'GREY_MARKET'", [unitA.id])).toEqual([]);
    expect((await sql<{ n: number }>('select count(*)::int as n from outbox_message'))[0]!.n).toBe(outboxBefore + 1);

    // A later batch (and a lone scan) grow the same open alert.
    const [p3, p4] = await scanBatches.insertWithAlerts(connection(), [probe('PROBE3', 3, 'HIGH'), probe('PROBE4', 4, 'HIGH')]);
    expect([p3![0]!.id, p3![0]!.count, p4![0]!.count]).toEqual([p1![0]!.id, 4, 4]);
    const [p5] = await scanBatches.insertWithAlerts(connection(), [probe('PROBE5', 5, 'HIGH')]);
    expect([p5![0]!.id, p5![0]!.count, p5![0]!.severity]).toEqual([p1![0]!.id, 5, 'CRITICAL']);
    const [lone] = await scanBatches.insertWithAlerts(connection(), [probe('PROBE6', 5, 'HIGH')]);
    expect(lone).toBeNull();
    expect(await sql('select count, first_seen_at <= last_seen_at as ordered from fraud_alert where subject = ?', [`gtin:${gtin}`])).toEqual([{ count: 5, ordered: true }]);
  });
});
