import type { EntityManager } from '@mikro-orm/postgresql';
import { rawQuery } from '../../db/raw.js';
import { BadInputError, ConflictError, NotFoundError } from '../../errors/app-error.js';
import type { RequestContext } from '../../context/request-context.js';
import { Gs1Error, parseGtin } from '../../gs1/index.js';
import { canMove } from '../history/state-machine.js';
import { signingKeyService } from '../keys/signing-key.service.js';
import type { PassportStatus } from '../passports/passport.entity.js';
import { passportService } from '../passports/passport.service.js';
import { validateMint } from '../passports/mint-input.js';
import type { BatteryStatus } from './battery.entity.js';
import { assertBrandOrPartner, orgOf } from './battery-unit.js';

/** Statuses that make a new battery with its own passport (Art. 77(7)); the operator needs its own battery model. */
export const NEW_BATTERY: ReadonlySet<BatteryStatus> = new Set(['REPURPOSED', 'REMANUFACTURED']);

/** Mints the new battery's passport in the caller's transaction and answers its id. */
export type SuccessorWrite = (tx: EntityManager) => Promise<string>;

function gtinOf(raw: string | null | undefined, status: BatteryStatus): string {
  if (!raw) throw new BadInputError(`gtin: required for ${status}: the operator's own battery model of the new battery`, { field: 'gtin' });
  try {
    return parseGtin(raw);
  } catch (e) {
    if (e instanceof Gs1Error) throw new BadInputError(`gtin: ${e.message}`, { field: 'gtin', reason: e.reason });
    throw e;
  }
}

/**
 * Everything a repurposing or remanufacturing needs before its transaction, checked in this order so that a refused
 * request writes nothing and tells a stranger nothing: the original is a battery (NOT_FOUND, BAD_USER_INPUT); the
 * caller is its operator or a service partner that operator authorises (FORBIDDEN); it was not already made into a
 * new battery and its passport takes a status change (CONFLICT); the caller holds a GS1 company prefix, a battery
 * model `gtin` of its own and an ACTIVE signing key (BAD_USER_INPUT; a brand's first key is made as on any
 * signature, a service partner makes its own). Answers the write: the new unit under the caller's model, a fresh
 * random serial, signed by the caller's key, idempotent per original. The caller's transaction checks again under
 * the original's row lock, so of two concurrent requests one mints and the other mints nothing.
 */
export async function prepareSuccessor(ctx: RequestContext, originalId: string, status: BatteryStatus, rawGtin: string | null | undefined): Promise<SuccessorWrite> {
  const { em, services, viewer } = ctx;
  const org = orgOf(viewer);
  const gtin = gtinOf(rawGtin, status);
  const [pre] = await rawQuery<{ brand_id: string; status: PassportStatus; battery: boolean; successor_id: string | null }>(
    em,
    `select p.brand_id, p.status, bm.id is not null as battery, bu.successor_id
       from passport p left join battery_model bm on bm.model_id = p.model_id left join battery_unit bu on bu.passport_id = p.id where p.id = $1`,
    [originalId],
  );
  if (!pre) throw new NotFoundError('Passport', originalId);
  if (!pre.battery) throw new BadInputError('passportId: not a battery passport (its model has no battery data)', { field: 'passportId' });
  await assertBrandOrPartner(em, viewer, pre.brand_id);
  if (pre.successor_id) throw new ConflictError('This battery was already repurposed or remanufactured', { successorId: pre.successor_id });
  if (!canMove(pre.status, 'BATTERY_STATUS_CHANGED')) throw new ConflictError(`A ${pre.status} battery cannot be ${status.toLowerCase()}`, { status: pre.status });

  const [op] = await rawQuery<{ prefixes: number; model_battery: boolean }>(
    em,
    `select coalesce(cardinality(o.gs1_company_prefixes), 0) as prefixes,
       exists (select 1 from product_model m join battery_model b on b.model_id = m.id where m.gtin = $2 and m.brand_id = o.id) as model_battery
     from organization o where o.id = $1`,
    [org.organizationId, gtin],
  );
  if (!op || Number(op.prefixes) === 0) {
    throw new BadInputError('The calling organisation holds no GS1 company prefix: the platform registers one (createOrganization) before it can place a new battery on the market', {
      field: 'gs1CompanyPrefixes',
    });
  }
  if (!op.model_battery) throw new BadInputError('gtin: not a battery model of the calling organisation (register it with createProductModel first)', { field: 'gtin' });
  // A service partner without an ACTIVE key gets BAD_USER_INPUT here; a brand gets its first key, as on any signature.
  const signer = await signingKeyService.activeSigner(em.fork(), services, org.organizationId);
  const write = await passportService.prepareMint(ctx, org.organizationId, validateMint({ gtin, quantity: 1, idempotencyKey: `battery-successor:${originalId}`, sign: true }), signer);
  return async (tx) => (await write(tx)).passports[0]!.id;
}
