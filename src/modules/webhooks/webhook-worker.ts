import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import type { Config } from '../../config/config.js';
import { rawQuery } from '../../db/raw.js';
import { disableEndpoint } from './webhook-disable.js';
import { onDeliveriesCommitted } from './webhook-enqueue.js';
import { type AttemptResult, createAgents, postWebhook } from './webhook-http.js';
import { secretBox, signatureHeader } from './webhook-secret.js';

/** Attempts in flight in one process, over all endpoints. */
const MAX_IN_FLIGHT = 128;
/** How long past the total timeout a claim stays ours before another replica may take the row again. */
const CLAIM_MARGIN_MS = 30_000;

type Claimed = {
  id: string;
  endpoint_id: string;
  event_id: string;
  body: string;
  attempts: number;
  url: string;
  secret_sealed: string;
  previous_secret_sealed: string | null;
  previous_secret_expires_at: Date | string | null;
};

/**
 * Claims due deliveries, at most `concurrency` in flight per endpoint over every replica. Candidates are taken
 * per endpoint (endpoints in random order, each up to its free slots), so one endpoint's backlog never fills a
 * claim and starves the others; they are locked `for update skip locked` (no two replicas take one), then their endpoints in id order
 * (`for no key update`, so claims for one endpoint are serialised without blocking new deliveries' foreign
 * keys), and only the free slots are marked SENDING; the rest stay due for the next cycle.
 */
async function claim(tx: EntityManager, limit: number, concurrency: number, claimMs: number): Promise<Claimed[]> {
  const due = await rawQuery<{ id: string; endpoint_id: string }>(
    tx,
    `select d.id, d.endpoint_id
     from (select e.id from webhook_endpoint e where e.enabled and exists (
             select 1 from webhook_delivery x where x.endpoint_id = e.id and x.status in ('PENDING', 'SENDING') and x.next_attempt_at <= now())
           order by random()) e
     cross join lateral (
       select d.id, d.endpoint_id from webhook_delivery d
       where d.endpoint_id = e.id and d.status in ('PENDING', 'SENDING') and d.next_attempt_at <= now()
       order by d.next_attempt_at
       limit greatest(0, $2::int - (select count(*) from webhook_delivery b where b.endpoint_id = e.id and b.status = 'SENDING' and b.next_attempt_at > now()))
       for update of d skip locked) d
     limit $1`,
    [limit, concurrency],
  );
  if (!due.length) return [];
  const endpoints = [...new Set(due.map((d) => d.endpoint_id))].sort();
  await rawQuery(tx, 'select id from webhook_endpoint where id = any($1::uuid[]) order by id for no key update', [endpoints]);
  const busy = await rawQuery<{ endpoint_id: string; n: number }>(
    tx,
    `select endpoint_id, count(*)::int as n from webhook_delivery
     where endpoint_id = any($1::uuid[]) and status = 'SENDING' and next_attempt_at > now() group by endpoint_id`,
    [endpoints],
  );
  const free = new Map(endpoints.map((id) => [id, concurrency]));
  for (const b of busy) free.set(b.endpoint_id, concurrency - b.n);
  const chosen: string[] = [];
  for (const d of due) {
    const left = free.get(d.endpoint_id)!;
    if (left > 0) (chosen.push(d.id), free.set(d.endpoint_id, left - 1));
  }
  if (!chosen.length) return [];
  return rawQuery<Claimed>(
    tx,
    `update webhook_delivery d set status = 'SENDING', attempts = d.attempts + 1, last_attempt_at = now(), next_attempt_at = now() + $2::bigint * interval '1 millisecond'
     from webhook_endpoint e where e.id = d.endpoint_id and d.id = any($1::uuid[])
     returning d.id, d.endpoint_id, d.event_id, d.body, d.attempts, e.url, e.secret_sealed, e.previous_secret_sealed, e.previous_secret_expires_at`,
    [chosen, claimMs],
  );
}

/** The delay before the next attempt after `attempts` failed ones, ±20 % jitter; null when the schedule is spent. */
export function retryDelayMs(scheduleMs: readonly number[], attempts: number, random = Math.random): number | null {
  const base = scheduleMs[attempts - 1];
  if (base === undefined) return null;
  return Math.round(base * (0.8 + 0.4 * random()));
}

/** A receiver's Retry-After on 429 or 503 postpones the next attempt (never brings it forward), at most 6 hours. */
export function honourRetryAfter(delay: number | null, r: Pick<AttemptResult, 'status' | 'retryAfterMs'>): number | null {
  if (delay === null || (r.status !== 429 && r.status !== 503) || r.retryAfterMs == null) return delay;
  return Math.max(delay, Math.min(r.retryAfterMs, 6 * 3_600_000));
}

/** What the worker reports per attempt (the server wires it to Prometheus). */
export type WebhookObserver = (endpointId: string, outcome: 'delivered' | 'retry' | 'failed' | 'gone', seconds: number) => void;

export type WebhookWorker = {
  /** Deliveries pending or in flight per endpoint. */
  queueDepth(): Promise<{ endpointId: string; due: number }[]>;
  /** Look for due deliveries now (after a commit that wrote some, or a redelivery). */
  kick(): void;
  /** Waits for the attempts in flight. */
  idle(): Promise<void>;
  stop(): Promise<void>;
};

/**
 * Sends due webhook deliveries (Standard Webhooks headers, signed with every valid secret of the endpoint)
 * and records each attempt: 2xx delivered; 410 disables the endpoint; anything else is retried on the
 * configured schedule, then FAILED and the endpoint disabled; disabling alerts the brand ({@link disableEndpoint}).
 * Polls, and wakes at once when a commit wrote deliveries.
 */
