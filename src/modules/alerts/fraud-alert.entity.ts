import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { newId } from '../../crypto/random.js';
import { Organization } from '../organizations/organization.entity.js';
import { Passport } from '../passports/passport.entity.js';

export { ALERT_KINDS, SEVERITIES } from '../verification/vocabulary.js';
import { ALERT_KINDS, SEVERITIES } from '../verification/vocabulary.js';
export const ALERT_STATUSES = ['OPEN', 'ACKNOWLEDGED'] as const;

/**
 * A fraud alert, written in the same transaction as the scan that raised it. Repeated firings of one
 * kind on one unit (or one GTIN, for unknown serials) are grouped into the open alert: `count` grows.
 * Operational alerts (a webhook endpoint disabled) use the same table and outbox, with no unit and no GTIN.
 */
export const FraudAlert = defineEntity({
  name: 'FraudAlert',
  tableName: 'fraud_alert',
  indexes: [{ properties: ['brand', 'id'] }, { properties: ['passport'] }],
  uniques: [{ name: 'fraud_alert_one_open_per_subject', properties: ['subject', 'kind'], where: "status = 'OPEN'" }],
  properties: {
    id: p.uuid().primary().onCreate(() => newId()),
    /** The brand whose unit (or GTIN) it concerns: who receives it. */
    brand: () => p.manyToOne(Organization).ref(),
    /**
     * No foreign-key constraint: its check would lock the unit's row under every new alert, and a scan's
     * alerts are written without taking the unit's lock (see `ScanEvent.seq`). Units are never deleted.
     */
    passport: () => p.manyToOne(Passport).ref().nullable().createForeignKeyConstraint(false),
    /** Null for operational alerts, which concern no product. */
    gtin: p.string().length(14).nullable(),
    /** What repeated firings are grouped by: the passport id, `gtin:<gtin>` for unknown serials, `webhook:<endpoint id>` for an endpoint. */
    subject: p.string().length(64),
    kind: p.enum(ALERT_KINDS).nativeEnumName('alert_kind'),
    severity: p.enum(SEVERITIES).nativeEnumName('severity'),
    status: p.enum(ALERT_STATUSES).nativeEnumName('alert_status'),
    evidence: p.json<Record<string, unknown>>(),
    count: p.integer().default(1),
    firstSeenAt: p.datetime(),
    lastSeenAt: p.datetime(),
    acknowledgedAt: p.datetime().nullable(),
    acknowledgedBy: p.uuid().nullable(),
  },
});
export type IFraudAlert = InferEntity<typeof FraudAlert>;

/** Transactional outbox: rows written with the state they announce, published after commit by the relay. */
export const OutboxMessage = defineEntity({
  name: 'OutboxMessage',
  tableName: 'outbox_message',
  indexes: [
    { properties: ['publishedAt', 'id'] },
    // Rows delivered on some replica while Redis was away, still to be announced to the others.
    { name: 'outbox_message_unannounced', properties: ['id'], where: 'relayed_at is null and published_by is not null' },
  ],
  properties: {
    id: p.uuid().primary().onCreate(() => newId()),
    topic: p.string().length(100),
    payload: p.json<Record<string, unknown>>(),
    createdAt: p.datetime().onCreate(() => new Date()),
    /** When a relay delivered it to its own replica's subscribers. */
    publishedAt: p.datetime().nullable(),
    /** The replica (alert bus id) that delivered it; null with no Redis, where there is no one else to tell. */
    publishedBy: p.uuid().nullable(),
    /** When the other replicas were told (Redis took it); null while that is still owed. */
    relayedAt: p.datetime().nullable(),
  },
});
export type IOutboxMessage = InferEntity<typeof OutboxMessage>;
