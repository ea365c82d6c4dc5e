import type { IPassport } from '../passports/passport.entity.js';
import type { ProductLink } from '../product-models/product-model.links.js';
import type { ScanRecordingValue } from './scan-privacy.js';
import { alertColumns, alertUpsertCtes, alertUpsertFrom, FIRING_COLUMNS, UPSERTED_ALERTS } from '../alerts/alert.service.js';

/** The statements a scan runs: its unit's facts, its reads (one or batched) and its writes with their alerts. */
export const MODEL_AND_BRAND = `m.id as model_id, m.gtin as model_gtin, m.name as model_name, m.category, m.warranty_months, m.authorised_markets,
  m.max_lifetime_scans, m.scan_recording, m.scan_location_decimals, m.dpp, m.links as model_links, m.created_at::text as model_created_at, o.id as brand_id, o.name as brand_name, o.gs1_company_prefixes`;

/** A unit with its model, brand, batch markets and the status of the key that signed it. */
const UNIT_COLUMNS = `p.id, p.gtin, p.serial, p.lot, p.status, p.signature, p.kid, b.destination_markets, k.status as key_status, ${MODEL_AND_BRAND}`;
const UNIT_FROM = `passport p join product_model m on m.id = p.model_id join organization o on o.id = p.brand_id
       join mint_batch b on b.id = p.batch_id left join signing_key k on k.kid = p.kid`;

/**
 * What the rules need of a unit's history, for unit `id`: the hour around the scan (`hourFrom` to `hourTo`,
 * two bounds: replayed logs arrive out of order) and a day before it (`dayFrom`); SQL expressions, so the
 * same columns serve a parameter list and a batch. `lifetime` is the unit's highest scan number (scans are
 * numbered 1, 2, 3…: see `ScanEvent.seq`), so an index probe, not a count; `purged` the highest number the
 * retention job deleted (`passport.scans_purged`), so the count survives it. `recent` is the unit's 50 latest
 * scans, then those of the last day: the same rows as the latest 50 of the last day, read as 50 index entries
 * however often the unit is scanned (with the day in the index condition, the planner read and sorted all of it).
 */
function factsColumns(id: string, hourFrom: string, hourTo: string, dayFrom: string, purged: string): string {
  return `(select count(*)::int from scan_event where passport_id = ${id} and scanned_at > ${hourFrom} and scanned_at < ${hourTo}) as hour,
       (select greatest(coalesce(max(seq), 0), ${purged}) from scan_event where passport_id = ${id}) as lifetime,
       exists (select 1 from lifecycle_event where passport_id = ${id} and type = 'TAMPER_REPORTED') as tamper,
       (select coalesce(jsonb_agg(jsonb_build_object('at', r.scanned_at, 'lat', r.latitude, 'lon', r.longitude, 'country', r.country)), '[]'::jsonb)
          from (select scanned_at, latitude, longitude, country from scan_event where passport_id = ${id}
                order by scanned_at desc limit 50) r where r.scanned_at > ${dayFrom}) as recent`;
}

/** `name type, …`: the columns of a `jsonb_to_recordset` row. */
const columnDefinitions = (fields: readonly (readonly [string, string])[]) => fields.map(([column, type]) => `${column} ${type}`).join(', ');
/** `$1::type as name, …`: one row of parameters. */
const parameterColumns = (fields: readonly (readonly [string, string])[]) => fields.map(([column, type], i) => `$${i + 1}::${type} as ${column}`).join(', ');

/** The columns of a scan row, in the order of {@link scanRow}'s values, with their types. */
export const SCAN_COLUMNS = [
  ['id', 'uuid'],
  ['passport_id', 'uuid'],
  ['seq', 'int'],
  ['gtin', 'text'],
  ['serial', 'text'],
  ['scanned_at', 'timestamptz'],
  ['latitude', 'float8'],
  ['longitude', 'float8'],
  ['country', 'text'],
  ['device_hash', 'text'],
  ['client_key', 'text'],
  ['channel', 'text'],
  ['signature_check', 'text'],
  ['verdict', 'verdict'],
  ['reasons', 'text[]'],
] as const;
const SCAN_COLUMN_LIST = SCAN_COLUMNS.map(([c]) => c).join(', ');

