import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { canonicalJson, sha256Hex } from '../../crypto/jcs.js';
import { rawQuery } from '../../db/raw.js';
import { BadInputError, ConflictError } from '../../errors/app-error.js';
import type { Viewer } from '../../context/viewer.js';
import { endOfLifeService } from '../end-of-life/end-of-life.service.js';
import { type AppendedEvent, historyService } from '../history/history.service.js';
import { canMove } from '../history/state-machine.js';
import type { IProductModel } from '../product-models/product-model.entity.js';
import { BATTERY_STATUSES, type BatteryStatus, BatteryModel } from './battery.entity.js';
import { type BatteryModelInput, parseBatteryModel } from './battery-model.js';
import { validateAspect } from './battery-schemas.js';
import { NEW_BATTERY, prepareSuccessor, type SuccessorWrite } from './battery-successor.js';
import { assertBrandOrPartner, lockUnit, orgOf, passportIdOf, writeUnit } from './battery-unit.js';
import type { RequestContext } from '../../context/request-context.js';

export type BatteryConditionInput = { passportId: string; condition: unknown };
export type RepurposeInput = { passportId: string; newStatus: string; gtin?: string | null; reason?: string | null };
export type RepurposeResult = { originalId: string; successorId: string | null; status: BatteryStatus };

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
   * Changes a battery's status (Annex XIII 4(c)), by its operator (the brand, or the service partner whose
   * repurposed battery it is) or a service partner that operator authorises:
   * - REPURPOSED, REMANUFACTURED (Art. 77(7)): the caller becomes the economic operator of a new battery: a new
   *   passport under its own battery model (`gtin`, under its own GS1 prefix), minted with a fresh random serial and
   *   signed with its own key, linked both ways to the original (see prepareSuccessor), all in one transaction.
   * - REUSED: the same battery and passport.
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

    // Before the transaction: what needs its own short transactions (a brand's first key, status list entries).
    const mintSuccessor: SuccessorWrite | null = NEW_BATTERY.has(status) ? await prepareSuccessor(ctx, id, status, input.gtin) : null;

    return em.transactional(async (t) => {
      const tx = t as EntityManager;
      const unit = await lockUnit(tx, id);
      const operatorId = await assertBrandOrPartner(tx, viewer, unit.brand_id);
      if (unit.successor_id) throw new ConflictError('This battery was already repurposed or remanufactured', { successorId: unit.successor_id });
      const from = unit.battery_status ?? 'ORIGINAL';
      if (from === status) throw new ConflictError(`The battery is already ${status}`, { status });
      if (!canMove(unit.status, 'BATTERY_STATUS_CHANGED')) throw new ConflictError(`A ${unit.status} battery cannot be ${status.toLowerCase()}`, { status: unit.status });
      const successorId = mintSuccessor ? await mintSuccessor(tx) : null;
      const at = new Date();
      await historyService.appendEvent(tx, {
        passportId: id,
        type: 'BATTERY_STATUS_CHANGED',
        actorId: org.organizationId,
        payload: { from, to: status, ...(successorId ? { successorPassportId: successorId } : {}), ...(reason ? { reason } : {}) },
      });
      await writeUnit(tx, id, { status, successorId, operatorId, at });
      if (successorId) {
        await historyService.appendEvent(tx, {
          passportId: successorId,
          type: 'BATTERY_STATUS_CHANGED',
          actorId: org.organizationId,
          payload: { from: null, to: status, predecessorPassportId: id },
        });
        await writeUnit(tx, successorId, { status, predecessorId: id, operatorId, at });
      }
      return { originalId: id, successorId, status };
    });
  },
};

export type { BatteryModelInput };
