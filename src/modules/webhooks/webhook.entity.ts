import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { newId } from '../../crypto/random.js';
import { Organization } from '../organizations/organization.entity.js';

/** Event types a brand may subscribe an endpoint to (GraphQL `WebhookEventType`); the payload's `type` is {@link WEBHOOK_TYPE_NAMES}. */
export const WEBHOOK_EVENT_TYPES = ['FRAUD_ALERT_RAISED', 'FRAUD_ALERT_UPDATED', 'PASSPORT_EVENT_APPENDED', 'WARRANTY_CLAIM_FILED'] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** The dotted form Standard Webhooks payloads carry in `type`. */
export const WEBHOOK_TYPE_NAMES: Record<WebhookEventType, string> = {
  FRAUD_ALERT_RAISED: 'fraud_alert.raised',
  FRAUD_ALERT_UPDATED: 'fraud_alert.updated',
  PASSPORT_EVENT_APPENDED: 'passport.event_appended',
  WARRANTY_CLAIM_FILED: 'warranty_claim.filed',
};

/**
 * A brand's HTTP endpoint for signed event deliveries. Secrets are stored sealed (AES-256-GCM under a key
 * derived from the master key) and shown only when created or rotated; after a rotation the previous
 * secret keeps signing until `previousSecretExpiresAt`, so receivers can switch without a gap.
 */
export const WebhookEndpoint = defineEntity({
  name: 'WebhookEndpoint',
  tableName: 'webhook_endpoint',
  indexes: [{ properties: ['brand', 'id'] }],
  properties: {
    id: p.uuid().primary().onCreate(() => newId()),
    brand: () => p.manyToOne(Organization).ref(),
    url: p.string().length(2048),
    events: p.array().default([]),
    description: p.string().length(500).nullable(),
    enabled: p.boolean().default(true),
    /** Why delivery stopped (e.g. `GONE`: the receiver answered 410); null while enabled or when a person disabled it. */
    disabledReason: p.string().length(200).nullable(),
    secretSealed: p.text(),
    previousSecretSealed: p.text().nullable(),
    previousSecretExpiresAt: p.datetime().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p.datetime().onCreate(() => new Date()),
  },
});
export type IWebhookEndpoint = InferEntity<typeof WebhookEndpoint>;
