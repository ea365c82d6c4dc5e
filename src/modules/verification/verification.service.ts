import { createHmac } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import AsyncLock from 'async-lock';
import type { RequestContext } from '../../context/request-context.js';
import type { AppServices } from '../../context/services.js';
import { newId } from '../../crypto/random.js';
import { preparedQuery, rawQuery } from '../../db/raw.js';
import type { AlertMessage } from '../alerts/alert-bus.js';
import { alertsFromRows, FRAUD_ALERT_TOPIC, raiseAlerts } from '../alerts/alert.service.js';
import { nfcTagService } from '../nfc-tags/nfc-tag.service.js';
import type { IOrganization } from '../organizations/organization.entity.js';
import type { IPassport } from '../passports/passport.entity.js';
import type { ProductModelView } from '../product-models/product-model.entity.js';
import { checkIdentity, type IdentityCheck } from './identity-check.js';
import { effectiveMarkets, evaluateRules, type RecentScan, type ScanFacts, thresholdsFor, type UnitFacts, unknownUnitFacts, verdictFor } from './rules.js';
import { scanStatements } from './scan-batches.js';
import type { VerdictValue } from './scan-event.entity.js';
import { type ParsedScan, parseScan, type ScanInput } from './scan-input.js';
import { coarsen, DEFAULT_LOCATION_DECIMALS, MINIMAL_NOT_APPLIED, scanHashKey } from './scan-privacy.js';
import { factWindow, type FactsRow, MODEL_AND_BRAND, SCAN_SQL, type UnitRow } from './scan-sql.js';

export type { ScanInput } from './scan-input.js';

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

/** Another scan of the unit (or the client's probe of the GTIN) was recorded with the number this one was about to take. */
function isScanNumberTaken(e: unknown): boolean {
  // pg's error, or MikroORM's wrapper of it (which copies its fields).
  const { code, constraint } = (e ?? {}) as { code?: string; constraint?: string };
  return code === '23505' && (constraint === 'scan_event_passport_seq' || constraint === 'scan_event_probe_seq');
}

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
  async verifyScan(ctx: RequestContext, input: ScanInput, channel: 'GRAPHQL' | 'RESOLVER' = 'GRAPHQL'): Promise<VerificationResult> {
    const { em, services, viewer, clientAddress } = ctx;
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