/** One scan from `$1`…`$15` ({@link scanRow}'s values). */
const INSERT_SCAN = `insert into scan_event (${SCAN_COLUMN_LIST}, created_at)
     select ${SCAN_COLUMN_LIST}, now() from (select ${parameterColumns(SCAN_COLUMNS)}) x`;

/**
 * Scans from `$1`, a JSON array of scan rows (column → value); one whose number another scan took is left
 * out. Rows go in in the order of the unique numbers they take (a unit's, or a client's probes of a GTIN):
 * two batches that collide on two numbers then wait for each other in one direction only, never both.
 */
const INSERT_SCANS = `insert into scan_event (${SCAN_COLUMN_LIST}, created_at)
     select ${SCAN_COLUMN_LIST}, now() from jsonb_to_recordset($1::jsonb) as x(${columnDefinitions(SCAN_COLUMNS)})
     order by x.passport_id nulls first, case when x.passport_id is null then x.gtin end, case when x.passport_id is null then x.client_key end, x.seq
     on conflict do nothing`;

/** The highest number among a client's scans of unknown serials of a GTIN. */
const probeLifetime = (gtin: string, client: string) => `(select coalesce(max(seq), 0) from scan_event where passport_id is null and gtin = ${gtin} and client_key = ${client})`;
/** Distinct unknown serials of the GTIN the client probed since `since`, counting this scan's `serial` once. */
const probes = (gtin: string, serial: string, client: string, since: string) =>
  `(select count(distinct serial)::int from scan_event where passport_id is null and gtin = ${gtin} and client_key = ${client} and scanned_at > ${since} and serial <> ${serial}) + 1`;

/** The fields of a {@link ReadItem}, in the order of `readOne`'s parameters, with their types. */
export const READ_FIELDS = [
  ['gtin', 'text'],
  ['serial', 'text'],
  ['hour_from', 'timestamptz'],
  ['hour_to', 'timestamptz'],
  ['day_from', 'timestamptz'],
  ['client', 'text'],
] as const;

/**
 * What each scan of `source` (rows `x`: `n`, its place in a batch, and the {@link READ_FIELDS}) needs, in
 * one snapshot, nothing locked: the unit with its model, brand, batch markets, signing-key status and
 * history; for an identity never minted, the GTIN's model and brand (if any) and the client's probes. One
 * row per scan, numbered `n`.
 */
function readSql(source: string): string {
  return `select x.n, ${UNIT_COLUMNS},
       case when p.id is null then ${probeLifetime('x.gtin', 'x.client')} end as probe_lifetime,
       case when p.id is null and m.id is not null then ${probes('x.gtin', 'x.serial', 'x.client', 'x.hour_from')} end as probes,
       f.*
     from ${source}
       left join passport p on p.gtin = x.gtin and p.serial = x.serial
       left join product_model m on m.gtin = x.gtin left join organization o on o.id = m.brand_id
       left join mint_batch b on b.id = p.batch_id left join signing_key k on k.kid = p.kid
       left join lateral (select ${factsColumns('p.id', 'x.hour_from', 'x.hour_to', 'x.day_from', 'p.scans_purged')}) f on p.id is not null`;
}

/**
 * The statements of a scan. Exported so the benchmark's SQL limit runs exactly these.
 *
 * A scan alone runs `readOne` and `insertOne` (or `insertScanWithAlerts`): two statements and no
 * transaction. Scans arriving at the same moment share them as `read` and `insertScans` (or
 * `insertScansWithAlerts`): one statement answers a batch (see {@link scanStatements}). The read takes no
 * lock, and the insert carries the number after the last scan the read saw (of the unit, or for an unknown
 * serial of the client's unknown serials of the GTIN), so if another such scan was recorded in between, a
 * unique index refuses it and nothing is written; that scan (and every NFC tap) then takes the locked path:
 * BEGIN, `lockUnit`, `unitFacts` (or `probeFacts`), `insertScan`, COMMIT.
 */
