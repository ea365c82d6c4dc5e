import type { EntityManager } from '@mikro-orm/postgresql';
import { v7 as uuidv7 } from 'uuid';
import { deriveKey } from '../../crypto/master-key.js';
import { isUuid } from '../../db/ids.js';
import { rawQuery } from '../../db/raw.js';
import { BadInputError, ConflictError, ForbiddenError, NotFoundError } from '../../errors/app-error.js';
import { formatDigitalLink } from '../../gs1/index.js';
import type { Carrier, PassportStatus } from '../passports/passport.entity.js';
import { fileReadKey, isReplay, metaReadKey, NfcSunError, PICC_DATA_HEX_LENGTH, SDMMAC_HEX_LENGTH, UID_LENGTH, verifySunMessage } from '../verification/nfc-sun.js';
import type { NfcFacts } from '../verification/rules.js';
import type { RequestContext } from '../../context/request-context.js';

/** A SUN message as a tap delivers it (already checked to be well-formed hex by {@link parseSunInput}). */
export type SunInput = { piccData: string; cmac: string };

/**
 * What a tag-programming station needs to set up one tag for one unit. The keys are AES-128, hex.
 * `sdmMetaReadKey` is the brand's (one for all its tags: the UID is only known once PICC data is
 * decrypted with it); `sdmFileReadKey` is this tag's alone.
 */
export type NfcProvisioning = {
  passportId: string;
  uid: string;
  sdmMetaReadKey: string;
  sdmFileReadKey: string;
  sunUrl: string;
  lastCounter: number | null;
  provisionedAt: Date;
  /** False when the same tag was already bound to the same unit (an idempotent retry). */
  created: boolean;
};

/** Statuses after which a unit gets no new tag. */
const CLOSED: ReadonlySet<PassportStatus> = new Set(['REVOKED', 'END_OF_LIFE', 'RECYCLED']);
const HEX = /^[0-9A-Fa-f]+$/;
const PLACEHOLDER = { piccData: '0'.repeat(PICC_DATA_HEX_LENGTH), cmac: '0'.repeat(SDMMAC_HEX_LENGTH) };

/**
 * The brand's NFC master key: HKDF-SHA256 over the server master key, info `dpp:nfc-sun:<brandId>`,
 * 16 bytes. Tag keys come from it by NXP AN10922 diversification (see nfc-sun.ts): the SDMMetaReadKey
 * with purpose 0x01, each tag's SDMFileReadKey with its UID and purpose 0x02. Nothing is stored: the
 * same master key always yields the same keys, and rotating DPP_MASTER_KEY would orphan every tag.
 */
export function brandNfcMasterKey(masterKey: Uint8Array, brandId: string): Uint8Array {
  return new Uint8Array(deriveKey(masterKey, `nfc-sun:${brandId}`, 16));
}

type BrandKeys = { master: Uint8Array; metaRead: Uint8Array };
/** Per master key, per brand: HKDF and the meta-read diversification once, not on every tap. */
const brandKeyCache = new WeakMap<Uint8Array, Map<string, BrandKeys>>();
function brandKeys(masterKey: Uint8Array, brandId: string): BrandKeys {
  let byBrand = brandKeyCache.get(masterKey);
  if (!byBrand) brandKeyCache.set(masterKey, (byBrand = new Map()));
  let keys = byBrand.get(brandId);
  if (!keys) {
    const master = brandNfcMasterKey(masterKey, brandId);
    byBrand.set(brandId, (keys = { master, metaRead: metaReadKey(master) }));
  }
  return keys;
}

const hexUpper = (b: Uint8Array) => Buffer.from(b).toString('hex').toUpperCase();

/** A tag UID as NFC tools print it (any case, optionally with `:`, `-` or spaces between bytes) → 14 upper-case hex. */
export function parseUid(value: string): string {
  const compact = value.length <= 64 ? value.replace(/[\s:-]/g, '') : value;
  if (compact.length !== UID_LENGTH * 2 || !HEX.test(compact)) {
    throw new BadInputError(`uid: the tag's ${UID_LENGTH}-byte UID as ${UID_LENGTH * 2} hexadecimal characters`, { field: 'uid' });
  }
  return compact.toUpperCase();
}

/** Checks the shape of a SUN message (exact-length hex, either case) and normalises it to upper case. */
export function parseSunInput(input: SunInput, field = 'nfc'): SunInput {
  const check = (value: unknown, length: number, name: string, what: string) => {
    if (typeof value !== 'string' || value.length !== length || !HEX.test(value)) {
      throw new BadInputError(`${field}.${name}: ${length} hexadecimal characters (${what})`, { field: `${field}.${name}` });
    }
    return value.toUpperCase();
  };
  return {
    piccData: check(input.piccData, PICC_DATA_HEX_LENGTH, 'piccData', "the tag's encrypted picc_data"),
    cmac: check(input.cmac, SDMMAC_HEX_LENGTH, 'cmac', "the tag's truncated SDMMAC"),
  };
}

type PassportRow = { id: string; brand_id: string; gtin: string; serial: string; lot: string | null; signature: string | null; carrier: Carrier; status: PassportStatus };
type TagRow = { passport_id: string; uid: string; last_counter: number | null; provisioned_at: string };

