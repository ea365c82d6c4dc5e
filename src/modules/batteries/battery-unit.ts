import type { EntityManager } from '@mikro-orm/postgresql';
import { isUuid } from '../../db/ids.js';
import { rawQuery } from '../../db/raw.js';
import { BadInputError, ForbiddenError, NotFoundError } from '../../errors/app-error.js';
import type { Viewer } from '../../context/viewer.js';
import { OPERATOR_KINDS, type OrgKind } from '../organizations/organization.entity.js';
import type { PassportStatus } from '../passports/passport.entity.js';
import type { BatteryStatus } from './battery.entity.js';

/** The calling organisation, or FORBIDDEN for anyone else (owners, anonymous callers). */
export function orgOf(viewer: Viewer): { organizationId: string; orgKind: OrgKind } {
  if (viewer.kind !== 'ORGANIZATION') throw new ForbiddenError('Only an organisation may do this');
  return viewer;
}

/** A passport id as stored (lower case); NOT_FOUND for anything that is not a UUID. */
export function passportIdOf(id: string): string {
  if (!isUuid(id)) throw new NotFoundError('Passport', id);
  return id.toLowerCase();
}

export type Unit = { id: string; brand_id: string; status: PassportStatus; battery: boolean; battery_status: BatteryStatus | null; successor_id: string | null };

/**
 * The unit (locked for update in the caller's transaction) and whether its model is a battery model. Two
 * statements on purpose: under READ COMMITTED, a statement that waited for the lock re-reads the locked row but
 * not the rows it joined, so the battery row is read after the lock, by a statement that sees the winner's insert.
 */
export async function lockUnit(tx: EntityManager, id: string): Promise<Unit> {
  const [locked] = await rawQuery<{ id: string }>(tx, 'select id from passport where id = $1 for update', [id]);
  if (!locked) throw new NotFoundError('Passport', id);
  const [unit] = await rawQuery<Unit>(
    tx,
    `select p.id, p.brand_id, p.status, bm.id is not null as battery, bu.status as battery_status, bu.successor_id
       from passport p left join battery_model bm on bm.model_id = p.model_id left join battery_unit bu on bu.passport_id = p.id
      where p.id = $1`,
    [id],
  );
  if (!unit) throw new NotFoundError('Passport', id);
  if (!unit.battery) throw new BadInputError('passportId: not a battery passport (its model has no battery data)', { field: 'passportId' });
  return unit;
}

/**
 * The unit's economic operator (the brand that minted it, or the service partner whose repurposed battery it is),
 * or a service partner the brand authorises; answers the caller's id, else FORBIDDEN. In a transaction the
 * authorisation is share-locked, so a revocation waits for the caller's write.
 */
export async function assertBrandOrPartner(em: EntityManager, viewer: Viewer, operatorId: string): Promise<string> {
  const org = orgOf(viewer);
  if (org.organizationId === operatorId && OPERATOR_KINDS.has(org.orgKind)) return org.organizationId;
  if (org.orgKind === 'SERVICE_PARTNER') {
    const auth = await rawQuery(em, 'select id from service_authorization where brand_id = $1 and partner_id = $2 and revoked_at is null for share', [operatorId, org.organizationId]);
    if (auth.length > 0) return org.organizationId;
  }
  throw new ForbiddenError("Only the battery's brand and the service partners it authorises may do this");
}

/** Inserts or replaces a unit's battery row (status and links). */
export async function writeUnit(tx: EntityManager, passportId: string, v: { status: BatteryStatus; predecessorId?: string | null; successorId?: string | null; operatorId: string; at: Date }) {
  await rawQuery(
    tx,
    `insert into battery_unit (passport_id, status, predecessor_id, successor_id, operator_id, changed_at) values ($1, $2::battery_status, $3, $4, $5, $6)
     on conflict (passport_id) do update set status = excluded.status, successor_id = coalesce(excluded.successor_id, battery_unit.successor_id),
       operator_id = excluded.operator_id, changed_at = excluded.changed_at`,
    [passportId, v.status, v.predecessorId ?? null, v.successorId ?? null, v.operatorId, v.at.toISOString()],
  );
}
