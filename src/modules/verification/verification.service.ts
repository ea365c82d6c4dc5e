import { createHmac, type KeyObject } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { newId } from '../../crypto/random.js';
import { fromBase64Url, verify } from '../../crypto/ed25519.js';
import { derivedSecretKey } from '../../crypto/master-key.js';
import { rawQuery } from '../../db/raw.js';
import { BadInputError } from '../../errors/app-error.js';
import type { AppServices, Viewer } from '../../graphql/context.js';
import { Gs1Error, isValidSerial, parseGtin, parseIdentifier } from '../../gs1/index.js';
import { raiseAlerts } from '../alerts/alert.service.js';
import type { IFraudAlert } from '../alerts/fraud-alert.entity.js';
import { SigningKey } from '../keys/signing-key.entity.js';
import type { IOrganization } from '../organizations/organization.entity.js';
import { normaliseMarkets } from '../organizations/organization.service.js';
import { identityBytes } from '../passports/identity.js';
import { nfcTagService, parseSunInput, type SunInput } from '../nfc-tags/nfc-tag.service.js';
import type { IPassport } from '../passports/passport.entity.js';
import type { ProductModelView } from '../product-models/product-model.entity.js';
import { validCoordinates } from './geo.js';
import { NfcSunError, parseSunQuery } from './nfc-sun.js';
import { effectiveMarkets, evaluateRules, type ScanFacts, type SignatureCheck, thresholdsFor, type UnitFacts, unknownUnitFacts, verdictFor } from './rules.js';
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
  alerts: IFraudAlert[];
  scannedAt: Date;
};

/** The HMAC key for client and device hashes. */
const scanPepper = (masterKey: Uint8Array): KeyObject => derivedSecretKey(masterKey, 'scan-client');

const MODEL_AND_BRAND = `m.id as model_id, m.gtin as model_gtin, m.name as model_name, m.category, m.warranty_months, m.authorised_markets,
  m.max_lifetime_scans, m.dpp, m.created_at::text as model_created_at, o.id as brand_id, o.name as brand_name, o.gs1_company_prefixes`;

/**
 * The statements of a scan of a known unit, besides BEGIN and COMMIT (and, when rules fire, one alert
 * upsert). Exported so the benchmark's SQL limit runs exactly these.
 */
export const SCAN_SQL = {
  /** $1 gtin, $2 serial. */
  lockUnit: `select p.id, p.gtin, p.serial, p.lot, p.status, p.signature, p.kid, b.destination_markets, k.status as key_status, ${MODEL_AND_BRAND}
     from passport p join product_model m on m.id = p.model_id join organization o on o.id = p.brand_id
       join mint_batch b on b.id = p.batch_id left join signing_key k on k.kid = p.kid
     where p.gtin = $1 and p.serial = $2
     for update of p`,
  /** $1 passport id, $2..$3 the hour around the scan, $4 a day before it. */
  unitFacts: `select (select count(*)::int from scan_event where passport_id = $1 and scanned_at > $2 and scanned_at < $3) as hour,
       (select count(*)::int from scan_event where passport_id = $1) as lifetime,
       exists (select 1 from lifecycle_event where passport_id = $1 and type = 'TAMPER_REPORTED') as tamper,
       (select coalesce(jsonb_agg(jsonb_build_object('at', r.scanned_at, 'lat', r.latitude, 'lon', r.longitude, 'country', r.country)), '[]'::jsonb)
          from (select scanned_at, latitude, longitude, country from scan_event where passport_id = $1 and scanned_at > $4
                order by scanned_at desc limit 50) r) as recent`,
  insertScan: `insert into scan_event (id, passport_id, gtin, serial, scanned_at, latitude, longitude, country, device_hash, client_key, channel,
       signature_check, verdict, reasons, created_at)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $14, $11, $12::verdict, $13::text[], now())`,
} as const;

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

