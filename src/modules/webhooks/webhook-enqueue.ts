import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { newId } from '../../crypto/random.js';
import { rawQuery } from '../../db/raw.js';
import { WEBHOOK_TYPE_NAMES, type WebhookEventType } from './webhook.entity.js';

/** An event as the module that committed it describes it; `data` is the object its GraphQL type shows the brand. */
export type WebhookEvent = { eventId: string; brandId: string; type: WebhookEventType; occurredAt: string; data: unknown };

/** Transactions (driver objects) that wrote deliveries: their commit wakes the worker at once instead of on its next poll. */
const written = new WeakSet<object>();
const wakers = new WeakMap<MikroORM, Set<() => void>>();

/**
 * Writes one delivery per event and enabled endpoint of its brand subscribed to its type, in the caller's
 * transaction (the outbox relay's, so a delivery exists exactly when its event was relayed). Answers the rows written.
 */
export async function enqueueWebhookEvents(tx: EntityManager, events: readonly WebhookEvent[]): Promise<number> {
  if (!events.length) return 0;
  const brands = [...new Set(events.map((e) => e.brandId))];
  const endpoints = await rawQuery<{ id: string; brand_id: string; events: string[] }>(
    tx,
    'select id, brand_id, events from webhook_endpoint where brand_id = any($1::uuid[]) and enabled',
    [brands],
  );
  if (!endpoints.length) return 0;
  const rows: { id: string; endpoint: string; event: string; type: string; body: string }[] = [];
  for (const e of events) {
    const type = WEBHOOK_TYPE_NAMES[e.type];
    const body = JSON.stringify({ type, timestamp: e.occurredAt, data: e.data });
    for (const ep of endpoints) {
      if (ep.brand_id === e.brandId && ep.events.includes(e.type)) rows.push({ id: newId(), endpoint: ep.id, event: e.eventId, type, body });
    }
  }
  if (!rows.length) return 0;
  await rawQuery(
    tx,
    `insert into webhook_delivery (id, endpoint_id, event_id, event_type, body, status, attempts, next_attempt_at, created_at)
     select id, endpoint_id, event_id, event_type, body, 'PENDING', 0, now(), now()
     from unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[]) as r(id, endpoint_id, event_id, event_type, body)`,
    [rows.map((r) => r.id), rows.map((r) => r.endpoint), rows.map((r) => r.event), rows.map((r) => r.type), rows.map((r) => r.body)],
  );
  const trx = tx.getTransactionContext();
  if (trx && typeof trx === 'object') written.add(trx);
  return rows.length;
}

/** Calls `wake` after every commit of a transaction that wrote deliveries; the returned function stops it. */
export function onDeliveriesCommitted(orm: MikroORM, wake: () => void): () => void {
  let set = wakers.get(orm);
  if (!set) {
    const created = new Set<() => void>();
    wakers.set(orm, (set = created));
    orm.em.getEventManager().registerSubscriber({
      afterTransactionCommit: ({ transaction }) => {
        if (transaction && typeof transaction === 'object' && written.has(transaction)) for (const w of created) w();
      },
    });
  }
  set.add(wake);
  return () => set.delete(wake);
}

type EventRow = {
  id: string;
  passport_id: string;
  brand_id: string;
  seq: number;
  type: string;
  occurred_at: Date | string;
  recorded_at: Date | string;
  actor_id: string | null;
  payload: Record<string, unknown>;
  prev_hash: string | null;
  hash: string;
};

/**
 * Queues passport.event_appended for lifecycle events (as the outbox relay announces them) on units of brands
 * with a subscribed endpoint; `data` is the event as the LifecycleEvent GraphQL type shows it. When no endpoint
 * subscribes at all, this costs one small query (bulk signing appends an event per unit).
 */
export async function enqueuePassportEventWebhooks(tx: EntityManager, notices: readonly { passportId: string; eventId: string }[]): Promise<number> {
  if (!notices.length) return 0;
  const [any] = await rawQuery<{ yes: boolean }>(tx, "select exists (select 1 from webhook_endpoint where enabled and 'PASSPORT_EVENT_APPENDED' = any(events)) as yes", []);
  if (!any?.yes) return 0;
  const rows = await rawQuery<EventRow>(
    tx,
    `select e.id, e.passport_id, p.brand_id, e.seq, e.type::text as type, e.occurred_at, e.recorded_at, e.actor_id, e.payload, e.prev_hash, e.hash
     from lifecycle_event e join passport p on p.id = e.passport_id
     where e.id = any($1::uuid[])
       and exists (select 1 from webhook_endpoint w where w.brand_id = p.brand_id and w.enabled and 'PASSPORT_EVENT_APPENDED' = any(w.events))`,
    [notices.map((n) => n.eventId)],
  );
  const iso = (d: Date | string) => new Date(d).toISOString();
  return enqueueWebhookEvents(
    tx,
    rows.map((e) => ({
      eventId: e.id,
      brandId: e.brand_id,
      type: 'PASSPORT_EVENT_APPENDED',
      occurredAt: iso(e.recorded_at),
      data: { id: e.id, passportId: e.passport_id, seq: e.seq, type: e.type, occurredAt: iso(e.occurred_at), recordedAt: iso(e.recorded_at), actorId: e.actor_id, payload: e.payload, prevHash: e.prev_hash, hash: e.hash },
    })),
  );
}
