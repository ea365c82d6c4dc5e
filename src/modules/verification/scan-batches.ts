import type { EntityManager } from '@mikro-orm/postgresql';
import { statementBatcher } from '../../db/batch.js';
import { type OrmConnection, preparedQuery } from '../../db/raw.js';
import { type AlertFiring, type AlertRow, type AlertSubject, alertParams, FRAUD_ALERT_TOPIC, firingRow } from '../alerts/alert.service.js';
import { type FactsRow, READ_FIELDS, SCAN_COLUMNS, SCAN_SQL, type UnitRow } from './scan-sql.js';

/** One scan of a batched read (see {@link SCAN_SQL}'s `read`). */
export type ReadItem = { gtin: string; serial: string; hour_from: string; hour_to: string; day_from: string; client: string };
export type ReadRow = UnitRow & FactsRow & { n: number; probe_lifetime: number | null; probes: number | null };
/** A scan with findings to write: its row ({@link scanRow}'s values), and its firings on its subject. */
export type ScanWithFirings = { values: unknown[]; subject: AlertSubject; firings: readonly AlertFiring[] };
type ScanStatements = {
  read(item: ReadItem): Promise<ReadRow | undefined>;
  /** Whether the scan was written (false: another scan took its number). */
  insert(values: unknown[]): Promise<boolean>;
  /** The scan's alerts as they now stand, or null: another scan took its number and nothing was written. */
  insertWithAlerts(scan: ScanWithFirings): Promise<AlertRow[] | null>;
};

/** Two batches of each statement at once at most (other work keeps the rest of the pool); 100 scans per batch. */
const SCAN_BATCHES = { maxInFlight: 2, maxBatch: 100 };
const scanBatchers = new WeakMap<OrmConnection, ScanStatements>();

/** A batch of scan rows ({@link scanRow}'s values) as the JSON `insertScans` reads. */
function scanRowsJson(rows: readonly (readonly unknown[])[]): string {
  return JSON.stringify(rows.map((values) => Object.fromEntries(SCAN_COLUMNS.map(([column], i) => [column, values[i]]))));
}

/** A batch of read items as the JSON `read` reads, numbered in order. */
function readItemsJson(items: readonly ReadItem[]): string {
  return JSON.stringify(items.map((item, n) => ({ n, ...item })));
}

/**
 * The optimistic path's statements (read, plain insert, insert with alerts), one batcher each per ORM (see
 * db/batch.ts): concurrent scans share round trips, statements and commits.
 */
export function scanStatements(em: EntityManager): ScanStatements {
  const connection = em.getConnection();
  let statements = scanBatchers.get(connection);
  if (!statements) {
    statements = {
      read: statementBatcher((items: readonly ReadItem[]) => scanBatches.read(connection, items), SCAN_BATCHES),
      insert: statementBatcher((rows: readonly unknown[][]) => scanBatches.insert(connection, rows), SCAN_BATCHES),
      insertWithAlerts: statementBatcher((scans: readonly ScanWithFirings[]) => scanBatches.insertWithAlerts(connection, scans), SCAN_BATCHES),
    };
    scanBatchers.set(connection, statements);
  }
  return statements;
}

/**
 * One batch of each optimistic statement, one answer per item in order: a batch of one runs the one-scan
 * statement. Exported for tests; scans go through {@link scanStatements}.
 */
export const scanBatches = {
  async read(connection: OrmConnection, items: readonly ReadItem[]): Promise<(ReadRow | undefined)[]> {
    const rows =
      items.length === 1
        ? await preparedQuery<ReadRow>(connection, SCAN_SQL.readOne, READ_FIELDS.map(([field]) => items[0]![field]))
        : await preparedQuery<ReadRow>(connection, SCAN_SQL.read, [readItemsJson(items)]);
    const inOrder = new Array<ReadRow | undefined>(items.length);
    for (const row of rows) inOrder[row.n] = row;
    return inOrder;
  },

  async insert(connection: OrmConnection, rows: readonly unknown[][]): Promise<boolean[]> {
    const written = new Set(
      (rows.length === 1
        ? await preparedQuery<{ id: string }>(connection, SCAN_SQL.insertOne, rows[0]!)
        : await preparedQuery<{ id: string }>(connection, SCAN_SQL.insertScans, [scanRowsJson(rows)])
      ).map((r) => r.id),
    );
    return rows.map((values) => written.has(values[0] as string));
  },

  async insertWithAlerts(connection: OrmConnection, scans: readonly ScanWithFirings[]): Promise<(AlertRow[] | null)[]> {
    if (scans.length === 1) {
      const { values, subject, firings } = scans[0]!;
      const rows = await preparedQuery<AlertRow>(connection, SCAN_SQL.insertScanWithAlerts, [...values, ...alertParams(subject, firings)]);
      return [rows.length ? rows : null];
    }
    let n = 0;
    const firings = scans.flatMap(({ values, subject, firings }) => firings.map((f) => ({ scan_id: values[0], ...firingRow(subject, f, n++) })));
    const rows = await preparedQuery<AlertRow & { scan_id: string }>(connection, SCAN_SQL.insertScansWithAlerts, [
      scanRowsJson(scans.map((s) => s.values)),
      JSON.stringify(firings),
      FRAUD_ALERT_TOPIC,
    ]);
    const byScan = new Map<string, AlertRow[]>();
    for (const { scan_id, ...alert } of rows) byScan.set(scan_id, [...(byScan.get(scan_id) ?? []), alert]);
    return scans.map(({ values }) => byScan.get(values[0] as string) ?? null);
  },
};
