import type { EntityManager } from '@mikro-orm/postgresql';
import { rawQuery } from '../../db/raw.js';
import { BadInputError } from '../../errors/app-error.js';
import { Gs1Error, isValidSerial, parseGtin } from '../../gs1/index.js';
import { normaliseMarkets } from '../organizations/organization.service.js';
import { allocateEntries, packEntries } from '../status-lists/status-list.service.js';
import { validBatteryMasses } from '../batteries/battery-mint.js';
import type { MintSite } from '../sites/site.service.js';
import { CARRIERS, type Carrier } from './passport.entity.js';

export const MAX_MINT_QUANTITY = 100_000;

export type MintInput = {
  gtin: string;
  quantity: number;
  lot?: string | null;
  site?: string | null;
  /** A registered manufacturing site of the brand (sites/site.service.ts); its identifier becomes `site`. */
  siteId?: string | null;
  carrier?: string | null;
  destinationMarkets?: string[] | null;
  manufacturedAt?: Date | null;
  idempotencyKey: string;
  /** Sign every unit with the brand's ACTIVE key in the same transaction (MINTED and SIGNED events). */
  sign?: boolean | null;
  /** Battery models only: each unit's own weight in kg, in mint order (batteries/battery-mint.ts). */
  batteryMasses?: number[] | null;
};

/** A GTIN of 8 to 14 digits as GTIN-14, or BAD_USER_INPUT naming the field. */
export function gtin14(value: string, field = 'gtin'): string {
  try {
    return parseGtin(value);
  } catch (e) {
    if (e instanceof Gs1Error) throw new BadInputError(`${field}: ${e.message}`, { field, reason: e.reason });
    throw e;
  }
}

/** A mint request checked and normalised, or BAD_USER_INPUT naming the first bad field. */
export function validateMint(input: MintInput) {
  const gtin = gtin14(input.gtin);
  if (!Number.isInteger(input.quantity) || input.quantity < 1 || input.quantity > MAX_MINT_QUANTITY) {
    throw new BadInputError(`quantity: must be a whole number from 1 to ${MAX_MINT_QUANTITY}`, { field: 'quantity' });
  }
  const lot = input.lot?.trim() || null;
  if (lot !== null && !isValidSerial(lot)) throw new BadInputError('lot: 1 to 20 characters of the GS1 AI 10 character set', { field: 'lot' });
  const site = input.site?.trim() || null;
  if (site !== null && site.length > 200) throw new BadInputError('site: at most 200 characters', { field: 'site' });
  const carrier = (input.carrier ?? 'QR') as Carrier;
  if (!CARRIERS.includes(carrier)) throw new BadInputError(`carrier: one of ${CARRIERS.join(', ')}`, { field: 'carrier' });
  const key = input.idempotencyKey.trim();
  if (key.length < 1 || key.length > 200) throw new BadInputError('idempotencyKey: 1 to 200 characters', { field: 'idempotencyKey' });
  const manufacturedAt = input.manufacturedAt ?? null;
  if (manufacturedAt && (Number.isNaN(manufacturedAt.getTime()) || manufacturedAt.getTime() > Date.now() + 86_400_000)) {
    throw new BadInputError('manufacturedAt: a valid time, not in the future', { field: 'manufacturedAt' });
  }
  const destinationMarkets = normaliseMarkets(input.destinationMarkets, 'destinationMarkets');
  const batteryMasses = validBatteryMasses(input.batteryMasses, input.quantity);
  const siteId = input.siteId?.trim() || null;
  return { gtin, quantity: input.quantity, lot, site, siteId, carrier, key, manufacturedAt, destinationMarkets, sign: input.sign === true, batteryMasses };
}

/**
 * The units' `site` text for a mint that names a registered site: its identifier, or the same text given again;
 * BAD_USER_INPUT when `site` says something else (two names for one place).
 */
export function siteTextFor(site: string | null, registered: MintSite | null): string | null {
  if (!registered) return site;
  if (site !== null && site !== registered.identifier) {
    throw new BadInputError(`site: the site named by siteId is "${registered.identifier}"; leave site out or give the same`, { field: 'site' });
  }
  return registered.identifier;
}

/**
 * Status list entries for a mint about to run (see {@link allocateEntries}); none when the request will
 * not mint: a replayed key or a GTIN that is not the brand's (checked again, authoritatively, in the mint).
 */
export async function statusEntriesFor(em: EntityManager, brandId: string, v: { gtin: string; key: string; quantity: number }) {
  const [check] = await rawQuery<{ mints: boolean }>(
    em,
    `select exists (select 1 from product_model where gtin = $3 and brand_id = $1)
        and not exists (select 1 from mint_batch where brand_id = $1 and idempotency_key = $2) as mints`,
    [brandId, v.key, v.gtin],
  );
  return packEntries(check?.mints ? await allocateEntries(em, brandId, v.quantity) : []);
}

