import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { v7 as uuidv7 } from 'uuid';
import { fromBase64Url, verify } from '../../crypto/ed25519.js';
import { deriveKey } from '../../crypto/master-key.js';
import { noteOutboxWrite, OUTBOX_TOPICS } from '../../db/outbox.js';
import { rawQuery } from '../../db/raw.js';
import { BadInputError } from '../../errors/app-error.js';
import type { AppServices, Viewer } from '../../graphql/context.js';
import { Gs1Error, isValidSerial, parseGtin, parseIdentifier } from '../../gs1/index.js';
import { FraudAlert, type IFraudAlert } from '../alerts/fraud-alert.entity.js';
import { SigningKey } from '../keys/signing-key.entity.js';
import { type IOrganization, Organization } from '../organizations/organization.entity.js';
import { normaliseMarkets } from '../organizations/organization.service.js';
import { identityBytes } from '../passports/identity.js';
import { nfcTagService, parseSunInput, type SunInput } from '../nfc-tags/nfc-tag.service.js';
import { type IPassport, MintBatch, Passport } from '../passports/passport.entity.js';
import { type IProductModel, ProductModel } from '../product-models/product-model.entity.js';
import { validCoordinates } from './geo.js';
import { NfcSunError, parseSunQuery } from './nfc-sun.js';
import { effectiveMarkets, evaluateRules, type Finding, type ScanFacts, type SignatureCheck, thresholdsFor, type UnitFacts, unknownUnitFacts, verdictFor } from './rules.js';
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

export type VerificationResult = {
  verdict: VerdictValue;
  reasons: string[];
  passport: IPassport | null;
  model: IProductModel | null;
  brand: IOrganization | null;
  alerts: IFraudAlert[];
  scannedAt: Date;
};

/** The HMAC key for client and device hashes, derived once per master key (not per scan: HKDF and key import are hot-path costs). */
const scanPeppers = new WeakMap<Uint8Array, KeyObject>();
function scanPepper(masterKey: Uint8Array): KeyObject {
  let key = scanPeppers.get(masterKey);
  if (!key) scanPeppers.set(masterKey, (key = createSecretKey(deriveKey(masterKey, 'scan-client'))));
  return key;
}

/** Topic of the outbox rows that announce new or grown alerts. */
export const FRAUD_ALERT_TOPIC = OUTBOX_TOPICS.fraudAlert;

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

