import type { EntityManager } from '@mikro-orm/postgresql';
import { newId } from '../../crypto/random.js';
import { isUuid } from '../../db/ids.js';
import { noteOutboxWrite, OUTBOX_TOPICS } from '../../db/outbox.js';
import { rawQuery } from '../../db/raw.js';
import { BadInputError, ForbiddenError, NotFoundError } from '../../errors/app-error.js';
import type { Viewer } from '../../graphql/context.js';
import { Gs1Error, parseGtin } from '../../gs1/index.js';
import type { AlertKind, Severity } from '../verification/vocabulary.js';
import type { AlertMessage } from './alert-bus.js';
import { FraudAlert, type IFraudAlert } from './fraud-alert.entity.js';

/** Topic of the outbox rows that announce new or grown alerts. */
export const FRAUD_ALERT_TOPIC = OUTBOX_TOPICS.fraudAlert;

/** One firing of a rule: what it is, how bad, and evidence without personal data. */
export type AlertFiring = { kind: AlertKind; severity: Severity; evidence: Record<string, unknown> };

/** The columns of `fraud_alert` (as `<alias>.<column>`) that {@link alertFromRow} reads. */
export function alertColumns(alias: string): string {
  const a = `${alias}.`;
  return `${a}id, ${a}brand_id, ${a}passport_id, ${a}gtin, ${a}kind, ${a}severity, ${a}status, ${a}evidence, ${a}count, ${a}first_seen_at::text, ${a}last_seen_at::text`;
}

export type AlertRow = {
  id: string;
  brand_id: string;
  passport_id: string | null;
  gtin: string;
  kind: string;
  severity: string;
  status: string;
  evidence: Record<string, unknown>;
  count: number;
  first_seen_at: string;
  last_seen_at: string;
};

/** An alert row (selected with {@link alertColumns}) as plain data: what a scan answers and what the relay publishes. */
export function alertFromRow(r: AlertRow): AlertMessage {
  return {
    id: r.id,
    brandId: r.brand_id,
    passportId: r.passport_id,
    gtin: r.gtin,
    kind: r.kind,
    severity: r.severity,
    status: r.status,
    evidence: r.evidence,
    count: r.count,
    firstSeenAt: new Date(r.first_seen_at).toISOString(),
    lastSeenAt: new Date(r.last_seen_at).toISOString(),
  };
}

/**
 * SQL of the alert upsert, as the CTEs `upserted` (the alerts, `returning fraud_alert.*`) and `announced`
 * (their outbox rows), with its parameters numbered from `$<from>`; {@link alertParams} makes them. Used by
 * {@link raiseAlerts} and by the scan's own write (one statement records the scan and its alerts). `after`
 * names an earlier CTE of one row that must run first: PostgreSQL runs a data-modifying CTE nobody reads
 * last, so a scan insert must be read here to take its place before the alert rows are locked (the order
 * every writer of a unit's scans and alerts keeps, so they cannot deadlock).
 * Postgres orders enum values as declared (LOW < … < CRITICAL), so greatest() keeps the worst severity.
 */
export function alertUpsertCtes(from: number, after?: string): string {
  const $ = (i: number) => `$${from + i}`;
  return `upserted as (
       insert into fraud_alert (id, brand_id, passport_id, gtin, subject, kind, severity, status, evidence, count, first_seen_at, last_seen_at)
       select u.id, ${$(0)}, ${$(1)}, ${$(2)}, ${$(3)}, u.kind, u.severity, 'OPEN', u.evidence, 1, ${$(4)}, ${$(4)}
       from unnest(${$(5)}::uuid[], ${$(6)}::alert_kind[], ${$(7)}::severity[], ${$(8)}::jsonb[]) as u(id, kind, severity, evidence)${after ? ` cross join ${after}` : ''}
       on conflict (subject, kind) where status = 'OPEN' do update
         set count = fraud_alert.count + 1, last_seen_at = greatest(fraud_alert.last_seen_at, excluded.last_seen_at),
             severity = greatest(fraud_alert.severity, excluded.severity), evidence = excluded.evidence
       returning fraud_alert.*
     ), announced as (
       insert into outbox_message (id, topic, payload, created_at)
       select o.id, ${$(9)}, jsonb_build_object('alertId', a.id, 'brandId', ${$(0)}::uuid), now()
       from (select id, row_number() over (order by id) as n from upserted) a
         join unnest(${$(10)}::uuid[]) with ordinality as o(id, n) on o.n = a.n
     )`;
}

export type AlertSubject = { brandId: string; passportId: string | null; gtin: string; at: Date };

/** The 11 parameters of {@link alertUpsertCtes}. */
export function alertParams(subject: AlertSubject, firings: readonly AlertFiring[]): unknown[] {
  const { brandId, passportId, gtin, at } = subject;
  return [
    brandId,
    passportId,
    gtin,
    passportId ?? `gtin:${gtin}`,
    at.toISOString(),
    firings.map(() => newId()),
    firings.map((f) => f.kind),
    firings.map((f) => f.severity),
    firings.map((f) => JSON.stringify(f.evidence)),
    FRAUD_ALERT_TOPIC,
    firings.map(() => newId()),
  ];
}

/** What a statement built on {@link alertUpsertCtes} selects: `select <this> from upserted`. */
export const UPSERTED_ALERTS = alertColumns('upserted');

/** The alert rows such a statement returned, as plain data in the order of the firings (not entities: a scan never changes them). */
export function alertsFromRows(rows: readonly AlertRow[], firings: readonly AlertFiring[]): AlertMessage[] {
  const order = new Map<string, number>(firings.map((f, i) => [f.kind, i]));
  return rows.map(alertFromRow).sort((x, y) => order.get(x.kind)! - order.get(y.kind)!);
}

/**
 * Writes each firing into the open alert of its kind for the unit (or, with no unit, the GTIN) and
 * announces it in the outbox, in the caller's transaction and in one statement: durable with the state
 * that raised it, published by the relay once the transaction commits (the commit kicks it).
 * Answers the alerts in the order of the firings.
 */
export async function raiseAlerts(tx: EntityManager, subject: AlertSubject, firings: readonly AlertFiring[]): Promise<AlertMessage[]> {
  if (firings.length === 0) return [];
  const rows = await rawQuery<AlertRow>(tx, `with ${alertUpsertCtes(1)} select ${UPSERTED_ALERTS} from upserted`, alertParams(subject, firings));
  noteOutboxWrite(tx, OUTBOX_TOPICS.fraudAlert);
  return alertsFromRows(rows, firings);
}

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
