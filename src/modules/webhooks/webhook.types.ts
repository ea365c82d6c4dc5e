import { Field, ID, InputType, ObjectType, registerEnumType } from 'type-graphql';
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
  @Field(() => String, { nullable: true, description: 'Why delivery stopped, e.g. GONE (the receiver answered 410).' }) disabledReason?: string | null;
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
