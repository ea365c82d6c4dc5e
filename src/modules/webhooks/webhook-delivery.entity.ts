import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { newId } from '../../crypto/random.js';
import { WebhookEndpoint } from './webhook.entity.js';

/** PENDING: waiting for its next attempt; SENDING: an attempt in flight (claimed until `nextAttemptAt`); then DELIVERED or FAILED. */
export const WEBHOOK_DELIVERY_STATUSES = ['PENDING', 'SENDING', 'DELIVERED', 'FAILED'] as const;
export type WebhookDeliveryStatus = (typeof WEBHOOK_DELIVERY_STATUSES)[number];

/**
 * One event for one endpoint, delivered at least once. `webhook-id` is `msg_<eventId>` on every attempt (and on
 * a redelivery), so receivers deduplicate; `body` is the exact JSON signed and sent. While SENDING,
 * `nextAttemptAt` is the claim's expiry: a replica that died mid-attempt leaves the row due again after it.
 */
export const WebhookDelivery = defineEntity({
  name: 'WebhookDelivery',
  tableName: 'webhook_delivery',
  indexes: [
    { properties: ['endpoint', 'id'] },
    { name: 'webhook_delivery_due', properties: ['endpoint', 'nextAttemptAt'], where: "status in ('PENDING', 'SENDING')" },
  ],
  properties: {
    id: p.uuid().primary().onCreate(() => newId()),
    endpoint: () => p.manyToOne(WebhookEndpoint).ref().deleteRule('cascade'),
    /** The event's id (an alert's outbox row, …): the same for every endpoint and every attempt. */
    eventId: p.uuid(),
    /** The dotted type, as in the body. */
    eventType: p.string().length(64),
    body: p.text(),
    status: p.enum(WEBHOOK_DELIVERY_STATUSES).nativeEnumName('webhook_delivery_status'),
    attempts: p.integer().default(0),
    nextAttemptAt: p.datetime().nullable(),
    lastAttemptAt: p.datetime().nullable(),
    /** HTTP status of the last attempt; null when it got no answer (refused, timed out, blocked address). */
    responseCode: p.integer().nullable(),
    durationMs: p.integer().nullable(),
    error: p.string().length(500).nullable(),
    deliveredAt: p.datetime().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});
export type IWebhookDelivery = InferEntity<typeof WebhookDelivery>;
