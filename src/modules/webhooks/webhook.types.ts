import { Field, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { PageInfo } from '../passports/passport.types.js';
import { type IWebhookDelivery, WEBHOOK_DELIVERY_STATUSES, type WebhookDeliveryStatus as WebhookDeliveryStatusValue } from './webhook-delivery.entity.js';
import { type IWebhookEndpoint, WEBHOOK_EVENT_TYPES } from './webhook.entity.js';

export const WebhookEventType = Object.fromEntries(WEBHOOK_EVENT_TYPES.map((v) => [v, v])) as { [K in (typeof WEBHOOK_EVENT_TYPES)[number]]: K };
registerEnumType(WebhookEventType, {
  name: 'WebhookEventType',
  description: 'What an endpoint receives; the payload `type` is the dotted form (fraud_alert.raised, fraud_alert.updated, passport.event_appended, warranty_claim.filed).',
});

@InputType()
export class WebhookEndpointInput {
  @Field(() => String, { description: 'Where deliveries are POSTed; https (and a public address) in production. Redirects are never followed.' }) url!: string;
  @Field(() => [WebhookEventType]) events!: string[];
  @Field(() => String, { nullable: true }) description?: string | null;
}

@InputType()
export class WebhookEndpointUpdateInput {
  @Field(() => String, { nullable: true }) url?: string | null;
  @Field(() => [WebhookEventType], { nullable: true }) events?: string[] | null;
  @Field(() => String, { nullable: true }) description?: string | null;
  @Field(() => Boolean, { nullable: true, description: 'Re-enable an endpoint disabled by a 410 answer, or pause one.' }) enabled?: boolean | null;
}

@ObjectType('WebhookEndpoint', { description: "An HTTP endpoint of the calling brand receiving Standard Webhooks deliveries." })
export class WebhookEndpointType {
  @Field(() => ID) id!: string;
  @Field(() => String) url!: string;
  @Field(() => [WebhookEventType]) events!: string[];
  @Field(() => Boolean) enabled!: boolean;
  @Field(() => String, { nullable: true }) description?: string | null;
  @Field(() => String, { nullable: true, description: 'Why delivery stopped: GONE (the receiver answered 410) or FAILING (a delivery failed after every retry); null when paused by the brand.' }) disabledReason?: string | null;
  @Field(() => Date, { nullable: true, description: 'Until when the previous secret also signs, after a rotation.' }) previousSecretExpiresAt?: Date | null;
  @Field(() => Date) createdAt!: Date;

  static from(e: IWebhookEndpoint): WebhookEndpointType {
    return Object.assign(new WebhookEndpointType(), {
      id: e.id,
      url: e.url,
      events: e.events,
      enabled: e.enabled,
      description: e.description ?? null,
      disabledReason: e.disabledReason ?? null,
      previousSecretExpiresAt: e.previousSecretExpiresAt && e.previousSecretExpiresAt > new Date() ? e.previousSecretExpiresAt : null,
      createdAt: e.createdAt,
    });
  }
}

@ObjectType({ description: 'An endpoint with its signing secret: shown once, here only.' })
export class WebhookEndpointWithSecret {
  @Field(() => WebhookEndpointType) endpoint!: WebhookEndpointType;
  @Field(() => String, { description: '`whsec_` + base64 of 32 random bytes (Standard Webhooks); verify deliveries with it.' }) secret!: string;
}

export const WebhookDeliveryStatus = Object.fromEntries(WEBHOOK_DELIVERY_STATUSES.map((v) => [v, v])) as { [K in WebhookDeliveryStatusValue]: K };
registerEnumType(WebhookDeliveryStatus, { name: 'WebhookDeliveryStatus', description: 'PENDING (waiting for an attempt), SENDING (an attempt in flight), DELIVERED (2xx), FAILED (410, or retries spent).' });

@ObjectType('WebhookDelivery', { description: 'One event sent to one endpoint, with the outcome of its last attempt. Ordering between deliveries is not promised.' })
export class WebhookDeliveryType {
  @Field(() => ID) id!: string;
  @Field(() => String, { description: 'The `webhook-id` header: the same on every attempt and redelivery of the event.' }) webhookId!: string;
  @Field(() => String, { description: 'The payload `type`, e.g. fraud_alert.raised.' }) eventType!: string;
  @Field(() => WebhookDeliveryStatus) status!: WebhookDeliveryStatusValue;
  @Field(() => Int) attempts!: number;
  @Field(() => Int, { nullable: true, description: 'HTTP status of the last attempt; null when none answered.' }) responseCode?: number | null;
  @Field(() => Int, { nullable: true, description: 'Duration of the last attempt in milliseconds.' }) durationMs?: number | null;
  @Field(() => String, { nullable: true, description: 'Why the last attempt failed.' }) error?: string | null;
  @Field(() => Date) createdAt!: Date;
  @Field(() => Date, { nullable: true }) lastAttemptAt?: Date | null;
  @Field(() => Date, { nullable: true, description: 'When the next attempt is due (PENDING only).' }) nextAttemptAt?: Date | null;
  @Field(() => Date, { nullable: true }) deliveredAt?: Date | null;

  static from(d: IWebhookDelivery): WebhookDeliveryType {
    return Object.assign(new WebhookDeliveryType(), {
      id: d.id,
      webhookId: `msg_${d.eventId}`,
      eventType: d.eventType,
      status: d.status,
      attempts: d.attempts,
      responseCode: d.responseCode ?? null,
      durationMs: d.durationMs ?? null,
      error: d.error ?? null,
      createdAt: d.createdAt,
      lastAttemptAt: d.lastAttemptAt ?? null,
      nextAttemptAt: d.status === 'PENDING' ? (d.nextAttemptAt ?? null) : null,
      deliveredAt: d.deliveredAt ?? null,
    });
  }
}

@ObjectType()
export class WebhookDeliveryEdge {
  @Field(() => String) cursor!: string;
  @Field(() => WebhookDeliveryType) node!: WebhookDeliveryType;
}

@ObjectType()
export class WebhookDeliveryConnection {
  @Field(() => [WebhookDeliveryEdge]) edges!: WebhookDeliveryEdge[];
  @Field(() => PageInfo) pageInfo!: PageInfo;
}
