import type { EntityManager } from '@mikro-orm/postgresql';
import { isUuid } from '../../db/ids.js';
import { BadInputError, ForbiddenError, NotFoundError } from '../../errors/app-error.js';
import type { Viewer } from '../../graphql/context.js';
import { Gs1Error, parseGtin } from '../../gs1/index.js';
import { FraudAlert, type IFraudAlert } from './fraud-alert.entity.js';

export type AlertFilter = {
  gtin?: string | null;
  kind?: string | null;
  severity?: string | null;
  status?: string | null;
  since?: Date | null;
};

/** Kinds that receive every brand's alerts (authorities and the operator). */
const SEE_ALL: ReadonlySet<string> = new Set(['PLATFORM', 'REGULATOR', 'CUSTOMS']);

/** Whether the viewer may see this alert: its brand, or an authority. */
export function canSeeAlert(viewer: Viewer, alert: { brandId: string }): boolean {
  if (viewer.kind !== 'ORGANIZATION') return false;
  return SEE_ALL.has(viewer.orgKind) || (viewer.orgKind === 'BRAND' && viewer.organizationId === alert.brandId);
}

/** Fraud alerts: listing with a cursor (ids are time-ordered UUIDv7), and acknowledging. */
export const alertService = {
  async list(em: EntityManager, viewer: Viewer, filter: AlertFilter, first: number, after?: string | null): Promise<{ items: IFraudAlert[]; hasNextPage: boolean }> {
    if (viewer.kind !== 'ORGANIZATION') throw new ForbiddenError();
    if (!Number.isInteger(first) || first < 1 || first > 500) throw new BadInputError('first: 1 to 500', { field: 'first' });
    if (after && !isUuid(after)) throw new BadInputError('after: not a cursor from this list', { field: 'after' });
    const where: Record<string, unknown> = {};
    if (viewer.orgKind === 'BRAND') where.brand = viewer.organizationId;
    else if (!SEE_ALL.has(viewer.orgKind)) throw new ForbiddenError(`An organisation of kind ${viewer.orgKind} does not receive fraud alerts`);
    if (filter.gtin) {
      try {
        where.gtin = parseGtin(filter.gtin);
      } catch (e) {
        if (e instanceof Gs1Error) throw new BadInputError(`filter.gtin: ${e.message}`, { field: 'filter.gtin' });
        throw e;
      }
    }
    if (filter.kind) where.kind = filter.kind;
    if (filter.severity) where.severity = filter.severity;
    if (filter.status) where.status = filter.status;
    if (filter.since) where.lastSeenAt = { $gte: filter.since };
    if (after) where.id = { $gt: after };
    const rows = await em.find(FraudAlert, where, { orderBy: { id: 'asc' }, limit: first + 1 });
    return { items: rows.slice(0, first), hasNextPage: rows.length > first };
  },

  /** The brand marks its alert seen; idempotent. A new firing afterwards opens a new alert. */
  async acknowledge(em: EntityManager, viewer: Viewer, id: string): Promise<IFraudAlert> {
    if (viewer.kind !== 'ORGANIZATION' || viewer.orgKind !== 'BRAND') throw new ForbiddenError();
    const alert = isUuid(id) ? await em.findOne(FraudAlert, { id, brand: viewer.organizationId }) : null;
    if (!alert) throw new NotFoundError('FraudAlert', id);
    if (alert.status === 'OPEN') {
      alert.status = 'ACKNOWLEDGED';
      alert.acknowledgedAt = new Date();
      alert.acknowledgedBy = viewer.apiKeyId;
      await em.flush();
    }
    return alert;
  },
};
