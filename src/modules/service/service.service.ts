import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { isUuid } from '../../db/ids.js';
import { rawQuery } from '../../db/raw.js';
import { BadInputError, ForbiddenError, NotFoundError } from '../../errors/app-error.js';
import type { Viewer } from '../../context/viewer.js';
import { Gs1Error, parseGtin } from '../../gs1/index.js';
import { historyService } from '../history/history.service.js';
import type { OrgKind } from '../organizations/organization.entity.js';
import type { PassportStatus } from '../passports/passport.entity.js';
import { type IServiceAuthorization, type IServiceRecord, ServiceAuthorization, ServiceRecord } from './service.entity.js';

export const MAX_WORK_DONE = 2000;
export const MAX_PARTS = 50;
export const MAX_PART_QUANTITY = 1000;
export const MAX_PART_DESCRIPTION = 500;
/** Clock skew tolerated between a partner's system and ours before `performedAt` counts as future. */
const FUTURE_SKEW_MS = 5 * 60_000;
/** A part unit in one of these states has left service for good and cannot be fitted. */
const UNUSABLE_PART_STATUSES: ReadonlySet<PassportStatus> = new Set(['RECYCLED', 'END_OF_LIFE', 'REVOKED']);

export type ServicePartInput = { passportId?: string | null; gtin?: string | null; description: string; quantity?: number | null };
export type ServiceRecordInput = { passportId: string; workDone: string; performedAt?: Date | null; parts?: ServicePartInput[] | null };
/** A part as stored on the record and in the SERVICED event payload (absent members are left out). */
export type ServicePart = { passportId?: string; gtin?: string; description: string; quantity: number };

function requireKind(viewer: Viewer, kind: OrgKind): string {
  if (viewer.kind !== 'ORGANIZATION' || viewer.orgKind !== kind) throw new ForbiddenError(`Only a ${kind} organisation may do this`);
  return viewer.organizationId;
}

/** The partner must be an existing SERVICE_PARTNER organisation; unknown ids get the same answer, so nothing is probed. */
async function assertServicePartner(em: EntityManager, partnerId: string): Promise<void> {
  const rows = isUuid(partnerId) ? await rawQuery<{ kind: OrgKind }>(em, 'select kind from organization where id = $1', [partnerId]) : [];
  if (rows[0]?.kind !== 'SERVICE_PARTNER') {
    throw new BadInputError('partnerId: not a SERVICE_PARTNER organisation', { field: 'partnerId' });
  }
}

async function loadAuthorization(em: EntityManager, id: string): Promise<IServiceAuthorization> {
  return em.findOneOrFail(ServiceAuthorization, { id }, { refresh: true });
}

