import { Arg, Ctx, ID, Int, Mutation, Query, Resolver } from 'type-graphql';
import { Access } from '../../context/access.js';
import type { Context } from '../../context/request-context.js';
import { webhookDeliveryService } from './webhook-delivery.service.js';
import { webhookService } from './webhook.service.js';
import { WebhookDeliveryConnection, WebhookDeliveryType, WebhookEndpointInput, WebhookEndpointType, WebhookEndpointUpdateInput, WebhookEndpointWithSecret } from './webhook.types.js';

const withSecret = ({ endpoint, secret }: Awaited<ReturnType<typeof webhookService.create>>): WebhookEndpointWithSecret => ({ endpoint: WebhookEndpointType.from(endpoint), secret });

@Resolver(() => WebhookEndpointType)
export class WebhookResolver {
  @Access('BRAND')
  @Mutation(() => WebhookEndpointWithSecret, { description: 'A new endpoint of the calling brand; its secret is answered here once.' })
  async createWebhookEndpoint(@Ctx() ctx: Context, @Arg('input', () => WebhookEndpointInput) input: WebhookEndpointInput): Promise<WebhookEndpointWithSecret> {
    return withSecret(await webhookService.create(ctx, input));
  }

  @Access('BRAND')
  @Mutation(() => WebhookEndpointType)
  async updateWebhookEndpoint(
    @Ctx() ctx: Context,
    @Arg('id', () => ID) id: string,
    @Arg('input', () => WebhookEndpointUpdateInput) input: WebhookEndpointUpdateInput,
  ): Promise<WebhookEndpointType> {
    return WebhookEndpointType.from(await webhookService.update(ctx, id, input));
  }

  @Access('BRAND')
  @Mutation(() => Boolean, { description: 'Deletes the endpoint and its delivery history.' })
  async deleteWebhookEndpoint(@Ctx() ctx: Context, @Arg('id', () => ID) id: string): Promise<boolean> {
    return webhookService.delete(ctx, id);
  }

  @Access('BRAND')
  @Mutation(() => WebhookEndpointWithSecret, { description: 'A new secret, answered once; the previous one keeps signing during the grace period (two `v1,` signatures).' })
  async rotateWebhookSecret(@Ctx() ctx: Context, @Arg('id', () => ID) id: string): Promise<WebhookEndpointWithSecret> {
    return withSecret(await webhookService.rotateSecret(ctx, id));
  }

  @Access('BRAND')
  @Query(() => [WebhookEndpointType], { description: "The calling brand's endpoints, oldest first." })
  async webhookEndpoints(@Ctx() ctx: Context): Promise<WebhookEndpointType[]> {
    return (await webhookService.list(ctx)).map(WebhookEndpointType.from);
  }

  @Access('BRAND')
  @Query(() => WebhookDeliveryConnection, { description: "Deliveries to one of the calling brand's endpoints, newest first; `after` is the last cursor seen." })
  async webhookDeliveries(
    @Ctx() ctx: Context,
    @Arg('endpointId', () => ID) endpointId: string,
    @Arg('first', () => Int, { nullable: true }) first: number | null,
    @Arg('after', () => String, { nullable: true }) after: string | null,
  ): Promise<WebhookDeliveryConnection> {
    const page = await webhookDeliveryService.list(ctx, endpointId, first ?? 50, after);
    const edges = page.items.map((d) => ({ cursor: d.id, node: WebhookDeliveryType.from(d) }));
    return { edges, pageInfo: { hasNextPage: page.hasNextPage, endCursor: edges.at(-1)?.cursor ?? null } };
  }

  @Access('BRAND')
  @Mutation(() => WebhookDeliveryType, { description: 'Sends the event of a delivery again, as a new delivery with the same webhook-id.' })
  async redeliverWebhook(@Ctx() ctx: Context, @Arg('deliveryId', () => ID) deliveryId: string): Promise<WebhookDeliveryType> {
    return WebhookDeliveryType.from(await webhookDeliveryService.redeliver(ctx, deliveryId));
  }
}
