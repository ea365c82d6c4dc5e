import type { EntityManager } from '@mikro-orm/postgresql';
import { newId } from '../../crypto/random.js';
import { isUuid } from '../../db/ids.js';
import { noteOutboxWrite, OUTBOX_TOPICS } from '../../db/outbox.js';
import { rawQuery } from '../../db/raw.js';
import { BadInputError, ForbiddenError, NotFoundError } from '../../errors/app-error.js';
import type { Viewer } from '../../context/viewer.js';
import { Gs1Error, parseGtin } from '../../gs1/index.js';
import { type AlertKind, OPERATIONAL_ALERT_KINDS, type Severity } from '../verification/vocabulary.js';
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
  gtin: string | null;
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

/** The columns of a firing as {@link alertUpsertFrom} reads them (and a `jsonb_to_recordset` of {@link firingRow}s declares them). */
export const FIRING_COLUMNS =
  'n int, id uuid, outbox_id uuid, brand_id uuid, passport_id uuid, gtin text, subject text, kind alert_kind, severity severity, evidence jsonb, at timestamptz';

/**
 * SQL of the alert upsert over the CTE `firings` (one row per firing, {@link FIRING_COLUMNS}; `n` orders
 * them), as the CTEs `grouped` (one row per subject and kind: a batch of scans may fire one alert twice),
 * `upserted` (the alerts, `returning fraud_alert.*`) and `announced` (their outbox rows, topic `topic`).
 * Alert rows are locked in (subject, kind) order by every writer, so two statements cannot deadlock on
 * them; a grouped alert's count grows by its firings, its evidence is the last firing's, and greatest()
 * keeps the worst severity (Postgres orders enum values as declared, LOW < … < CRITICAL).
 */
export function alertUpsertFrom(firings: string, topic: string): string {
  return `grouped as (
       select (array_agg(id order by n))[1] as id, (array_agg(outbox_id order by n))[1] as outbox_id, brand_id, passport_id, gtin, subject, kind,
              max(severity) as severity, (array_agg(evidence order by n desc))[1] as evidence, count(*)::int as fired, min(at) as first_at, max(at) as last_at
       from ${firings} group by brand_id, passport_id, gtin, subject, kind
     ), upserted as (
       insert into fraud_alert (id, brand_id, passport_id, gtin, subject, kind, severity, status, evidence, count, first_seen_at, last_seen_at)
       select id, brand_id, passport_id, gtin, subject, kind, severity, 'OPEN', evidence, fired, first_at, last_at from grouped order by subject, kind
       on conflict (subject, kind) where status = 'OPEN' do update
         set count = fraud_alert.count + excluded.count, last_seen_at = greatest(fraud_alert.last_seen_at, excluded.last_seen_at),
             severity = greatest(fraud_alert.severity, excluded.severity), evidence = excluded.evidence
       returning fraud_alert.*
     ), announced as (
       insert into outbox_message (id, topic, payload, created_at)
       select g.outbox_id, ${topic}, jsonb_build_object('alertId', u.id, 'brandId', u.brand_id, 'raised', u.count = g.fired), now()
       from upserted u join grouped g on g.subject = u.subject and g.kind = u.kind
     )`;
}

/**
 * SQL of one subject's alert upsert: the CTE `firings` from parameters numbered from `$<from>`
 * ({@link alertParams} makes them), then {@link alertUpsertFrom}. Used by {@link raiseAlerts} and by a lone
 * scan's own write (one statement records the scan and its alerts). `after` names an earlier CTE that must
 * run first: PostgreSQL runs a data-modifying CTE nobody reads last, so a scan insert must be read here to
 * take its place before the alert rows are locked (and when it wrote nothing, nothing is upserted).
 */
export function alertUpsertCtes(from: number, after?: string): string {
  const $ = (i: number) => `$${from + i}`;
  return `firings as (
       select f.n::int as n, f.id, f.outbox_id, ${$(0)}::uuid as brand_id, ${$(1)}::uuid as passport_id, ${$(2)}::text as gtin, ${$(3)}::text as subject,
              f.kind, f.severity, f.evidence, ${$(4)}::timestamptz as at
       from unnest(${$(5)}::uuid[], ${$(6)}::alert_kind[], ${$(7)}::severity[], ${$(8)}::jsonb[], ${$(10)}::uuid[]) with ordinality as f(id, kind, severity, evidence, outbox_id, n)${after ? ` cross join ${after}` : ''}
     ), ${alertUpsertFrom('firings', `${$(9)}`)}`;
}

/** What an alert is about: a unit, a GTIN (unknown serials), or with `key` something that is no product (`webhook:<endpoint id>`). */
export type AlertSubject = { brandId: string; passportId: string | null; gtin: string | null; at: Date; key?: string };

/** What repeated firings are grouped by: the given key, the unit, or for an unknown serial its GTIN. */
const subjectKey = (subject: AlertSubject) => subject.key ?? subject.passportId ?? `gtin:${subject.gtin}`;

/** One firing as a row of {@link FIRING_COLUMNS}, `n` its place among the statement's firings. */
export function firingRow(subject: AlertSubject, firing: AlertFiring, n: number): Record<string, unknown> {
  return {
    n,
    id: newId(),
    outbox_id: newId(),
    brand_id: subject.brandId,
    passport_id: subject.passportId,
    gtin: subject.gtin,
    subject: subjectKey(subject),
    kind: firing.kind,
    severity: firing.severity,
    evidence: firing.evidence,
    at: subject.at.toISOString(),
  };
}

/** The 11 parameters of {@link alertUpsertCtes}. */
export function alertParams(subject: AlertSubject, firings: readonly AlertFiring[]): unknown[] {
  const { brandId, passportId, gtin, at } = subject;
  return [
    brandId,
    passportId,
    gtin,
    subjectKey(subject),
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

/** Kinds that receive every brand's alerts (authorities and the operator), operational ones excepted. */
const SEE_ALL: ReadonlySet<string> = new Set(['PLATFORM', 'REGULATOR', 'CUSTOMS']);
const OPERATIONAL: ReadonlySet<string> = new Set(OPERATIONAL_ALERT_KINDS);

/** Whether the viewer may see this alert: its brand, or an authority (not for operational kinds, which only the brand sees). */
export function canSeeAlert(viewer: Viewer, alert: { brandId: string; kind: string }): boolean {
  if (viewer.kind !== 'ORGANIZATION') return false;
  if (viewer.orgKind === 'BRAND') return viewer.organizationId === alert.brandId;
  return SEE_ALL.has(viewer.orgKind) && !OPERATIONAL.has(alert.kind);
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
    // Authorities see every brand's fraud alerts, but no brand's operational ones.
    const hidden = viewer.orgKind === 'BRAND' ? [] : [...OPERATIONAL];
    if (filter.kind || hidden.length) where.kind = { ...(filter.kind ? { $eq: filter.kind } : {}), ...(hidden.length ? { $nin: hidden } : {}) };
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
