import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { canonicalJson, sha256Hex } from '../../crypto/jcs.js';
import { isUuid } from '../../db/ids.js';
import { rawQuery } from '../../db/raw.js';
import { BadInputError, ConflictError, ForbiddenError, NotFoundError } from '../../errors/app-error.js';
import type { Viewer } from '../../context/viewer.js';
import { Gs1Error, parseGtin } from '../../gs1/index.js';
import { endOfLifeService } from '../end-of-life/end-of-life.service.js';
import { type AppendedEvent, historyService } from '../history/history.service.js';
import { canMove } from '../history/state-machine.js';
import type { PassportStatus } from '../passports/passport.entity.js';
import { passportService } from '../passports/passport.service.js';
import type { IProductModel } from '../product-models/product-model.entity.js';
import { BATTERY_STATUSES, type BatteryStatus, BatteryModel } from './battery.entity.js';
import { type BatteryModelInput, parseBatteryModel } from './battery-model.js';
import { validateAspect } from './battery-schemas.js';
import type { RequestContext } from '../../context/request-context.js';

export type BatteryConditionInput = { passportId: string; condition: unknown };
export type RepurposeInput = { passportId: string; newStatus: string; gtin?: string | null; reason?: string | null };
export type RepurposeResult = { originalId: string; successorId: string | null; status: BatteryStatus };

/** Statuses that make a new battery with its own passport (Art. 77(7)); the operator needs its own battery model. */
const NEW_BATTERY: ReadonlySet<BatteryStatus> = new Set(['REPURPOSED', 'REMANUFACTURED']);

function orgOf(viewer: Viewer): { organizationId: string; orgKind: string } {
  if (viewer.kind !== 'ORGANIZATION') throw new ForbiddenError('Only an organisation may do this');
  return viewer;
}

function passportIdOf(id: string): string {
  if (!isUuid(id)) throw new NotFoundError('Passport', id);
  return id.toLowerCase();
}

type Unit = { id: string; brand_id: string; battery: boolean; battery_status: BatteryStatus | null; successor_id: string | null };

/** The unit (locked for update in the caller's transaction) and whether its model is a battery model. */
async function lockUnit(tx: EntityManager, id: string): Promise<Unit> {
  const [unit] = await rawQuery<Unit>(
    tx,
    `select p.id, p.brand_id, bm.id is not null as battery, bu.status as battery_status, bu.successor_id
       from passport p left join battery_model bm on bm.model_id = p.model_id left join battery_unit bu on bu.passport_id = p.id
      where p.id = $1 for update of p`,
    [id],
  );
  if (!unit) throw new NotFoundError('Passport', id);
  if (!unit.battery) throw new BadInputError('passportId: not a battery passport (its model has no battery data)', { field: 'passportId' });
  return unit;
}

/** The unit's brand, or a service partner it authorises (share-locked, so a revocation waits for this write). */
async function assertBrandOrPartner(tx: EntityManager, viewer: Viewer, brandId: string): Promise<string> {
  const org = orgOf(viewer);
  if (org.organizationId === brandId && org.orgKind === 'BRAND') return org.organizationId;
  if (org.orgKind === 'SERVICE_PARTNER') {
    const auth = await rawQuery(tx, 'select id from service_authorization where brand_id = $1 and partner_id = $2 and revoked_at is null for share', [brandId, org.organizationId]);
    if (auth.length > 0) return org.organizationId;
  }
  throw new ForbiddenError("Only the battery's brand and the service partners it authorises may do this");
}

/** Inserts or replaces a unit's battery row (status and links). */
async function writeUnit(tx: EntityManager, passportId: string, v: { status: BatteryStatus; predecessorId?: string | null; successorId?: string | null; operatorId: string; at: Date }) {
  await rawQuery(
    tx,
    `insert into battery_unit (passport_id, status, predecessor_id, successor_id, operator_id, changed_at) values ($1, $2::battery_status, $3, $4, $5, $6)
     on conflict (passport_id) do update set status = excluded.status, successor_id = coalesce(excluded.successor_id, battery_unit.successor_id),
       operator_id = excluded.operator_id, changed_at = excluded.changed_at`,
    [passportId, v.status, v.predecessorId ?? null, v.successorId ?? null, v.operatorId, v.at.toISOString()],
  );
}

