import { createHmac, type KeyObject } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { newId } from '../../crypto/random.js';
import { fromBase64Url, verify } from '../../crypto/ed25519.js';
import { derivedSecretKey } from '../../crypto/master-key.js';
import { preparedQuery, rawQuery } from '../../db/raw.js';
import { BadInputError } from '../../errors/app-error.js';
import type { AppServices, Viewer } from '../../graphql/context.js';
import { Gs1Error, isValidSerial, parseGtin, parseIdentifier } from '../../gs1/index.js';
import type { AlertMessage } from '../alerts/alert-bus.js';
import { type AlertRow, alertParams, alertsFromRows, alertUpsertCtes, FRAUD_ALERT_TOPIC, raiseAlerts, UPSERTED_ALERTS } from '../alerts/alert.service.js';
import { SigningKey } from '../keys/signing-key.entity.js';
import type { IOrganization } from '../organizations/organization.entity.js';
import { normaliseMarkets } from '../organizations/organization.service.js';
import { identityBytes } from '../passports/identity.js';
import { nfcTagService, parseSunInput, type SunInput } from '../nfc-tags/nfc-tag.service.js';
import type { IPassport } from '../passports/passport.entity.js';
import type { ProductModelView } from '../product-models/product-model.entity.js';
import { validCoordinates } from './geo.js';
import { NfcSunError, parseSunQuery } from './nfc-sun.js';
import { effectiveMarkets, evaluateRules, type RecentScan, type ScanFacts, type SignatureCheck, thresholdsFor, type UnitFacts, unknownUnitFacts, verdictFor } from './rules.js';
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
};

/** The HMAC key for client and device hashes. */
const scanPepper = (masterKey: Uint8Array): KeyObject => derivedSecretKey(masterKey, 'scan-client');

const MODEL_AND_BRAND = `m.id as model_id, m.gtin as model_gtin, m.name as model_name, m.category, m.warranty_months, m.authorised_markets,
  m.max_lifetime_scans, m.dpp, m.created_at::text as model_created_at, o.id as brand_id, o.name as brand_name, o.gs1_company_prefixes`;

/** A unit with its model, brand, batch markets and the status of the key that signed it. */
const UNIT_COLUMNS = `p.id, p.gtin, p.serial, p.lot, p.status, p.signature, p.kid, b.destination_markets, k.status as key_status, ${MODEL_AND_BRAND}`;
const UNIT_FROM = `passport p join product_model m on m.id = p.model_id join organization o on o.id = p.brand_id
       join mint_batch b on b.id = p.batch_id left join signing_key k on k.kid = p.kid`;

/**
 * What the rules need of a unit's history, for unit `id` with parameters from `$<from>`: the hour around
 * the scan (two bounds: replayed logs arrive out of order), a day before it. `lifetime` is the unit's
 * highest scan number (scans are numbered 1, 2, 3…: see `ScanEvent.seq`), so an index probe, not a count.
 */
function factsColumns(id: string, from: number): string {
  const [hourFrom, hourTo, dayFrom] = [`$${from}`, `$${from + 1}`, `$${from + 2}`];
  return `(select count(*)::int from scan_event where passport_id = ${id} and scanned_at > ${hourFrom} and scanned_at < ${hourTo}) as hour,
       (select coalesce(max(seq), 0) from scan_event where passport_id = ${id}) as lifetime,
       exists (select 1 from lifecycle_event where passport_id = ${id} and type = 'TAMPER_REPORTED') as tamper,
       (select coalesce(jsonb_agg(jsonb_build_object('at', r.scanned_at, 'lat', r.latitude, 'lon', r.longitude, 'country', r.country)), '[]'::jsonb)
          from (select scanned_at, latitude, longitude, country from scan_event where passport_id = ${id} and scanned_at > ${dayFrom}
                order by scanned_at desc limit 50) r) as recent`;
}

/** $1 id, $2 passport id, $3 its scan number, $4 gtin, $5 serial, $6 time, $7..$9 where, $10 device, $11 client, $12 channel, $13..$15 result. */
const INSERT_SCAN = `insert into scan_event (id, passport_id, seq, gtin, serial, scanned_at, latitude, longitude, country, device_hash, client_key, channel,
       signature_check, verdict, reasons, created_at)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14::verdict, $15::text[], now())`;