export const SCAN_SQL = {
  /** {@link readSql} for a batch: `$1` is a JSON array of {@link ReadItem}s with their `n`. */
  read: { name: 'dpp_scan_reads', text: readSql(`jsonb_to_recordset($1::jsonb) as x(n int, ${columnDefinitions(READ_FIELDS)})`) },
  /** {@link readSql} for one scan alone: `$1`…`$6` the {@link READ_FIELDS}. */
  readOne: { name: 'dpp_scan_read', text: readSql(`(select 0 as n, ${parameterColumns(READ_FIELDS)}) x`) },
  /** $1 gtin, $2 serial. */
  lockUnit: `select ${UNIT_COLUMNS} from ${UNIT_FROM} where p.gtin = $1 and p.serial = $2 for no key update of p`,
  /** $1 passport id, $2..$3 the hour around the scan, $4 a day before it. Run after the unit's lock is held (a statement's snapshot is taken when it starts). */
  unitFacts: `select ${factsColumns('$1', '$2', '$3', '$4', '(select scans_purged from passport where id = $1)')}`,
  /** $1 gtin, $2 serial, $3 the client key, $4 an hour before the scan. Run after the GTIN's advisory lock is held. */
  probeFacts: { name: 'dpp_scan_probes', text: `select ${probeLifetime('$1', '$3')} as lifetime, ${probes('$1', '$2', '$3', '$4')} as probes` },
  /** One scan, `$1`…`$15`: under the lock. */
  insertScan: INSERT_SCAN,
  /**
   * A batch of scans without alerts, `$1` a JSON array of scan rows (column → value). A scan whose number
   * another scan took is left out, not an error: the ids returned are the scans written.
   */
  insertScans: { name: 'dpp_scan_inserts', text: `${INSERT_SCANS} returning id` },
  /** The same for one scan alone, `$1`…`$15`. */
  insertOne: { name: 'dpp_scan_insert', text: `${INSERT_SCAN} on conflict do nothing returning id` },
  /**
   * One scan alone with the alerts of its findings and their outbox rows (parameters from $16: see
   * `alertParams`), in one statement. No rows: another scan took its number, and nothing was written.
   */
  insertScanWithAlerts: {
    name: 'dpp_scan_insert_alerts',
    text: `with scan as (${INSERT_SCAN} on conflict do nothing returning 1), ${alertUpsertCtes(16, 'scan')} select ${UPSERTED_ALERTS} from upserted`,
  },
  /**
   * A batch of scans with findings: `$1` the scans as for `insertScans`, `$2` a JSON array of their firings
   * (`scan_id` and {@link FIRING_COLUMNS}), `$3` the outbox topic. Firings of scans that lost their number
   * are dropped with them. One row per written scan's firing: its `scan_id` and the alert as it now stands.
   */
  insertScansWithAlerts: {
    name: 'dpp_scan_inserts_alerts',
    text: `with scan as (${INSERT_SCANS} returning id),
     firings as (select f.* from jsonb_to_recordset($2::jsonb) as f(scan_id uuid, ${FIRING_COLUMNS}) join scan on scan.id = f.scan_id),
     ${alertUpsertFrom('firings', '$3')}
     select f.scan_id, ${alertColumns('u')} from firings f join upserted u on u.subject = f.subject and u.kind = f.kind`,
  },
} as const;

/** The window parameters of {@link factsColumns} for a scan at `at`: an hour before and after it, a day before it. */
export function factWindow(at: Date): string[] {
  return [new Date(at.getTime() - 3_600_000).toISOString(), new Date(at.getTime() + 3_600_000).toISOString(), new Date(at.getTime() - 86_400_000).toISOString()];
}

export type FactsRow = { hour: number; lifetime: number; tamper: boolean; recent: { at: string; lat: number | null; lon: number | null; country: string | null }[] };

export type UnitRow = {
  id?: string;
  gtin?: string;
  serial?: string;
  lot?: string | null;
  status?: IPassport['status'];
  signature?: string | null;
  kid?: string | null;
  destination_markets?: string[];
  key_status?: string | null;
  model_id: string;
  model_gtin: string;
  model_name: string;
  category: string | null;
  warranty_months: number | null;
  authorised_markets: string[];
  max_lifetime_scans: number | null;
  scan_recording: ScanRecordingValue;
  scan_location_decimals: number | null;
  dpp: Record<string, unknown> | null;
  model_links: ProductLink[] | null;
  model_created_at: string;
  brand_id: string;
  brand_name: string;
  gs1_company_prefixes: string[];
};