/** Checks the carried signature. Equal to the stored one: valid with no arithmetic (the server holds the record). */
async function checkSignature(em: EntityManager, passport: IPassport | null, brandId: string | null, scan: { gtin: string; serial: string; sig?: string }): Promise<SignatureCheck> {
  const storedKid = passport?.kid ?? null;
  if (storedKid) {
    const key = await em.findOne(SigningKey, { kid: storedKid });
    if (key?.status === 'REVOKED') return 'REVOKED_KEY';
  }
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
async function gatherFacts(em: EntityManager, passport: IPassport | null, gtin: string, serial: string, clientKey: string, at: Date) {
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
  const recent = await rawQuery<{ scanned_at: string; latitude: number | null; longitude: number | null; country: string | null }>(
    em,
    `select scanned_at, latitude, longitude, country from scan_event where passport_id = $1 and scanned_at > $2 order by scanned_at desc limit 50`,
    [passport.id, new Date(at.getTime() - 86_400_000).toISOString()],
  );
  const [counts] = await rawQuery<{ hour: number; lifetime: number; tamper: boolean }>(
    em,
    // Scans within an hour of this one on either side: replayed logs (organisation callers' `at`) arrive out of order.
    `select (select count(*)::int from scan_event where passport_id = $1 and scanned_at > $2 and scanned_at < $3) as hour,
            (select count(*)::int from scan_event where passport_id = $1) as lifetime,
            exists (select 1 from lifecycle_event where passport_id = $1 and type = 'TAMPER_REPORTED') as tamper`,
    [passport.id, hourAgo.toISOString(), new Date(at.getTime() + 3_600_000).toISOString()],
  );
  return {
    recent: recent.map((r) => ({ at: new Date(r.scanned_at), latitude: r.latitude ?? undefined, longitude: r.longitude ?? undefined, country: r.country ?? undefined })),
    lastHour: counts?.hour ?? 0,
    lifetime: counts?.lifetime ?? 0,
    probes: 0,
    tamper: counts?.tamper ?? false,
  };
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
      // Lock the unit, so concurrent scans of it count and group alerts exactly.
      const [locked] = await rawQuery<{ id: string }>(tx, 'select id from passport where gtin = $1 and serial = $2 for update', [scan.gtin, scan.serial]);
      const passport = locked ? await tx.findOne(Passport, { id: locked.id }) : null;
      // A live scan is stamped once it holds the unit's lock, so stamps follow the order scans are counted in.
      if (!input.at) scan.at = new Date();
      const model = await tx.findOne(ProductModel, { gtin: scan.gtin });
      const brandId = model?.brand.id ?? null;
      const brand = brandId ? await tx.findOne(Organization, { id: brandId }) : null;
      if (!passport && model) {
        // Unknown serials of one GTIN are grouped on the GTIN: serialise them the same way.
        await rawQuery(tx, 'select pg_advisory_xact_lock(hashtext($1))', [`gtin:${scan.gtin}`]);
      }
      const signature = await checkSignature(tx, passport, brandId, scan);
      // Without a brand there is no key to check a tap against (and the verdict is UNKNOWN anyway).
      const nfc = scan.nfc && brandId ? await nfcTagService.checkTap(tx, services.masterKey, brandId, passport?.id ?? null, scan.nfc, scan.at) : null;
      const facts = await gatherFacts(tx, passport, scan.gtin, scan.serial, clientKey, scan.at);
      const batch = passport ? await tx.findOne(MintBatch, { id: passport.batch.id }) : null;

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
            authorisedMarkets: effectiveMarkets(model?.authorisedMarkets ?? [], batch?.destinationMarkets ?? []),
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
        `insert into scan_event (id, passport_id, gtin, serial, scanned_at, latitude, longitude, country, device_hash, client_key, channel,
           signature_check, verdict, reasons, created_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $14, $11, $12::verdict, $13::text[], now())`,
        [uuidv7(), passport?.id ?? null, scan.gtin, scan.serial, scan.at.toISOString(), scan.lat, scan.lon, scan.country, scanFacts.deviceHash ?? null, clientKey, signature, verdict, reasons, channel],
      );
      const alerts = brandId ? await upsertAlerts(tx, brandId, passport, scan.gtin, findings, scan.at) : [];
      return { verdict, reasons, passport, model, brand, alerts, scannedAt: scan.at };
    });
  },
};

/** Writes each finding into the open alert of its kind for the unit (or GTIN), and announces it in the outbox. */
async function upsertAlerts(tx: EntityManager, brandId: string, passport: IPassport | null, gtin: string, findings: Finding[], at: Date): Promise<IFraudAlert[]> {
  if (findings.length === 0) return [];
  const subject = passport ? passport.id : `gtin:${gtin}`;
  const ids: string[] = [];
  for (const f of findings) {
    // Postgres orders enum values as declared (LOW < … < CRITICAL), so greatest() keeps the worst severity.
    const [row] = await rawQuery<{ id: string }>(
      tx,
      `insert into fraud_alert (id, brand_id, passport_id, gtin, subject, kind, severity, status, evidence, count, first_seen_at, last_seen_at)
       values ($1, $2, $3, $4, $5, $6::alert_kind, $7::severity, 'OPEN', $8::jsonb, 1, $9, $9)
       on conflict (subject, kind) where status = 'OPEN' do update
         set count = fraud_alert.count + 1, last_seen_at = greatest(fraud_alert.last_seen_at, excluded.last_seen_at),
             severity = greatest(fraud_alert.severity, excluded.severity), evidence = excluded.evidence
       returning id`,
      [uuidv7(), brandId, passport?.id ?? null, gtin, subject, f.kind, f.severity, JSON.stringify(f.evidence), at.toISOString()],
    );
    ids.push(row!.id);
  }
  await rawQuery(
    tx,
    `insert into outbox_message (id, topic, payload, created_at) select u.id, $1, u.payload, now() from unnest($2::uuid[], $3::jsonb[]) as u(id, payload)`,
    [FRAUD_ALERT_TOPIC, ids.map(() => uuidv7()), ids.map((id) => JSON.stringify({ alertId: id, brandId }))],
  );
  noteOutboxWrite(tx);
  return tx.find(FraudAlert, { id: { $in: ids } }, { refresh: true });
}