/**
 * Battery passports (Regulation (EU) 2023/1542 Art. 77): battery data of product models, condition records and
 * status changes (repurposing, remanufacturing, re-use, waste). Knows nothing of GraphQL.
 */
export const batteryService = {
  /** Validates a model's battery input (see parseBatteryModel); call before the model's transaction. */
  parseModel: parseBatteryModel,

  /**
   * Replaces a model's battery data (updateProductModel) in the caller's transaction; answers the previous
   * category and a SHA-256 of the previous data (RFC 8785 form), for the audit record.
   */
  async replaceModelData(tx: EntityManager, modelId: string, battery: ReturnType<typeof parseBatteryModel>): Promise<{ previousCategory: string | null; previousDataHash: string | null }> {
    const [old] = await rawQuery<{ category: string; data: unknown }>(tx, 'select category, data from battery_model where model_id = $1 for update', [modelId]);
    await rawQuery(
      tx,
      `insert into battery_model (id, model_id, category, data, created_at, updated_at) values ($1, $2, $3::battery_category, $4::jsonb, $5, $5)
       on conflict (model_id) do update set category = excluded.category, data = excluded.data, updated_at = excluded.updated_at`,
      [randomUUID(), modelId, battery.category, JSON.stringify(battery.data), new Date().toISOString()],
    );
    return { previousCategory: old?.category ?? null, previousDataHash: old ? sha256Hex(canonicalJson(old.data)) : null };
  },

  /** Stores a model's battery data in the caller's transaction (the model's create). */
  attachToModel(tx: EntityManager, model: IProductModel, battery: ReturnType<typeof parseBatteryModel>): void {
    tx.create(BatteryModel, { model, category: battery.category, data: battery.data });
  },

  /**
   * Records a battery's dynamic condition (Battery Pass `batteryCondition`, validated against the Performance
   * schema) as a BATTERY_CONDITION history event; the passport shows the newest. The battery's brand and the
   * service partners it authorises may record; anyone else is FORBIDDEN.
   */
  async recordCondition(em: EntityManager, viewer: Viewer, input: BatteryConditionInput): Promise<AppendedEvent> {
    orgOf(viewer);
    const id = passportIdOf(input.passportId);
    const problems = validateAspect('performance', { batteryCondition: input.condition }, '', ['batteryCondition']);
    if (problems.length > 0) {
      const all = problems.map((p) => ({ ...p, pointer: p.pointer.replace(/^\/batteryCondition/, '') }));
      const first = all[0]!;
      throw new BadInputError(`condition${first.pointer}: ${first.message} (rule ${first.rule})`, { field: 'condition', pointer: first.pointer, rule: first.rule, problems: all.slice(0, 5) });
    }
    return em.transactional(async (t) => {
      const tx = t as EntityManager;
      const unit = await lockUnit(tx, id);
      const actorId = await assertBrandOrPartner(tx, viewer, unit.brand_id);
      const { event } = await historyService.appendEvent(tx, { passportId: id, type: 'BATTERY_CONDITION', actorId, payload: { condition: input.condition as Record<string, unknown> } });
      return event;
    });
  },

  /**
   * Changes a battery's status (Annex XIII 4(c)).
   * - REPURPOSED, REMANUFACTURED: the calling BRAND becomes the economic operator of a new battery: a new passport
   *   under its own battery model (`gtin`, under its GS1 prefix), minted and signed, linked both ways to the original.
   * - REUSED: the same battery and passport; by its brand or a service partner the brand authorises.
   * - WASTE: our end-of-life path (a RECYCLER's declareEndOfLife); the status reads WASTE from then on.
   * CONFLICT when the battery already left ORIGINAL/REUSED for a new battery, or its passport status takes no change.
   */
  async changeStatus(ctx: RequestContext, input: RepurposeInput): Promise<RepurposeResult> {
    const { em, viewer } = ctx;
    const org = orgOf(viewer);
    const id = passportIdOf(input.passportId);
    const status = input.newStatus as BatteryStatus;
    if (!BATTERY_STATUSES.includes(status) || status === 'ORIGINAL') {
      throw new BadInputError('newStatus: one of REPURPOSED, REUSED, REMANUFACTURED, WASTE', { field: 'newStatus' });
    }
    const reason = (input.reason ?? '').trim();
    if (reason.length > 500) throw new BadInputError('reason: at most 500 characters', { field: 'reason' });

    if (status === 'WASTE') {
      await em.transactional(async (t) => lockUnit(t as EntityManager, id));
      await endOfLifeService.declareEndOfLife(em, viewer, id, reason || 'battery declared waste');
      return { originalId: id, successorId: null, status };
    }

    let successor: { id: string } | null = null;
    if (NEW_BATTERY.has(status)) {
      if (org.orgKind !== 'BRAND') throw new ForbiddenError('Only a BRAND organisation (with its own GS1 prefix and battery model) repurposes or remanufactures');
      if (!input.gtin) throw new BadInputError(`gtin: required for ${status}: the operator's own battery model of the new battery`, { field: 'gtin' });
      let gtin: string;
      try {
        gtin = parseGtin(input.gtin);
      } catch (e) {
        if (e instanceof Gs1Error) throw new BadInputError(`gtin: ${e.message}`, { field: 'gtin', reason: e.reason });
        throw e;
      }
      // Checked before minting, so a refused request mints nothing; checked again under the lock below.
      const [pre] = await rawQuery<{ battery: boolean; successor_id: string | null; model_battery: boolean; status: PassportStatus }>(
        em,
        `select p.status, bm.id is not null as battery, bu.successor_id,
           exists (select 1 from product_model m join battery_model b on b.model_id = m.id where m.gtin = $2 and m.brand_id = $3) as model_battery
         from passport p left join battery_model bm on bm.model_id = p.model_id left join battery_unit bu on bu.passport_id = p.id where p.id = $1`,
        [id, gtin, org.organizationId],
      );
      if (!pre) throw new NotFoundError('Passport', id);
      if (!pre.battery) throw new BadInputError('passportId: not a battery passport (its model has no battery data)', { field: 'passportId' });
      if (pre.successor_id) throw new ConflictError('This battery was already repurposed or remanufactured', { successorId: pre.successor_id });
      if (!pre.model_battery) throw new BadInputError('gtin: not a battery model of the calling brand', { field: 'gtin' });
      if (!canMove(pre.status, 'BATTERY_STATUS_CHANGED')) throw new ConflictError(`A ${pre.status} battery cannot be ${status.toLowerCase()}`, { status: pre.status });
      // Idempotent by the original's id: a retry after a failure below answers the same new unit.
      const minted = await passportService.mint(ctx, { gtin, quantity: 1, idempotencyKey: `battery-successor:${id}`, sign: true });
      successor = { id: minted.passports[0]!.id };
    }

    return em.transactional(async (t) => {
      const tx = t as EntityManager;
      const unit = await lockUnit(tx, id);
      const operatorId = successor ? org.organizationId : await assertBrandOrPartner(tx, viewer, unit.brand_id);
      if (unit.successor_id) throw new ConflictError('This battery was already repurposed or remanufactured', { successorId: unit.successor_id });
      const from = unit.battery_status ?? 'ORIGINAL';
      if (from === status) throw new ConflictError(`The battery is already ${status}`, { status });
      const at = new Date();
      await historyService.appendEvent(tx, {
        passportId: id,
        type: 'BATTERY_STATUS_CHANGED',
        actorId: org.organizationId,
        payload: { from, to: status, ...(successor ? { successorPassportId: successor.id } : {}), ...(reason ? { reason } : {}) },
      });
      await writeUnit(tx, id, { status, successorId: successor?.id, operatorId, at });
      if (successor) {
        await historyService.appendEvent(tx, {
          passportId: successor.id,
          type: 'BATTERY_STATUS_CHANGED',
          actorId: org.organizationId,
          payload: { from: null, to: status, predecessorPassportId: id },
        });
        await writeUnit(tx, successor.id, { status, predecessorId: id, operatorId, at });
      }
      return { originalId: id, successorId: successor?.id ?? null, status };
    });
  },
};

export type { BatteryModelInput };