export function startWebhookWorker(orm: MikroORM, config: Config, masterKey: Uint8Array, log: Logger, observe?: WebhookObserver): WebhookWorker {
  const cfg = config.webhooks;
  const box = secretBox(masterKey);
  const agents = createAgents();
  const inFlight = new Set<Promise<void>>();
  let stopping = false;
  let running: Promise<void> | undefined;
  let again = false;

  const record = async (d: Claimed, r: AttemptResult): Promise<void> => {
    const em = orm.em.fork();
    const ok = r.status !== null && r.status >= 200 && r.status < 300;
    const gone = r.status === 410;
    const delay = ok || gone ? null : honourRetryAfter(retryDelayMs(cfg.retryScheduleMs, d.attempts), r);
    const status = ok ? 'DELIVERED' : delay === null ? 'FAILED' : 'PENDING';
    const error = ok ? null : (r.error ?? `HTTP ${r.status}`);
    const disabled = await em.transactional(async (tx) => {
      // Only while the claim is still ours: a claim that expired may have been taken again.
      const [mine] = await rawQuery<{ id: string }>(
        tx,
        `update webhook_delivery set status = $3::text::webhook_delivery_status, response_code = $4::int, duration_ms = $5::int, error = $6::text,
           next_attempt_at = case when $7::bigint is null then null else now() + $7::bigint * interval '1 millisecond' end,
           delivered_at = case when $3::text = 'DELIVERED' then now() end
         where id = $1::uuid and attempts = $2::int and status = 'SENDING'
         returning id`,
        [d.id, d.attempts, status, r.status, r.durationMs, error, delay],
      );
      // 410: the receiver asked to stop. Retries spent (75 h by default): the endpoint has failed repeatedly; stop
      // too, and tell the brand (an alert, once per disabling). A claim lost meanwhile records nothing.
      if (status !== 'FAILED' || !mine) return null;
      const last = { deliveryId: d.id, webhookId: `msg_${d.event_id}`, attempts: d.attempts, responseCode: r.status, error };
      return disableEndpoint(tx, d.endpoint_id, gone ? 'GONE' : 'FAILING', last);
    });
    observe?.(d.endpoint_id, ok ? 'delivered' : gone ? 'gone' : delay === null ? 'failed' : 'retry', r.durationMs / 1000);
    if (disabled) log.warn({ endpointId: d.endpoint_id, alertId: disabled.id, gone }, gone ? 'webhook endpoint answered 410 Gone: disabled, brand alerted' : 'webhook delivery failed after every retry: endpoint disabled, brand alerted');
  };

  const attempt = async (d: Claimed): Promise<void> => {
    const secrets = [box.open(d.secret_sealed)];
    if (d.previous_secret_sealed && d.previous_secret_expires_at && new Date(d.previous_secret_expires_at) > new Date()) secrets.push(box.open(d.previous_secret_sealed));
    const webhookId = `msg_${d.event_id}`;
    const at = new Date();
    const headers = {
      'webhook-id': webhookId,
      'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
      'webhook-signature': signatureHeader(secrets, webhookId, at, d.body),
    };
    const result = await postWebhook(agents, d.url, headers, d.body, { connectTimeoutMs: cfg.connectTimeoutMs, timeoutMs: cfg.timeoutMs, strict: cfg.strictUrls });
    await record(d, result);
  };

  const cycle = async (): Promise<void> => {
    for (;;) {
      const room = MAX_IN_FLIGHT - inFlight.size;
      if (room <= 0 || stopping) return;
      const claimed = await orm.em.fork().transactional((tx) => claim(tx, room, cfg.concurrency, cfg.timeoutMs + CLAIM_MARGIN_MS));
      for (const d of claimed) {
        const p: Promise<void> = attempt(d)
          .catch((err: unknown) => log.warn({ err, deliveryId: d.id }, 'webhook attempt could not be recorded; it is retried when its claim expires'))
          .finally(() => {
            inFlight.delete(p);
            kick(); // a slot freed: an endpoint's next delivery may go now
          });
        inFlight.add(p);
      }
      if (claimed.length < room) return;
    }
  };

  const kick = (): void => {
    if (stopping) return;
    if (running) {
      again = true;
      return;
    }
    running = cycle()
      .catch((err: unknown) => {
        if (!stopping) log.warn({ err }, 'webhook delivery cycle failed; will retry');
      })
      .finally(() => {
        running = undefined;
        if (again) {
          again = false;
          kick();
        }
      });
  };

  const timer = setInterval(kick, cfg.pollMs);
  timer.unref();
  const stopWake = onDeliveriesCommitted(orm, kick);
  kick();
  return {
    kick,
    async queueDepth() {
      const rows = await rawQuery<{ endpoint_id: string; n: number }>(
        orm.em.fork(),
        "select endpoint_id, count(*)::int as n from webhook_delivery where status in ('PENDING', 'SENDING') group by endpoint_id",
        [],
      );
      return rows.map((r) => ({ endpointId: r.endpoint_id, due: r.n }));
    },
    async idle() {
      await running;
      await Promise.all([...inFlight]);
    },
    async stop() {
      stopping = true;
      clearInterval(timer);
      stopWake();
      await running;
      // Attempts in flight are cut off and recorded as failed (retried on schedule): at least once, not a hung shutdown.
      agents.destroy();
      await Promise.all([...inFlight]);
    },
  };
}
