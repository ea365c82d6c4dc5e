import type { EntityManager } from '@mikro-orm/postgresql';
import DataLoader from 'dataloader';
import { newId } from '../../crypto/random.js';
import { isUuid } from '../../db/ids.js';
import { rawQuery } from '../../db/raw.js';
import { BadInputError, ForbiddenError } from '../../errors/app-error.js';
import type { Viewer } from '../../context/viewer.js';
import { AuditLog, type IAuditLog } from './audit-log.entity.js';

export type AuditRecorder = {
  /** Durably records that the viewer read `field` of `passportId` (deduplicated per request, batched per tick). */
  recordRead(passportId: string, field: string): Promise<void>;
};

/**
 * Per-request recorder of restricted reads. Rows are written before the field answers, one insert per
 * tick (DataLoader batching): a page of 100 passports costs one statement, and a failed write fails the read.
 */
export function createAuditRecorder(em: EntityManager, viewer: Viewer, requestId: string): AuditRecorder {
  if (viewer.kind !== 'ORGANIZATION') return { recordRead: async () => undefined };
  const loader = new DataLoader<string, true>(async (keys) => {
    const byPassport = new Map<string, string[]>();
    for (const k of keys) {
      const [passportId, field] = k.split('|') as [string, string];
      byPassport.set(passportId, [...(byPassport.get(passportId) ?? []), field]);
    }
    const passportIds = [...byPassport.keys()];
    await rawQuery(
      em,
      `insert into audit_log (id, organization_id, api_key_id, action, passport_id, details, created_at)
       select u.id, $1, $2, 'READ_RESTRICTED', u.passport_id, u.details, now()
       from unnest($3::uuid[], $4::uuid[], $5::jsonb[]) as u(id, passport_id, details)`,
      [
        viewer.organizationId,
        viewer.apiKeyId,
        passportIds.map(() => newId()),
        passportIds,
        passportIds.map((id) => JSON.stringify({ fields: byPassport.get(id), requestId })),
      ],
    );
    return keys.map(() => true as const);
  });
  return { recordRead: async (passportId, field) => void (await loader.load(`${passportId}|${field}`)) };
}

/** The audit trail: the platform sees all; a brand sees reads of its own units; others see their own reads. */
export const auditService = {
  async list(em: EntityManager, viewer: Viewer, passportId: string | null | undefined, first: number, after?: string | null) {
    if (viewer.kind !== 'ORGANIZATION') throw new ForbiddenError();
    if (!Number.isInteger(first) || first < 1 || first > 500) throw new BadInputError('first: 1 to 500', { field: 'first' });
    if (after && !isUuid(after)) throw new BadInputError('after: not a cursor from this list', { field: 'after' });
    if (passportId && !isUuid(passportId)) return { items: [] as IAuditLog[], hasNextPage: false };
    const qb = em.createQueryBuilder(AuditLog, 'a').select('*').orderBy({ id: 'asc' }).limit(first + 1);
    // Ids are UUIDv7, so id order is time order and a stable cursor.
    if (after) qb.andWhere({ id: { $gt: after } });
    if (passportId) qb.andWhere({ passportId });
    // A brand sees reads of its units and what its own keys did (label downloads with claim codes, say).
    if (viewer.orgKind === 'BRAND') qb.andWhere('(a.passport_id in (select id from passport where brand_id = ?) or a.organization_id = ?)', [viewer.organizationId, viewer.organizationId]);
    else if (viewer.orgKind !== 'PLATFORM') qb.andWhere({ organization: viewer.organizationId });
    const rows = await qb.getResultList();
    return { items: rows.slice(0, first), hasNextPage: rows.length > first };
  },
};