/** Scans of one unit and of one client, as the rules need them. */
async function gatherFacts(em: EntityManager, passport: ScannedPassport | null, gtin: string, serial: string, clientKey: string, at: Date) {
  const hourAgo = new Date(at.getTime() - 3_600_000);
  if (!passport) {
    const [probe] = await rawQuery<{ n: number }>(
      em,
      `select count(*)::int as n from (select serial from scan_event where passport_id is null and gtin = $1 and client_key = $2
         and scanned_at > $3 union select $4) t`,
      [gtin, clientKey, hourAgo.toISOString(), serial],
    );
    return { recent: [], lastHour: 0, lifetime: 0, probes: probe?.n ?? 1, tamper: false };
  }
  type Recent = { at: string; lat: number | null; lon: number | null; country: string | null };
  // One round trip. Run after the unit's lock is held (a statement's snapshot is taken when it starts),
  // so it counts every scan committed before this one.
  const [counts] = await rawQuery<{ hour: number; lifetime: number; tamper: boolean; recent: Recent[] }>(
    em,
    // Scans within an hour of this one on either side: replayed logs (organisation callers' `at`) arrive out of order.
    SCAN_SQL.unitFacts,
    [passport.id, hourAgo.toISOString(), new Date(at.getTime() + 3_600_000).toISOString(), new Date(at.getTime() - 86_400_000).toISOString()],
  );
  return {
    recent: (counts?.recent ?? []).map((r) => ({ at: new Date(r.at), latitude: r.lat ?? undefined, longitude: r.lon ?? undefined, country: r.country ?? undefined })),
    lastHour: counts?.hour ?? 0,
    lifetime: counts?.lifetime ?? 0,
    probes: 0,
    tamper: counts?.tamper ?? false,
  };
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
 * The scanned unit, locked (`for update of p`, so concurrent scans of it count and group alerts exactly),
 * with its model, brand, batch markets and the status of the key that signed it: one statement instead
 * of a query per entity. For an identity never minted, the GTIN's model and brand, and the GTIN's
 * advisory lock (unknown serials of one GTIN are grouped on the GTIN, so they are serialised the same way).
 */
async function lockUnit(tx: EntityManager, gtin: string, serial: string) {
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
  if (!row) return { passport: null, model: null, brand: null, batchMarkets: [], keyStatus: null };
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

/**
 * Verifies one scan in context: parse → look up → check the signature → record the scan → evaluate the
 * rules on the unit's recent history → persist alerts (grouped into the open alert of the same kind)
 * and their outbox rows in the same transaction → answer a verdict with reasons.
 */
export const verificationService = {
  async verifyScan(em: EntityManager, services: AppServices, viewer: Viewer, input: ScanInput, clientAddress: string, channel: 'GRAPHQL' | 'RESOLVER' = 'GRAPHQL'): Promise<VerificationResult> {
    const scan = parseScan(viewer, input);
    const pepper = scanPepper(services.masterKey);
    const keyed = (v: string) => createHmac('sha256', pepper).update(v).digest('hex');
    const clientKey = keyed(viewer.kind === 'ORGANIZATION' ? `key:${viewer.apiKeyId}` : `ip:${clientAddress}`);

    return em.transactional(async (tx) => {
      const { passport, model, brand, batchMarkets, keyStatus } = await lockUnit(tx, scan.gtin, scan.serial);
      // A live scan is stamped once it holds the unit's lock, so stamps follow the order scans are counted in.
      if (!input.at) scan.at = new Date();
      const brandId = brand?.id ?? null;
      const signature = await checkSignature(tx, passport, keyStatus, brandId, scan);
      // Without a brand there is no key to check a tap against (and the verdict is UNKNOWN anyway).
      const nfc = scan.nfc && brandId ? await nfcTagService.checkTap(tx, services.masterKey, brandId, passport?.id ?? null, scan.nfc, scan.at) : null;
      const facts = await gatherFacts(tx, passport, scan.gtin, scan.serial, clientKey, scan.at);

      const scanFacts: ScanFacts = {
        at: scan.at,
        ...(scan.lat != null ? { latitude: scan.lat, longitude: scan.lon! } : {}),
        ...(scan.country ? { country: scan.country } : {}),
        ...(scan.deviceId ? { deviceHash: keyed(`device:${scan.deviceId}`) } : {}),
        clientKey,
        signature,
        nfc,
      };
      const unit: UnitFacts = passport
        ? {
            known: true,
            gtinKnown: true,
            status: passport.status,
            authorisedMarkets: effectiveMarkets(model?.authorisedMarkets ?? [], batchMarkets),
            recentScans: facts.recent,
            scansLastHour: facts.lastHour + 1,
            lifetimeScans: facts.lifetime + 1,
            openTamperReport: facts.tamper,
          }
        : unknownUnitFacts(Boolean(model));
      const findings = evaluateRules(scanFacts, unit, { distinctUnknownSerialsFromClientLastHour: facts.probes }, thresholdsFor(model ?? {}));
      const { verdict, reasons } = verdictFor(unit, scanFacts, findings);

      await rawQuery(
        tx,
        SCAN_SQL.insertScan,
        [newId(), passport?.id ?? null, scan.gtin, scan.serial, scan.at.toISOString(), scan.lat, scan.lon, scan.country, scanFacts.deviceHash ?? null, clientKey, signature, verdict, reasons, channel],
      );
      const alerts = brandId ? await raiseAlerts(tx, { brandId, passportId: passport?.id ?? null, gtin: scan.gtin, at: scan.at }, findings) : [];
      return { verdict, reasons, passport, model, brand, alerts, scannedAt: scan.at };
    });
  },
};
