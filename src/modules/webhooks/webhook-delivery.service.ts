import { BadInputError, NotFoundError } from '../../errors/app-error.js';
import type { RequestContext } from '../../context/request-context.js';
import { isUuid } from '../../db/ids.js';
import { type IWebhookDelivery, WebhookDelivery } from './webhook-delivery.entity.js';
import { WebhookEndpoint } from './webhook.entity.js';
import { brandOf, ownEndpoint } from './webhook.service.js';

/** An endpoint's deliveries (newest first) and redelivery, for the brand that owns the endpoint. */
export const webhookDeliveryService = {
  async list(ctx: RequestContext, endpointId: string, first: number, after?: string | null): Promise<{ items: IWebhookDelivery[]; hasNextPage: boolean }> {
    if (!Number.isInteger(first) || first < 1 || first > 200) throw new BadInputError('first: 1 to 200', { field: 'first' });
    if (after && !isUuid(after)) throw new BadInputError('after: not a cursor from this list', { field: 'after' });
    const endpoint = await ownEndpoint(ctx, endpointId);
    const where: Record<string, unknown> = { endpoint: endpoint.id };
    if (after) where.id = { $lt: after };
    const rows = await ctx.em.find(WebhookDelivery, where, { orderBy: { id: 'desc' }, limit: first + 1 });
    return { items: rows.slice(0, first), hasNextPage: rows.length > first };
  },

  /** Sends a delivery's event again as a new delivery with the same `webhook-id` and body (receivers deduplicate on the id). */
  async redeliver(ctx: RequestContext, deliveryId: string): Promise<IWebhookDelivery> {
    const brandId = brandOf(ctx);
    const original = isUuid(deliveryId) ? await ctx.em.findOne(WebhookDelivery, { id: deliveryId, endpoint: { brand: brandId } }) : null;
    if (!original) throw new NotFoundError('WebhookDelivery', deliveryId);
    const copy = ctx.em.create(WebhookDelivery, {
      endpoint: ctx.em.getReference(WebhookEndpoint, original.endpoint.id),
      eventId: original.eventId,
      eventType: original.eventType,
      body: original.body,
      status: 'PENDING',
      attempts: 0,
      nextAttemptAt: new Date(),
    });
    await ctx.em.flush();
    ctx.services.webhooks?.kick();
    return copy;
  },
};
