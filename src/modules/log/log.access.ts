import type { Context } from '../../context/request-context.js';
import { isUuid } from '../../db/ids.js';
import { rawQuery } from '../../db/raw.js';
import { mayReadAt } from '../passports/passport.access.js';

/**
 * Whether the caller may know of a history event of this unit: exactly who may read the unit's history
 * today (its brand, the authorities and the platform, audited as history reads are; its current owner).
 */
export async function mayReadEvent(ctx: Context, passportId: string, what: string): Promise<boolean> {
  const [unit] = await rawQuery<{ brand_id: string }>(ctx.em, 'select brand_id from passport where id = $1', [passportId]);
  if (!unit) return false;
  return mayReadAt(ctx, { id: passportId, brandId: unit.brand_id }, 'AUTHORITY', what, { owner: true });
}

/** A history event's unit and hash, or undefined (also for a malformed id). */
export async function eventUnit(ctx: Context, eventId: string): Promise<{ passport_id: string; hash: string } | undefined> {
  if (!isUuid(eventId)) return undefined;
  const [row] = await rawQuery<{ passport_id: string; hash: string }>(ctx.em, 'select passport_id, hash from lifecycle_event where id = $1', [eventId]);
  return row;
}
