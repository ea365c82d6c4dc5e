import { createHmac } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import AsyncLock from 'async-lock';
import { newId } from '../../crypto/random.js';
import { statementBatcher } from '../../db/batch.js';
import { type OrmConnection, preparedQuery, rawQuery } from '../../db/raw.js';
import { BadInputError } from '../../errors/app-error.js';
import type { AppServices } from '../../context/services.js';
import type { Viewer } from '../../context/viewer.js';
import { Gs1Error, isValidSerial, parseGtin, parseIdentifier } from '../../gs1/index.js';
import type { AlertMessage } from '../alerts/alert-bus.js';
import { type AlertFiring, type AlertRow, type AlertSubject, alertColumns, alertParams, alertsFromRows, alertUpsertCtes, alertUpsertFrom, FIRING_COLUMNS, FRAUD_ALERT_TOPIC, firingRow, raiseAlerts, UPSERTED_ALERTS } from '../alerts/alert.service.js';
import type { IOrganization } from '../organizations/organization.entity.js';
import { normaliseMarkets } from '../organizations/organization.service.js';
import { nfcTagService, parseSunInput, type SunInput } from '../nfc-tags/nfc-tag.service.js';
import type { IPassport } from '../passports/passport.entity.js';
import type { ProductModelView } from '../product-models/product-model.entity.js';
import type { ProductLink } from '../product-models/product-model.links.js';
import { validCoordinates } from './geo.js';
import { checkIdentity, type IdentityCheck } from './identity-check.js';
import { NfcSunError, parseSunQuery } from './nfc-sun.js';
import { coarsen, DEFAULT_LOCATION_DECIMALS, MINIMAL_NOT_APPLIED, scanHashKey, type ScanRecordingValue } from './scan-privacy.js';
import { effectiveMarkets, evaluateRules, type RecentScan, type ScanFacts, thresholdsFor, type UnitFacts, unknownUnitFacts, verdictFor } from './rules.js';
import type { VerdictValue } from './scan-event.entity.js';

export type ScanInput = {
  digitalLink?: string | null;
  gtin?: string | null;
  serial?: string | null;
  latitude?: number | null;
  longitude?: number | null;
  country?: string | null;
  deviceId?: string | null;
  /** An NFC SUN tap; also read from the Digital Link's `picc_data` and `cmac` parameters, as a tag writes them. */
  nfc?: SunInput | null;
  at?: Date | null;
};

/**
 * What a scan reads of its unit, model and brand: plain rows with the fields the rules, the GraphQL answer
 * and the resolver page use, not ORM entities (hydrating three entities per scan was a hot-path cost).
 */
export type ScannedPassport = Pick<IPassport, 'id' | 'gtin' | 'serial' | 'lot' | 'status' | 'signature' | 'kid'>;
export type ScannedModel = ProductModelView;
export type ScannedBrand = Pick<IOrganization, 'id' | 'name' | 'gs1CompanyPrefixes'>;

export type VerificationResult = {
  verdict: VerdictValue;
  reasons: string[];
  passport: ScannedPassport | null;
  model: ScannedModel | null;
  brand: ScannedBrand | null;
  alerts: AlertMessage[];
  scannedAt: Date;
  /** Rules the model's scan recording (MINIMAL) left out: they need facts it does not let us keep. */
  rulesNotApplied: readonly string[];
};