function validateRecord(input: ServiceRecordInput) {
  const workDone = (input.workDone ?? '').trim();
  if (workDone.length < 1 || workDone.length > MAX_WORK_DONE) {
    throw new BadInputError(`workDone: 1 to ${MAX_WORK_DONE} characters`, { field: 'workDone' });
  }
  const performedAt = input.performedAt ?? new Date();
  const t = performedAt instanceof Date ? performedAt.getTime() : Number.NaN;
  if (Number.isNaN(t) || t < 0 || t > Date.now() + FUTURE_SKEW_MS) {
    throw new BadInputError('performedAt: a valid time, not in the future', { field: 'performedAt' });
  }
  const raw = input.parts ?? [];
  if (raw.length > MAX_PARTS) throw new BadInputError(`parts: at most ${MAX_PARTS}`, { field: 'parts' });
  const seen = new Set<string>();
  const parts = raw.map((p, i): ServicePart => {
    const at = `parts[${i}]`;
    const description = (p.description ?? '').trim();
    if (description.length < 1 || description.length > MAX_PART_DESCRIPTION) {
      throw new BadInputError(`${at}.description: 1 to ${MAX_PART_DESCRIPTION} characters`, { field: `${at}.description` });
    }
    const quantity = p.quantity ?? 1;
    if (!Number.isInteger(quantity) || quantity < 1 || quantity > MAX_PART_QUANTITY) {
      throw new BadInputError(`${at}.quantity: a whole number from 1 to ${MAX_PART_QUANTITY}`, { field: `${at}.quantity` });
    }
    let gtin: string | undefined;
    if (p.gtin != null && p.gtin !== '') {
      try {
        gtin = parseGtin(p.gtin);
      } catch (e) {
        if (e instanceof Gs1Error) throw new BadInputError(`${at}.gtin: ${e.message}`, { field: `${at}.gtin`, reason: e.reason });
        throw e;
      }
    }
    const passportId = p.passportId ?? undefined;
    if (passportId !== undefined) {
      if (!isUuid(passportId)) throw new BadInputError(`${at}.passportId: no such passport`, { field: `${at}.passportId`, partPassportId: passportId });
      const id = passportId.toLowerCase();
      if (id === input.passportId.toLowerCase()) {
        throw new BadInputError(`${at}.passportId: a unit cannot be fitted as a part of itself`, { field: `${at}.passportId`, partPassportId: passportId });
      }
      if (seen.has(id)) throw new BadInputError(`${at}.passportId: the same part is listed twice`, { field: `${at}.passportId`, partPassportId: passportId });
      seen.add(id);
      // A serialised part is one unit.
      if (quantity !== 1) throw new BadInputError(`${at}.quantity: a serialised part (passportId) has quantity 1`, { field: `${at}.quantity` });
      return { passportId: id, ...(gtin ? { gtin } : {}), description, quantity };
    }
    return { ...(gtin ? { gtin } : {}), description, quantity };
  });
  return { workDone, performedAt, parts };
}

type LockedUnit = { id: string; brand_id: string; gtin: string; status: PassportStatus; manufactured_at: Date | string };

/**
 * Service partners and the brands that authorise them; repairs with their parts, recorded as SERVICED
 * history events. Knows nothing of GraphQL.
 */
