import { BadInputError, ForbiddenError, NotFoundError } from '../../errors/app-error.js';
import type { RequestContext } from '../../context/request-context.js';
import { isUuid } from '../../db/ids.js';
import { type IWebhookEndpoint, WEBHOOK_EVENT_TYPES, WebhookEndpoint, type WebhookEventType } from './webhook.entity.js';
import { newWebhookSecret, secretBox } from './webhook-secret.js';
import { checkWebhookUrl } from './webhook-url.js';

export type WebhookEndpointInput = { url: string; events: readonly string[]; description?: string | null };
export type WebhookEndpointPatch = { url?: string | null; events?: readonly string[] | null; description?: string | null; enabled?: boolean | null };

/** At most this many endpoints per brand: each multiplies the deliveries of every event. */
export const MAX_ENDPOINTS_PER_BRAND = 20;

/** The calling brand's id; anything else may not manage webhooks. */
export function brandOf(ctx: RequestContext): string {
  const v = ctx.viewer;
  if (v.kind !== 'ORGANIZATION' || v.orgKind !== 'BRAND') throw new ForbiddenError('Only a brand manages webhook endpoints');
  return v.organizationId;
}

function checkEvents(events: readonly string[]): WebhookEventType[] {
  const unique = [...new Set(events)];
  if (unique.length === 0) throw new BadInputError('events: at least one event type', { field: 'events' });
  const unknown = unique.filter((e) => !(WEBHOOK_EVENT_TYPES as readonly string[]).includes(e));
  if (unknown.length) throw new BadInputError(`events: unknown ${unknown.join(', ')}`, { field: 'events' });
  return unique as WebhookEventType[];
}

function checkDescription(d: string | null | undefined): string | null {
  if (d == null) return null;
  if (d.length > 500) throw new BadInputError('description: at most 500 characters', { field: 'description' });
  return d;
}

/** The brand's own endpoint, or NOT_FOUND (another brand's endpoint is indistinguishable from none). */
export async function ownEndpoint(ctx: RequestContext, id: string): Promise<IWebhookEndpoint> {
  const brandId = brandOf(ctx);
  const endpoint = isUuid(id) ? await ctx.em.findOne(WebhookEndpoint, { id, brand: brandId }) : null;
  if (!endpoint) throw new NotFoundError('WebhookEndpoint', id);
  return endpoint;
}

/** Endpoints of the calling brand: create, change, delete, rotate the secret. Secrets are answered once, never stored in clear. */
export const webhookService = {
  async create(ctx: RequestContext, input: WebhookEndpointInput): Promise<{ endpoint: IWebhookEndpoint; secret: string }> {
    const brandId = brandOf(ctx);
    const url = checkWebhookUrl(input.url, ctx.services.config.webhooks.strictUrls);
    const events = checkEvents(input.events);
    const description = checkDescription(input.description);
    if ((await ctx.em.count(WebhookEndpoint, { brand: brandId })) >= MAX_ENDPOINTS_PER_BRAND) {
      throw new BadInputError(`At most ${MAX_ENDPOINTS_PER_BRAND} webhook endpoints per brand`, { field: 'url' });
    }
    const secret = newWebhookSecret();
    const endpoint = ctx.em.create(WebhookEndpoint, {
      brand: brandId,
      url,
      events,
      description,
      enabled: true,
      disabledReason: null,
      secretSealed: secretBox(ctx.services.masterKey).seal(secret),
    });
    await ctx.em.flush();
    return { endpoint, secret };
  },

  async update(ctx: RequestContext, id: string, patch: WebhookEndpointPatch): Promise<IWebhookEndpoint> {
    const endpoint = await ownEndpoint(ctx, id);
    if (patch.url != null) endpoint.url = checkWebhookUrl(patch.url, ctx.services.config.webhooks.strictUrls);
    if (patch.events != null) endpoint.events = checkEvents(patch.events);
    if (patch.description !== undefined) endpoint.description = checkDescription(patch.description);
    if (patch.enabled != null && patch.enabled !== endpoint.enabled) {
      endpoint.enabled = patch.enabled;
      endpoint.disabledReason = null;
    }
    endpoint.updatedAt = new Date();
    await ctx.em.flush();
    return endpoint;
  },

  /** Deletes the endpoint with its delivery history; pending deliveries are dropped. */
  async delete(ctx: RequestContext, id: string): Promise<boolean> {
    const endpoint = await ownEndpoint(ctx, id);
    await ctx.em.remove(endpoint).flush();
    return true;
  },

  /** A new secret; the current one keeps signing (a second `v1,` signature) for the configured grace period. */
  async rotateSecret(ctx: RequestContext, id: string): Promise<{ endpoint: IWebhookEndpoint; secret: string }> {
    const endpoint = await ownEndpoint(ctx, id);
    const secret = newWebhookSecret();
    const graceMs = ctx.services.config.webhooks.rotationGraceSeconds * 1000;
    endpoint.previousSecretSealed = graceMs > 0 ? endpoint.secretSealed : null;
    endpoint.previousSecretExpiresAt = graceMs > 0 ? new Date(Date.now() + graceMs) : null;
    endpoint.secretSealed = secretBox(ctx.services.masterKey).seal(secret);
    endpoint.updatedAt = new Date();
    await ctx.em.flush();
    return { endpoint, secret };
  },

  async list(ctx: RequestContext): Promise<IWebhookEndpoint[]> {
    return ctx.em.find(WebhookEndpoint, { brand: brandOf(ctx) }, { orderBy: { id: 'asc' } });
  },
};