/** The highest number among a client's scans of unknown serials of a GTIN ($1 gtin, `client` its parameter). */
const probeLifetime = (client: string) => `(select coalesce(max(seq), 0) from scan_event where passport_id is null and gtin = $1 and client_key = ${client})`;
/** Distinct unknown serials of GTIN $1 the client probed since `since`, counting this scan's serial $2 once. */
const probes = (client: string, since: string) =>
  `(select count(distinct serial)::int from scan_event where passport_id is null and gtin = $1 and client_key = ${client} and scanned_at > ${since} and serial <> $2) + 1`;

/**
 * The statements of a scan. Exported so the benchmark's SQL limit runs exactly these.
 *
 * A scan first runs `read` and `insertScan` (or `insertScanWithAlerts`): two statements and no
 * transaction. The read takes no lock, and the insert carries the number after the last scan the read saw
 * (of the unit, or for an unknown serial of the client's unknown serials of the GTIN), so if another such
 * scan was recorded in between, a unique index refuses it and nothing is written; that scan (and every NFC
 * tap) then takes the locked path: BEGIN, `lockUnit`, `unitFacts` (or the probe count), the insert, COMMIT.
 */
export const SCAN_SQL = {
  /**
   * What a scan needs, in one snapshot, nothing locked: the unit with its model, brand, batch markets,
   * signing-key status and history; for an identity never minted, the GTIN's model and brand (if any) and
   * the client's probes. Always one row. $1 gtin, $2 serial, $3..$4 the hour around the scan, $5 a day
   * before it, $6 the client key.
   */
  read: {
    name: 'dpp_scan_read',
    text: `select ${UNIT_COLUMNS},
       case when p.id is null then ${probeLifetime('$6')} end as probe_lifetime,
       case when p.id is null and m.id is not null then ${probes('$6', '$3')} end as probes,
       f.*
     from (select 1) one
       left join passport p on p.gtin = $1 and p.serial = $2
       left join product_model m on m.gtin = $1 left join organization o on o.id = m.brand_id
       left join mint_batch b on b.id = p.batch_id left join signing_key k on k.kid = p.kid
       left join lateral (select ${factsColumns('p.id', 3)}) f on p.id is not null`,
  },
  /** $1 gtin, $2 serial. */
  lockUnit: `select ${UNIT_COLUMNS} from ${UNIT_FROM} where p.gtin = $1 and p.serial = $2 for no key update of p`,
  /** $1 passport id, $2..$3 the hour around the scan, $4 a day before it. Run after the unit's lock is held (a statement's snapshot is taken when it starts). */
  unitFacts: `select ${factsColumns('$1', 2)}`,
  /** $1 gtin, $2 serial, $3 the client key, $4 an hour before the scan. Run after the GTIN's advisory lock is held. */
  probeFacts: `select ${probeLifetime('$3')} as lifetime, ${probes('$3', '$4')} as probes`,
  insertScan: { name: 'dpp_scan_insert', text: INSERT_SCAN },
  /** The insert, then the alerts of its findings and their outbox rows (parameters from $16: see `alertParams`), in one statement. */
  insertScanWithAlerts: { name: 'dpp_scan_insert_alerts', text: `with scan as (${INSERT_SCAN} returning 1), ${alertUpsertCtes(16, 'scan')} select ${UPSERTED_ALERTS} from upserted` },
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
  try {
    if (input.digitalLink) {
      const id = parseIdentifier(input.digitalLink);
      ({ gtin, serial, sig } = id);
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
  return { gtin, serial, sig, lat: input.latitude ?? null, lon: input.longitude ?? null, country, deviceId: input.deviceId ?? null, nfc, at };
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

/**
 * Checks the carried signature. Equal to the stored one: valid with no arithmetic (the server holds the
 * record); `storedKeyStatus` is the status of the key that made the stored signature, read with the unit.
 */
async function checkSignature(em: EntityManager, passport: ScannedPassport | null, storedKeyStatus: string | null, brandId: string | null, scan: { gtin: string; serial: string; sig?: string }): Promise<SignatureCheck> {
  if (storedKeyStatus === 'REVOKED') return 'REVOKED_KEY';
  if (!scan.sig) return 'ABSENT';
  if (passport?.signature && passport.signature === scan.sig) return 'VALID';
  if (!brandId) return 'INVALID';
  let signature: Uint8Array;
  try {
    signature = fromBase64Url(scan.sig);
  } catch {
    return 'INVALID';
  }
  const message = identityBytes({ gtin: scan.gtin, serial: scan.serial, lot: passport?.lot });
  for (const key of await em.find(SigningKey, { brand: brandId })) {
    if (verify(signature, message, Buffer.from(key.publicKey, 'base64url'))) return key.status === 'REVOKED' ? 'REVOKED_KEY' : 'VALID';
  }
  return 'INVALID';
}

type FactsRow = { hour: number; lifetime: number; tamper: boolean; recent: { at: string; lat: number | null; lon: number | null; country: string | null }[] };
type Facts = { recent: RecentScan[]; lastHour: number; lifetime: number; probes: number; tamper: boolean };

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
    const [probe] = await rawQuery<{ lifetime: number; probes: number }>(em, SCAN_SQL.probeFacts, [gtin, serial, clientKey, factWindow(at)[0]]);
    return { recent: [], lastHour: 0, lifetime: probe?.lifetime ?? 0, probes: probe?.probes ?? 1, tamper: false };
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
  dpp: Record<string, unknown> | null;
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
    dpp: row.dpp,
    createdAt: new Date(row.model_created_at),
    brand: { id: row.brand_id },
  };
  const brand: ScannedBrand = { id: row.brand_id, name: row.brand_name, gs1CompanyPrefixes: row.gs1_company_prefixes };
  return { passport, model, brand, batchMarkets: row.destination_markets ?? [], keyStatus: row.key_status ?? null };
}

type ParsedScan = ReturnType<typeof parseScan>;
type Client = { key: string; deviceHash: string | null };

/** The rules on what was looked up: the findings, the verdict and its reasons. */
function decide(scan: ParsedScan, client: Client, looked: Looked, facts: Facts, signature: SignatureCheck, nfc: ScanFacts['nfc']) {
  const { passport, model } = looked;
  const scanFacts: ScanFacts = {
    at: scan.at,
    ...(scan.lat != null ? { latitude: scan.lat, longitude: scan.lon! } : {}),
    ...(scan.country ? { country: scan.country } : {}),
    ...(client.deviceHash ? { deviceHash: client.deviceHash } : {}),
    clientKey: client.key,
    signature,
    nfc,
  };
  const unit: UnitFacts = passport
    ? {
        known: true,
        gtinKnown: true,
        status: passport.status,
        authorisedMarkets: effectiveMarkets(model?.authorisedMarkets ?? [], looked.batchMarkets),
        recentScans: facts.recent,
        scansLastHour: facts.lastHour + 1,
        lifetimeScans: facts.lifetime + 1,
        openTamperReport: facts.tamper,
      }
    : unknownUnitFacts(Boolean(model));
  const findings = evaluateRules(scanFacts, unit, { distinctUnknownSerialsFromClientLastHour: facts.probes }, thresholdsFor(model ?? {}));
  return { findings, ...verdictFor(unit, scanFacts, findings) };
}

/** The 15 parameters of the scan insert. */
function scanRow(scan: ParsedScan, client: Client, looked: Looked, seq: number, signature: SignatureCheck, verdict: VerdictValue, reasons: string[], channel: string): unknown[] {
  return [newId(), looked.passport?.id ?? null, seq, scan.gtin, scan.serial, scan.at.toISOString(), scan.lat, scan.lon, scan.country, client.deviceHash, client.key, channel, signature, verdict, reasons];
}

/**
 * The optimistic path (any scan but an NFC tap): read what the scan needs without a lock, decide, and record
 * the scan with its alerts in one statement numbered after the history it saw. Answers null, having written
 * nothing, when another scan took that number in between: the locked path then takes over.
 */
async function recordOptimistically(em: EntityManager, services: AppServices, scan: ParsedScan, client: Client, channel: string): Promise<VerificationResult | null> {
  const [row] = await preparedQuery<UnitRow & FactsRow & { probe_lifetime: number | null; probes: number | null }>(em, SCAN_SQL.read, [
    scan.gtin,
    scan.serial,
    ...factWindow(scan.at),
    client.key,
  ]);
  const looked = lookedOf(row);
  const facts: Facts = looked.passport ? factsOf(row) : { recent: [], lastHour: 0, lifetime: row?.probe_lifetime ?? 0, probes: row?.probes ?? 1, tamper: false };
  const brandId = looked.brand?.id ?? null;
  const signature = await checkSignature(em, looked.passport, looked.keyStatus, brandId, scan);
  const { findings, verdict, reasons } = decide(scan, client, looked, facts, signature, null);
  const values = scanRow(scan, client, looked, facts.lifetime + 1, signature, verdict, reasons, channel);
  let alerts: AlertMessage[] = [];
  try {
    if (findings.length === 0 || !brandId) {
      await preparedQuery(em, SCAN_SQL.insertScan, values);
    } else {
      const subject = { brandId, passportId: looked.passport?.id ?? null, gtin: scan.gtin, at: scan.at };
      const rows = await preparedQuery<AlertRow>(em, SCAN_SQL.insertScanWithAlerts, [...values, ...alertParams(subject, findings)]);
      alerts = alertsFromRows(rows, findings);
      services.outbox?.kick([FRAUD_ALERT_TOPIC]);
    }
  } catch (e) {
    if (isScanNumberTaken(e)) return null;
    throw e;
  }
  return { verdict, reasons, passport: looked.passport, model: looked.model, brand: looked.brand, alerts, scannedAt: scan.at };
}

/** How often the locked path starts again when an optimistic scan took its number (each try holds the unit's lock). */
const LOCKED_ATTEMPTS = 5;

/**
 * Verifies one scan in context: parse → look up → check the signature → evaluate the rules on the unit's
 * recent history → record the scan with its alerts (grouped into the open alert of the same kind) and
 * their outbox rows atomically → answer a verdict with reasons. A scan is first tried without a lock
 * (two statements); an NFC tap (its counter is compared and advanced with the scan) or a scan that lost
 * the race for its number runs in a transaction holding the unit's lock (for an unknown serial, the GTIN's).
 */
export const verificationService = {
  async verifyScan(em: EntityManager, services: AppServices, viewer: Viewer, input: ScanInput, clientAddress: string, channel: 'GRAPHQL' | 'RESOLVER' = 'GRAPHQL'): Promise<VerificationResult> {
    const scan = parseScan(viewer, input);
    const pepper = scanPepper(services.masterKey);
    const keyed = (v: string) => createHmac('sha256', pepper).update(v).digest('hex');
    const client: Client = { key: keyed(viewer.kind === 'ORGANIZATION' ? `key:${viewer.apiKeyId}` : `ip:${clientAddress}`), deviceHash: scan.deviceId ? keyed(`device:${scan.deviceId}`) : null };

    // (Inside a caller's transaction the scan joins it, locked: the optimistic statements run on a connection of their own.)
    if (!scan.nfc && !em.getTransactionContext()) {
      const recorded = await recordOptimistically(em, services, scan, client, channel);
      if (recorded) return recorded;
    }
    for (let attempt = 1; ; attempt++) {
      try {
        return await em.transactional(async (tx) => {
          const looked = await lockUnit(tx, scan.gtin, scan.serial);
          const { passport, brand } = looked;
          // A live scan is stamped once it holds the unit's lock, so stamps follow the order scans are counted in.
          if (!input.at) scan.at = new Date();
          const brandId = brand?.id ?? null;
          const signature = await checkSignature(tx, passport, looked.keyStatus, brandId, scan);
          // Without a brand there is no key to check a tap against (and the verdict is UNKNOWN anyway).
          const nfc = scan.nfc && brandId ? await nfcTagService.checkTap(tx, services.masterKey, brandId, passport?.id ?? null, scan.nfc, scan.at) : null;
          const facts = await gatherFacts(tx, passport, scan.gtin, scan.serial, client.key, scan.at);
          const { findings, verdict, reasons } = decide(scan, client, looked, facts, signature, nfc);
          await rawQuery(tx, SCAN_SQL.insertScan.text, scanRow(scan, client, looked, facts.lifetime + 1, signature, verdict, reasons, channel));
          const alerts = brandId ? await raiseAlerts(tx, { brandId, passportId: passport?.id ?? null, gtin: scan.gtin, at: scan.at }, findings) : [];
          return { verdict, reasons, passport, model: looked.model, brand, alerts, scannedAt: scan.at };
        });
      } catch (e) {
        // An optimistic scan of the unit, which takes no lock, recorded the number this one read.
        if (attempt < LOCKED_ATTEMPTS && isScanNumberTaken(e)) continue;
        throw e;
      }
    }
  },
};