export const serviceService = {
  /**
   * Authorises a SERVICE_PARTNER organisation to record service on the calling brand's units.
   * Idempotent: an active authorisation is answered as it is; a revoked one is renewed (revokedAt cleared,
   * createdAt restarted). One statement, so concurrent calls leave one row.
   */
  async authorisePartner(em: EntityManager, viewer: Viewer, partnerId: string): Promise<IServiceAuthorization> {
    const brandId = requireKind(viewer, 'BRAND');
    await assertServicePartner(em, partnerId);
    const [row] = await rawQuery<{ id: string }>(
      em,
      `insert into service_authorization (id, brand_id, partner_id, created_at, revoked_at) values ($1, $2, $3, $4, null)
       on conflict (brand_id, partner_id) do update
         set created_at = case when service_authorization.revoked_at is null then service_authorization.created_at else excluded.created_at end,
             revoked_at = null
       returning id`,
      [randomUUID(), brandId, partnerId, new Date().toISOString()],
    );
    return loadAuthorization(em, row!.id);
  },

  /**
   * Revokes the calling brand's authorisation of a partner; from then on its service records are refused.
   * Idempotent (a revoked authorisation keeps its first revocation time).
   * @throws NotFoundError when the brand never authorised this partner.
   */
  async revokePartner(em: EntityManager, viewer: Viewer, partnerId: string): Promise<IServiceAuthorization> {
    const brandId = requireKind(viewer, 'BRAND');
    await assertServicePartner(em, partnerId);
    const [row] = await rawQuery<{ id: string }>(
      em,
      `update service_authorization set revoked_at = coalesce(revoked_at, $3) where brand_id = $1 and partner_id = $2 returning id`,
      [brandId, partnerId, new Date().toISOString()],
    );
    if (!row) throw new NotFoundError('ServiceAuthorization', partnerId);
    return loadAuthorization(em, row.id);
  },

  /** The calling brand's service partners, oldest first; revoked ones only when asked for. */
  async listPartners(em: EntityManager, viewer: Viewer, includeRevoked = false): Promise<IServiceAuthorization[]> {
    const brandId = requireKind(viewer, 'BRAND');
    return em.find(ServiceAuthorization, { brand: brandId, ...(includeRevoked ? {} : { revokedAt: null }) }, { orderBy: { createdAt: 'asc', id: 'asc' } });
  },

  /**
   * Records a repair by the calling SERVICE_PARTNER, in one transaction: the unit and its serialised parts
   * are locked (in id order, with the unit), the partner's authorisation by the unit's brand is checked
   * (and share-locked, so a concurrent revocation waits for this record or refuses it), every part is
   * checked, then a SERVICED event is appended and the record stored with that event's seq.
   * @throws NotFoundError for an unknown unit; ForbiddenError without an active authorisation;
   *   BadInputError for a bad or unusable part (naming it); ConflictError when the unit's status takes no service.
   */
  async recordService(em: EntityManager, viewer: Viewer, input: ServiceRecordInput): Promise<IServiceRecord> {
    const partnerId = requireKind(viewer, 'SERVICE_PARTNER');
    if (!isUuid(input.passportId)) throw new NotFoundError('Passport', input.passportId);
    const unitId = input.passportId.toLowerCase();
    const v = validateRecord(input);
    const partIds = v.parts.flatMap((p) => (p.passportId ? [p.passportId] : []));

    return em.transactional(async (tx) => {
      const t = tx as EntityManager;
      const rows = await rawQuery<LockedUnit>(
        t,
        'select id, brand_id, gtin, status, manufactured_at from passport where id = any($1::uuid[]) order by id for update',
        [[unitId, ...partIds]],
      );
      const byId = new Map(rows.map((r) => [r.id, r]));
      const unit = byId.get(unitId);
      if (!unit) throw new NotFoundError('Passport', input.passportId);

      const auth = await rawQuery(t, 'select id from service_authorization where brand_id = $1 and partner_id = $2 and revoked_at is null for share', [unit.brand_id, partnerId]);
      if (auth.length === 0) throw new ForbiddenError("This service partner is not authorised by the unit's brand");

      const parts = v.parts.map((part, i) => {
        if (!part.passportId) return part;
        const at = `parts[${i}]`;
        const details = { field: `${at}.passportId`, partPassportId: part.passportId };
        const found = byId.get(part.passportId);
        if (!found) throw new BadInputError(`${at}.passportId: no such passport`, details);
        // "GTIN family": parts of the brand that made the unit, under its company prefixes.
        if (found.brand_id !== unit.brand_id) throw new BadInputError(`${at}.passportId: a unit of another brand, not a part for this one`, details);
        if (UNUSABLE_PART_STATUSES.has(found.status)) throw new BadInputError(`${at}.passportId: the part unit is ${found.status}`, { ...details, status: found.status });
        if (part.gtin && part.gtin !== found.gtin) throw new BadInputError(`${at}.gtin: differs from the GTIN of the part's passport`, { field: `${at}.gtin` });
        return { ...part, gtin: found.gtin };
      });
      if (v.performedAt.getTime() < new Date(unit.manufactured_at).getTime()) {
        throw new BadInputError('performedAt: before the unit was manufactured', { field: 'performedAt' });
      }

      const recordId = randomUUID();
      const { event } = await historyService.appendEvent(t, {
        passportId: unitId,
        type: 'SERVICED',
        actorId: partnerId,
        occurredAt: v.performedAt,
        payload: { serviceRecordId: recordId, partnerId, workDone: v.workDone, parts },
      });
      const record = t.create(ServiceRecord, {
        id: recordId,
        passport: unitId,
        partner: partnerId,
        workDone: v.workDone,
        parts,
        performedAt: v.performedAt,
        eventSeq: event.seq,
      });
      await t.flush();
      return record;
    });
  },
};