/** NTAG 424 DNA tags: binding a tag to a unit (brands), and checking a tap against the binding and its counter. */
export const nfcTagService = {
  /**
   * Binds a tag (by UID) to one of the caller brand's units and answers what the tag programmer needs,
   * keys included: only this brand-only call ever returns keys. Idempotent for the same tag and unit;
   * a UID already bound to another of the brand's units, or a unit that already has another tag, is a
   * CONFLICT (unique indexes arbitrate concurrent calls). Units minted with carrier QR have no tag.
   */
  async provision(ctx: RequestContext, passportId: string, uidInput: string): Promise<NfcProvisioning> {
    const { em, services, viewer } = ctx;
    if (viewer.kind !== 'ORGANIZATION' || viewer.orgKind !== 'BRAND') throw new ForbiddenError('Only a BRAND organisation may bind NFC tags');
    const brandId = viewer.organizationId;
    const uid = parseUid(uidInput);
    if (!isUuid(passportId)) throw new NotFoundError('Passport', passportId);

    const { tag, created, unit } = await em.transactional(async (tx) => {
      const [p] = await rawQuery<PassportRow>(tx, 'select id, brand_id, gtin, serial, lot, signature, carrier, status from passport where id = $1 for share', [passportId]);
      // Another brand's unit is reported like a missing one.
      if (!p || p.brand_id !== brandId) throw new NotFoundError('Passport', passportId);
      if (p.carrier === 'QR') throw new BadInputError('passportId: this unit was minted with carrier QR, without an NFC tag (mint with NFC_SUN or QR_AND_NFC)', { field: 'passportId' });
      if (CLOSED.has(p.status)) throw new ConflictError(`Passport ${passportId} is ${p.status}: no tag can be bound to it`, { passportId, status: p.status });

      const [inserted] = await rawQuery<TagRow>(
        tx,
        `insert into nfc_tag (id, brand_id, passport_id, uid, last_counter, last_read_at, provisioned_at, provisioned_by)
         values ($1, $2, $3, $4, null, null, now(), $5)
         on conflict do nothing
         returning passport_id, uid, last_counter, provisioned_at::text`,
        [uuidv7(), brandId, passportId, uid, viewer.apiKeyId],
      );
      if (inserted) return { tag: inserted, created: true, unit: p };
      const existing = await rawQuery<TagRow>(
        tx,
        'select passport_id, uid, last_counter, provisioned_at::text from nfc_tag where (brand_id = $1 and uid = $2) or passport_id = $3',
        [brandId, uid, passportId],
      );
      const same = existing.find((r) => r.passport_id === passportId && r.uid === uid);
      if (same) return { tag: same, created: false, unit: p };
      if (existing.some((r) => r.uid === uid)) throw new ConflictError('uid: this tag is already bound to another unit', { field: 'uid' });
      throw new ConflictError('passportId: this unit already has another NFC tag', { field: 'passportId' });
    });

    const keys = brandKeys(services.masterKey, brandId);
    const link = formatDigitalLink({ host: services.config.resolverHost, gtin: unit.gtin, serial: unit.serial, lot: unit.lot ?? undefined, sig: unit.signature ?? undefined });
    return {
      passportId,
      uid,
      sdmMetaReadKey: hexUpper(keys.metaRead),
      sdmFileReadKey: hexUpper(fileReadKey(keys.master, Buffer.from(uid, 'hex'))),
      sunUrl: `${link}${link.includes('?') ? '&' : '?'}picc_data=${PLACEHOLDER.piccData}&cmac=${PLACEHOLDER.cmac}`,
      lastCounter: tag.last_counter,
      provisionedAt: new Date(tag.provisioned_at),
      created,
    };
  },

  /**
   * Checks one tap inside the scan's transaction: decrypt the PICC data with the brand's meta-read key,
   * verify the SDMMAC with the tag's own key, find the tag's binding (row-locked), and advance its
   * counter only for a valid, bound, strictly newer read. The update also carries the comparison
   * (`last_counter < $new`), so even without the lock two taps with one counter cannot both advance it.
   * Answers the facts the rules need; never throws for a forged or foreign tag (that is a verdict).
   */
  async checkTap(tx: EntityManager, masterKey: Uint8Array, brandId: string, passportId: string | null, sun: SunInput, at: Date): Promise<NfcFacts> {
    const keys = brandKeys(masterKey, brandId);
    let read: ReturnType<typeof verifySunMessage>;
    try {
      read = verifySunMessage({ piccData: sun.piccData, cmac: sun.cmac, keys: { metaRead: keys.metaRead, fileRead: (uid) => fileReadKey(keys.master, uid) } });
    } catch (e) {
      // TAG: the PICC data does not decrypt under this brand's key (forged, altered, or another brand's tag).
      if (e instanceof NfcSunError && e.reason !== 'FORMAT') return { valid: false, counter: 0, lastCounter: null };
      if (e instanceof NfcSunError) throw new BadInputError(`nfc: ${e.message}`, { field: 'nfc' });
      throw e;
    }
    if (!read.valid) return { valid: false, counter: read.readCounter, lastCounter: null };

    const [tag] = await rawQuery<{ id: string; passport_id: string; last_counter: number | null }>(
      tx,
      'select id, passport_id, last_counter from nfc_tag where brand_id = $1 and uid = $2 for update',
      [brandId, read.uid],
    );
    if (!tag) return { valid: false, counter: read.readCounter, lastCounter: null, binding: 'UNPROVISIONED' };
    if (tag.passport_id !== passportId) return { valid: false, counter: read.readCounter, lastCounter: null, binding: 'OTHER_UNIT' };
    if (isReplay(tag.last_counter, read.readCounter)) return { valid: true, counter: read.readCounter, lastCounter: tag.last_counter };
    const advanced = await rawQuery(
      tx,
      'update nfc_tag set last_counter = $2, last_read_at = $3 where id = $1 and (last_counter is null or last_counter < $2) returning id',
      [tag.id, read.readCounter, at.toISOString()],
    );
    // Not advanced: someone stored this counter (or a newer one) first, so this read is the replay.
    return { valid: true, counter: read.readCounter, lastCounter: advanced.length ? tag.last_counter : read.readCounter };
  },
};