const MODEL_AND_BRAND = `m.id as model_id, m.gtin as model_gtin, m.name as model_name, m.category, m.warranty_months, m.authorised_markets,
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
const SCAN_COLUMNS = [
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
const READ_FIELDS = [
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

/** Another scan of the unit (or the client's probe of the GTIN) was recorded with the number this one was about to take. */
function isScanNumberTaken(e: unknown): boolean {
  // pg's error, or MikroORM's wrapper of it (which copies its fields).
  const { code, constraint } = (e ?? {}) as { code?: string; constraint?: string };
  return code === '23505' && (constraint === 'scan_event_passport_seq' || constraint === 'scan_event_probe_seq');
}

function bad(field: string, message: string): BadInputError {
  return new BadInputError(`${field}: ${message}`, { field });
}

/** Validates a scan and names the unit it claims to be; nothing is read or written yet. */
function parseScan(viewer: Viewer, input: ScanInput) {
  let gtin: string;
  let serial: string;
  let sig: string | undefined;
  let lot: string | undefined;
  try {
    if (input.digitalLink) {
      const id = parseIdentifier(input.digitalLink);
      ({ gtin, serial, sig, lot } = id);
    } else if (input.gtin && input.serial) {
      gtin = parseGtin(input.gtin);
      if (!isValidSerial(input.serial)) throw bad('serial', '1 to 20 characters of the GS1 AI 21 character set');
      serial = input.serial;
    } else {
      throw new BadInputError('Give digitalLink, or gtin and serial', { field: 'digitalLink' });
    }
  } catch (e) {
    if (e instanceof Gs1Error) throw bad(input.digitalLink ? 'digitalLink' : 'gtin', e.message);
    throw e;
  }
  const hasLat = input.latitude != null;
  const hasLon = input.longitude != null;
  if (hasLat !== hasLon) throw bad('latitude', 'latitude and longitude go together');
  if (hasLat && !validCoordinates(input.latitude, input.longitude)) throw bad('latitude', 'coordinates out of range');
  const country = input.country ? normaliseMarkets([input.country], 'country')[0]! : null;
  if (input.deviceId != null && (input.deviceId.length < 1 || input.deviceId.length > 200)) throw bad('deviceId', '1 to 200 characters');
  let at = new Date();
  if (input.at) {
    // A consumer's phone does not get to choose when it scanned; trusted systems replaying logs may.
    if (viewer.kind !== 'ORGANIZATION') throw bad('at', 'accepted only from organisation callers');
    if (Number.isNaN(input.at.getTime()) || input.at.getTime() > Date.now() + 5 * 60_000) throw bad('at', 'a valid time, not in the future');
    at = input.at;
  }
  const nfc = parseNfc(input);
  return { gtin, serial, lot, sig, lat: input.latitude ?? null, lon: input.longitude ?? null, country, deviceId: input.deviceId ?? null, nfc, at, live: !input.at };
}

/** The SUN message of a scan: `input.nfc`, or the `picc_data` / `cmac` a tag appended to the Digital Link (both: they must agree). */
function parseNfc(input: ScanInput): SunInput | null {
  const given = input.nfc ? parseSunInput(input.nfc) : null;
  const link = input.digitalLink && /[?&](?:picc_data|cmac)=/.test(input.digitalLink) ? input.digitalLink : null;
  if (!link) return given;
  let carried: SunInput;
  try {
    carried = parseSunQuery(link);
  } catch (e) {
    if (e instanceof NfcSunError) throw bad('digitalLink', `NFC SUN parameters: ${e.message}`);
    throw e;
  }
  if (given && (given.piccData !== carried.piccData || given.cmac !== carried.cmac)) throw bad('nfc', 'differs from the picc_data and cmac in digitalLink');
  return carried;
}

type FactsRow = { hour: number; lifetime: number; tamper: boolean; recent: { at: string; lat: number | null; lon: number | null; country: string | null }[] };
type Facts = { recent: RecentScan[]; lastHour: number; lifetime: number; probes: number; tamper: boolean };

/** The facts of an unknown serial: the client's probes of the GTIN (their highest number, and how many distinct serials). */
function probeFactsOf(counted: { lifetime?: number | null; probes?: number | null } | undefined): Facts {
  return { recent: [], lastHour: 0, lifetime: counted?.lifetime ?? 0, probes: counted?.probes ?? 1, tamper: false };
}

function factsOf(row: FactsRow | undefined): Facts {
  return {
    recent: (row?.recent ?? []).map((r) => ({ at: new Date(r.at), latitude: r.lat ?? undefined, longitude: r.lon ?? undefined, country: r.country ?? undefined })),
    lastHour: row?.hour ?? 0,
    lifetime: row?.lifetime ?? 0,
    probes: 0,
    tamper: row?.tamper ?? false,
  };
}

/** Scans of one unit and of one client, as the rules need them (the locked path). */
async function gatherFacts(em: EntityManager, passport: ScannedPassport | null, gtin: string, serial: string, clientKey: string, at: Date): Promise<Facts> {
  if (!passport) {
    const [probe] = await rawQuery<{ lifetime: number; probes: number }>(em, SCAN_SQL.probeFacts.text, [gtin, serial, clientKey, factWindow(at)[0]]);
    return probeFactsOf(probe);
  }
  // One round trip, run after the unit's lock is held, so it counts every scan committed before this one.
  const [row] = await rawQuery<FactsRow>(em, SCAN_SQL.unitFacts, [passport.id, ...factWindow(at)]);
  return factsOf(row);
}

type UnitRow = {
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

/**
 * The scanned unit, locked (`for no key update of p`: scans of it in this path count and group alerts exactly; it does not block
 * the key-share locks of foreign keys, which other writers of the unit take),
 * with its model, brand, batch markets and the status of the key that signed it: one statement instead
 * of a query per entity. For an identity never minted, the GTIN's model and brand, and the GTIN's
 * advisory lock (unknown serials of one GTIN are grouped on the GTIN, so they are serialised the same way).
 */
async function lockUnit(tx: EntityManager, gtin: string, serial: string): Promise<Looked> {
  const [unit] = await rawQuery<UnitRow>(tx, SCAN_SQL.lockUnit, [gtin, serial]);
  const row =
    unit ??
    // The lock function runs once per returned row: only when the GTIN is a registered model's.
    (await rawQuery<UnitRow>(
      tx,
      `select ${MODEL_AND_BRAND}, pg_advisory_xact_lock(hashtext($2)) as locked
       from product_model m join organization o on o.id = m.brand_id where m.gtin = $1`,
      [gtin, `gtin:${gtin}`],
    ))[0];
  return lookedOf(row);
}

type Looked = { passport: ScannedPassport | null; model: ScannedModel | null; brand: ScannedBrand | null; batchMarkets: string[]; keyStatus: string | null };

function lookedOf(row: UnitRow | undefined): Looked {
  if (!row?.model_id) return { passport: null, model: null, brand: null, batchMarkets: [], keyStatus: null };
  const passport: ScannedPassport | null = row.id
    ? { id: row.id, gtin: row.gtin!, serial: row.serial!, lot: row.lot ?? null, status: row.status!, signature: row.signature ?? null, kid: row.kid ?? null }
    : null;
  const model: ScannedModel = {
    id: row.model_id,
    gtin: row.model_gtin,
    name: row.model_name,
    category: row.category,
    warrantyMonths: row.warranty_months,
    authorisedMarkets: row.authorised_markets,
    maxLifetimeScans: row.max_lifetime_scans,
    scanRecording: row.scan_recording,
    scanLocationDecimals: row.scan_location_decimals,
    dpp: row.dpp,
    links: row.model_links,
    createdAt: new Date(row.model_created_at),
    brand: { id: row.brand_id },
  };
  const brand: ScannedBrand = { id: row.brand_id, name: row.brand_name, gs1CompanyPrefixes: row.gs1_company_prefixes };
  return { passport, model, brand, batchMarkets: row.destination_markets ?? [], keyStatus: row.key_status ?? null };
}

type ParsedScan = ReturnType<typeof parseScan>;
type Client = { key: string; deviceHash: string | null };

/** The rules on what was looked up: the findings, the verdict and its reasons. */
function decide(scan: ParsedScan, client: Client, looked: Looked, facts: Facts, identity: IdentityCheck, nfc: ScanFacts['nfc']) {
  const { passport, model } = looked;
  // MINIMAL: the rules see nothing of who or where either (no rule may put it in a reason or an alert).
  const minimal = model?.scanRecording === 'MINIMAL';
  const scanFacts: ScanFacts = {
    at: scan.at,
    ...(scan.lat != null && !minimal ? { latitude: scan.lat, longitude: scan.lon! } : {}),
    ...(scan.country && !minimal ? { country: scan.country } : {}),
    ...(client.deviceHash && !minimal ? { deviceHash: client.deviceHash } : {}),
    clientKey: client.key,
    signature: identity.signature,
    identityMismatch: identity.mismatch,
    nfc,
  };
  const unit: UnitFacts = passport
    ? {
        known: true,
        gtinKnown: true,
        status: passport.status,
        authorisedMarkets: effectiveMarkets(model?.authorisedMarkets ?? [], looked.batchMarkets),
        recentScans: minimal ? [] : facts.recent,
        scansLastHour: facts.lastHour + 1,
        lifetimeScans: facts.lifetime + 1,
        openTamperReport: facts.tamper,
      }
    : unknownUnitFacts(Boolean(model));
  const probes = minimal ? 1 : facts.probes;
  const findings = evaluateRules(scanFacts, unit, { distinctUnknownSerialsFromClientLastHour: probes }, thresholdsFor(model ?? {}));
  return { findings, notApplied: minimal ? MINIMAL_NOT_APPLIED : NONE, ...verdictFor(unit, scanFacts, findings) };
}

const NONE: readonly string[] = Object.freeze([]);

/**
 * The 15 parameters of the scan insert, minimised (README "Privacy"): coordinates rounded to the model's
 * precision (0.1° by default), hashes under the month's key; for a MINIMAL model no place, country, device
 * or client at all.
 */
function scanRow(scan: ParsedScan, client: Client, looked: Looked, seq: number, identity: IdentityCheck, verdict: VerdictValue, reasons: string[], channel: string): unknown[] {
  const model = looked.model;
  const id = newId();
  const passportId = looked.passport?.id ?? null;
  const at = scan.at.toISOString();
  if (model?.scanRecording === 'MINIMAL') return [id, passportId, seq, scan.gtin, scan.serial, at, null, null, null, null, null, channel, identity.signature, verdict, reasons];
  const decimals = model?.scanLocationDecimals ?? DEFAULT_LOCATION_DECIMALS;
  return [id, passportId, seq, scan.gtin, scan.serial, at, coarsen(scan.lat, decimals), coarsen(scan.lon, decimals), scan.country, client.deviceHash, client.key, channel, identity.signature, verdict, reasons];
}


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
function scanStatements(em: EntityManager): ScanStatements {
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

/**
 * Turns within this process (async-lock, keyed): scans of one identity (`unit:`) one at a time from read
 * to insert, so this process's scans of a unit never race each other for a number; inside that, scans of
 * one client's unknown serials of a GTIN (`probes:`, numbered together) from insert to insert. Unit first,
 * then probes.
 */
const scanTurns = new AsyncLock({ maxPending: Number.POSITIVE_INFINITY });

/** Decides and records a scan on what was read; null: another scan took its number and nothing was written. */
async function record(em: EntityManager, services: AppServices, scan: ParsedScan, client: Client, channel: string, looked: Looked, facts: Facts): Promise<VerificationResult | null> {
  const statements = scanStatements(em);
  const brandId = looked.brand?.id ?? null;
  const identity = await checkIdentity(em, looked.passport, looked.keyStatus, brandId, scan);
  const { findings, verdict, reasons, notApplied } = decide(scan, client, looked, facts, identity, null);
  const values = scanRow(scan, client, looked, facts.lifetime + 1, identity, verdict, reasons, channel);
  let alerts: AlertMessage[] = [];
  if (findings.length === 0 || !brandId) {
    if (!(await statements.insert(values))) return null;
  } else {
    const subject = { brandId, passportId: looked.passport?.id ?? null, gtin: scan.gtin, at: scan.at };
    const rows = await statements.insertWithAlerts({ values, subject, firings: findings });
    if (!rows) return null;
    alerts = alertsFromRows(rows, findings);
    services.outbox?.kick([FRAUD_ALERT_TOPIC]);
  }
  return { verdict, reasons, passport: looked.passport, model: looked.model, brand: looked.brand, alerts, scannedAt: scan.at, rulesNotApplied: notApplied };
}

/** The client's turn for its unknown serials of the scan's GTIN. */
const probeKey = (scan: ParsedScan, client: Client) => `probes:${scan.gtin}:${client.key}`;

/**
 * Probes this process recorded per client and GTIN (`written`), kept while any of that client's scans of the
 * GTIN is in flight (`inFlight`): a probe whose count moved since its read reads the client's probes again.
 */
const probesInFlight = new Map<string, { inFlight: number; written: number }>();

/**
 * The optimistic path (any scan but an NFC tap), in the identity's turn: read what the scan needs without a
 * lock, decide, and record the scan with its alerts numbered after the history it saw. An unknown serial is
 * numbered among its client's probes of the GTIN, so it is recorded in the client's probe turn, reading the
 * client's probes again if this process recorded one since its read. Nothing in this process then races it;
 * a scan that still loses its number lost it to another process, and `locked` records it under the
 * database's lock, still in its turns.
 */
async function recordOptimistically(
  em: EntityManager,
  services: AppServices,
  scan: ParsedScan,
  client: Client,
  channel: string,
  locked: () => Promise<VerificationResult>,
): Promise<VerificationResult> {
  const key = probeKey(scan, client);
  let probes = probesInFlight.get(key);
  if (!probes) probesInFlight.set(key, (probes = { inFlight: 0, written: 0 }));
  probes.inFlight++;
  try {
    return await scanTurns.acquire(`unit:${scan.gtin}:${scan.serial}`, async () => {
      // A live scan is stamped when its turn comes, so stamps follow the order scans are numbered in.
      if (scan.live) scan.at = new Date();
      const seen = probes.written;
      const [hourFrom, hourTo, dayFrom] = factWindow(scan.at);
      const row = await scanStatements(em).read({ gtin: scan.gtin, serial: scan.serial, hour_from: hourFrom!, hour_to: hourTo!, day_from: dayFrom!, client: client.key });
      const looked = lookedOf(row);
      if (looked.passport) return (await record(em, services, scan, client, channel, looked, factsOf(row))) ?? (await locked());
      return await scanTurns.acquire(key, async () => {
        let facts = probeFactsOf({ lifetime: row?.probe_lifetime, probes: row?.probes });
        if (probes.written !== seen) {
          if (scan.live) scan.at = new Date();
          const [again] = await preparedQuery<{ lifetime: number; probes: number }>(em, SCAN_SQL.probeFacts, [scan.gtin, scan.serial, client.key, factWindow(scan.at)[0]]);
          facts = probeFactsOf(again);
        }
        const recorded = (await record(em, services, scan, client, channel, looked, facts)) ?? (await locked());
        probes.written++;
        return recorded;
      });
    });
  } finally {
    if (--probes.inFlight === 0) probesInFlight.delete(key);
  }
}

/** How often the locked path starts again when an optimistic scan took its number (each try holds the unit's lock). */
const LOCKED_ATTEMPTS = 5;

/**
 * The locked path: a transaction holding the unit's lock (for an unknown serial, the GTIN's advisory lock)
 * reads the unit's history, decides and records the scan with its alerts. For NFC taps (their counter is
 * compared and advanced with the scan), scans inside a caller's transaction, and scans that lost their
 * number to another process.
 */
async function recordLocked(em: EntityManager, services: AppServices, scan: ParsedScan, client: Client, channel: string): Promise<VerificationResult> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await em.transactional(async (tx) => {
        const looked = await lockUnit(tx, scan.gtin, scan.serial);
        const { passport, brand } = looked;
        // A live scan is stamped once it holds the unit's lock, so stamps follow the order scans are counted in.
        if (scan.live) scan.at = new Date();
        const brandId = brand?.id ?? null;
        const identity = await checkIdentity(tx, passport, looked.keyStatus, brandId, scan);
        // Without a brand there is no key to check a tap against (and the verdict is UNKNOWN anyway).
        const nfc = scan.nfc && brandId ? await nfcTagService.checkTap(tx, services.masterKey, brandId, passport?.id ?? null, scan.nfc, scan.at) : null;
        const facts = await gatherFacts(tx, passport, scan.gtin, scan.serial, client.key, scan.at);
        const { findings, verdict, reasons, notApplied } = decide(scan, client, looked, facts, identity, nfc);
        await rawQuery(tx, SCAN_SQL.insertScan, scanRow(scan, client, looked, facts.lifetime + 1, identity, verdict, reasons, channel));
        const alerts = brandId ? await raiseAlerts(tx, { brandId, passportId: passport?.id ?? null, gtin: scan.gtin, at: scan.at }, findings) : [];
        return { verdict, reasons, passport, model: looked.model, brand, alerts, scannedAt: scan.at, rulesNotApplied: notApplied };
      });
    } catch (e) {
      // An optimistic scan of the unit in another process, which takes no lock, recorded the number this one read.
      if (attempt < LOCKED_ATTEMPTS && isScanNumberTaken(e)) continue;
      throw e;
    }
  }
}

/**
 * Verifies one scan in context: parse → look up → check the signature → evaluate the rules on the unit's
 * recent history → record the scan with its alerts (grouped into the open alert of the same kind) and
 * their outbox rows atomically → answer a verdict with reasons. A scan is recorded without a lock, in its
 * turns within the process (see `recordOptimistically`); an NFC tap, or a scan that lost its number to
 * another process, in a transaction holding the unit's lock (see `recordLocked`).
 */
export const verificationService = {
  async verifyScan(em: EntityManager, services: AppServices, viewer: Viewer, input: ScanInput, clientAddress: string, channel: 'GRAPHQL' | 'RESOLVER' = 'GRAPHQL'): Promise<VerificationResult> {
    const scan = parseScan(viewer, input);
    // The month's key (README "Privacy"): a live scan's month is read before its turn, which may be a moment later.
    const hashKey = scanHashKey(services.masterKey, scan.at);
    const keyed = (v: string) => createHmac('sha256', hashKey).update(v).digest('hex');
    const client: Client = { key: keyed(viewer.kind === 'ORGANIZATION' ? `key:${viewer.apiKeyId}` : `ip:${clientAddress}`), deviceHash: scan.deviceId ? keyed(`device:${scan.deviceId}`) : null };

    const locked = () => recordLocked(em, services, scan, client, channel);
    // (Inside a caller's transaction the scan joins it, locked: the optimistic statements run on a connection of their own.)
    return !scan.nfc && !em.getTransactionContext() ? recordOptimistically(em, services, scan, client, channel, locked) : locked();
  },
};
