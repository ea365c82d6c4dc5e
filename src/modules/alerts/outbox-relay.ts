import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import { OUTBOX_TOPICS, type OutboxTopic, onOutboxCommit } from '../../db/outbox.js';
import { rawQuery } from '../../db/raw.js';
import { enqueuePassportEventWebhooks, enqueueWebhookEvents, type WebhookEvent } from '../webhooks/webhook-enqueue.js';
import type { AlertBus, AlertFanOut, AlertMessage } from './alert-bus.js';
import { type AlertRow, alertColumns, alertFromRow } from './alert.service.js';

type Row = AlertRow & { outbox_id: string; published_by?: string; raised?: boolean | null };

/** An alert as a webhook event: `data` is what the FraudAlert GraphQL type shows the brand; raised when the row was new, updated when its count grew. */
function alertWebhookEvent(eventId: string, m: AlertMessage, raised: boolean): WebhookEvent {
  const data = {
    id: m.id,
    kind: m.kind,
    severity: m.severity,
    status: m.status,
    passportId: m.passportId,
    gtin: m.gtin,
    count: m.count,
    createdAt: m.firstSeenAt,
    lastSeenAt: m.lastSeenAt,
    acknowledgedAt: null,
    evidence: m.evidence,
  };
  return { eventId, brandId: m.brandId, type: raised ? 'FRAUD_ALERT_RAISED' : 'FRAUD_ALERT_UPDATED', occurredAt: m.lastSeenAt, data };
}

/** Outbox rows of history events claimed per transaction; each names up to 10,000 events (one insert chunk). */
const EVENT_ROWS_PER_CYCLE = 20;
const ALERT_ROWS_PER_CYCLE = 200;

/**
 * Announces to the other replicas what this one delivered (see {@link AlertFanOut}); answers whether they
 * now have it. With no fan-out (one process) there is no one else to tell: true.
 */
async function announced(bus: AlertBus, send: (fanOut: AlertFanOut) => Promise<void>): Promise<boolean> {
  if (!bus.fanOut) return true;
  if (!bus.fanOut.ready()) return false;
  return send(bus.fanOut).then(() => true, () => false);
}

/**
 * Marks claimed rows delivered here (`published_at`, `published_by` this replica) and, when the other
 * replicas were told too, announced (`relayed_at`); rows left unannounced wait for {@link announcePending}.
 */
async function markDelivered(tx: EntityManager, bus: AlertBus, ids: readonly string[], relayed: boolean, owe: () => void): Promise<void> {
  if (!relayed) owe();
  await rawQuery(
    tx,
    'update outbox_message set published_at = now(), published_by = $2, relayed_at = case when $3::boolean then now() end where id = any($1::uuid[])',
    [ids, bus.fanOut?.replicaId ?? null, relayed],
  );
}

/** The notices of an outbox row's `events` payload. */
const noticesOf = (events: [string, string][] | null) => (events ?? []).map(([passportId, eventId]) => ({ passportId, eventId }));

/**
 * Delivers the notices of up to {@link EVENT_ROWS_PER_CYCLE} pending `passport-event` rows to this
 * replica's subscribers, announces them across replicas, and marks them, in one transaction: the same
 * at-least-once contract as alerts. Answers the number of rows claimed.
 */
async function publishPassportEvents(tx: EntityManager, bus: AlertBus, owe: () => void): Promise<number> {
  const rows = await rawQuery<{ id: string; events: [string, string][] }>(
    tx,
    `select o.id, o.payload->'events' as events from outbox_message o where o.published_at is null and o.topic = $1
     order by o.id limit $2 for update of o skip locked`,
    [OUTBOX_TOPICS.passportEvent, EVENT_ROWS_PER_CYCLE],
  );
  if (!rows.length) return 0;
  for (const row of rows) bus.publishPassportEvents(noticesOf(row.events));
  await enqueuePassportEventWebhooks(tx, rows.flatMap((r) => noticesOf(r.events)));
  const relayed = await announced(bus, (f) => Promise.all(rows.map((r) => f.passportEvents(noticesOf(r.events), f.replicaId))).then(() => undefined));
  await markDelivered(tx, bus, rows.map((r) => r.id), relayed, owe);
  return rows.length;
}

/** Delivers up to {@link ALERT_ROWS_PER_CYCLE} pending alert rows here, announces them, and marks them, in one transaction. Answers the rows claimed. */
async function publishAlerts(tx: EntityManager, bus: AlertBus, owe: () => void): Promise<number> {
  const rows = await rawQuery<Row>(
    tx,
    `select o.id as outbox_id, (o.payload->>'raised')::boolean as raised, ${alertColumns('a')}
     from outbox_message o join fraud_alert a on a.id = (o.payload->>'alertId')::uuid
     where o.published_at is null and o.topic = $1
     order by o.id limit $2 for update of o skip locked`,
    [OUTBOX_TOPICS.fraudAlert, ALERT_ROWS_PER_CYCLE],
  );
  if (!rows.length) return 0;
  const messages = rows.map(alertFromRow);
  for (const m of messages) bus.publish(m);
  // Webhook deliveries are written with the mark below: a row is queued for endpoints exactly once.
  await enqueueWebhookEvents(tx, rows.map((r, i) => alertWebhookEvent(r.outbox_id, messages[i]!, r.raised ?? r.count === 1)));
  const relayed = await announced(bus, (f) => f.alerts(messages, f.replicaId));
  await markDelivered(tx, bus, rows.map((r) => r.outbox_id), relayed, owe);
  return rows.length;
}

/** Rows delivered by some replica while Redis was away, grouped by that replica (the origin their announcement carries). */
function byOrigin<T extends { published_by: string }>(rows: readonly T[]): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const r of rows) groups.set(r.published_by, [...(groups.get(r.published_by) ?? []), r]);
  return groups;
}

/**
 * Announces to the other replicas the rows some replica delivered locally while Redis was away (oldest
 * first, tagged with that replica's id so it does not deliver them twice), then marks them; a failed
 * announcement rolls the claim back and leaves them for the next cycle. Answers the rows announced.
 */
async function announcePending(tx: EntityManager, bus: AlertBus, topic: OutboxTopic): Promise<number> {
  const fanOut = bus.fanOut;
  if (!fanOut?.ready()) return 0;
  const pending = 'o.relayed_at is null and o.published_by is not null and o.topic = $1 order by o.id limit $2 for update of o skip locked';
  let ids: string[];
  if (topic === OUTBOX_TOPICS.fraudAlert) {
    const rows = await rawQuery<Row & { published_by: string }>(
      tx,
      `select o.id as outbox_id, o.published_by, ${alertColumns('a')} from outbox_message o join fraud_alert a on a.id = (o.payload->>'alertId')::uuid where ${pending}`,
      [topic, ALERT_ROWS_PER_CYCLE],
    );
    for (const [origin, group] of byOrigin(rows)) await fanOut.alerts(group.map(alertFromRow), origin);
    ids = rows.map((r) => r.outbox_id);
  } else {
    const rows = await rawQuery<{ id: string; published_by: string; events: [string, string][] }>(
      tx,
      `select o.id, o.published_by, o.payload->'events' as events from outbox_message o where ${pending}`,
      [topic, EVENT_ROWS_PER_CYCLE],
    );
    for (const r of rows) await fanOut.passportEvents(noticesOf(r.events), r.published_by);
    ids = rows.map((r) => r.id);
  }
  if (ids.length) await rawQuery(tx, 'update outbox_message set relayed_at = now() where id = any($1::uuid[])', [ids]);
  return ids.length;
}

const PUBLISHERS: Record<OutboxTopic, { publish: (tx: EntityManager, bus: AlertBus, owe: () => void) => Promise<number>; perCycle: number }> = {
  [OUTBOX_TOPICS.fraudAlert]: { publish: publishAlerts, perCycle: ALERT_ROWS_PER_CYCLE },
  [OUTBOX_TOPICS.passportEvent]: { publish: publishPassportEvents, perCycle: EVENT_ROWS_PER_CYCLE },
};
const ALL_TOPICS: readonly OutboxTopic[] = Object.values(OUTBOX_TOPICS);

export type OutboxRelay = {
  /** Publish soon (after a commit that wrote outbox rows) instead of waiting for the next tick. */
  kick(topics?: Iterable<OutboxTopic>): void;
  /** Publishes whatever is pending now; resolves when done. */
  flush(): Promise<number>;
  stop(): Promise<void>;
};

/**
 * Publishes committed outbox rows: fraud alerts, and the lifecycle events `passportEvents` subscribers wait
 * for. Rows are claimed with `for update skip locked` (several replicas may relay), delivered to this
 * replica's subscribers, announced to the other replicas (Redis), then marked in the same transaction: a
 * crash between delivery and commit delivers the row again after restart (at least once; an alert's id
 * and count, an event's id and seq, let subscribers drop repeats). A row Redis did not take stays
 * unannounced (`relayed_at` null) and the timer announces it once Redis is back. Runs on a
 * timer over every topic, and at once after any commit that wrote outbox rows, over that commit's topics
 * only (see db/outbox.ts), so a scan that raised an alert costs one relay transaction, not one per topic.
 */
export function startOutboxRelay(orm: MikroORM, bus: AlertBus, log: Logger, intervalMs = 250): OutboxRelay {
  let running: Promise<number> | undefined;
  let stopped = false;
  /** Set when stop() begins: no new cycle starts, the one running finishes. */
  let stopping = false;
  /**
   * Whether rows may wait to be announced across replicas: at start (a previous run's, or a dead replica's),
   * after this replica left some unannounced, and after every reconnect to Redis (`generation` changes).
   */
  let owed = true;
  let checkedGeneration = -1;
  const owe = () => (owed = true);
  const announceOwed = async (topics: ReadonlySet<OutboxTopic>) => {
    const fanOut = bus.fanOut;
    if (!fanOut?.ready() || (!owed && fanOut.generation() === checkedGeneration)) return;
    const generation = fanOut.generation();
    owed = false;
    try {
      for (const topic of topics) {
        for (;;) {
          const sent = await orm.em.fork().transactional((tx) => announcePending(tx, bus, topic));
          if (sent) log.info({ topic, rows: sent }, 'announced to other replicas what was delivered while Redis was away');
          if (sent < PUBLISHERS[topic].perCycle) break;
        }
      }
      checkedGeneration = generation;
    } catch (err) {
      owed = true; // Redis left again: the rows stay pending
      log.debug({ err }, 'announcing pending outbox rows failed; will retry');
    }
  };
  const cycle = async (topics: ReadonlySet<OutboxTopic>, withPending: boolean): Promise<number> => {
    let total = 0;
    for (const topic of topics) {
      const { publish, perCycle } = PUBLISHERS[topic];
      for (;;) {
        const claimed = await orm.em.fork().transactional((tx) => publish(tx, bus, owe));
        total += claimed;
        if (claimed < perCycle) break;
      }
    }
    if (withPending) await announceOwed(topics);
    return total;
  };
  // A kick during a cycle may concern rows that cycle's query no longer sees: run once more right after.
  const again = new Set<OutboxTopic>();
  const run = (topics: Iterable<OutboxTopic> = ALL_TOPICS, withPending = false): Promise<number> => {
    if (stopped || stopping) return Promise.resolve(0);
    if (running) return running;
    running = cycle(new Set(topics), withPending)
      .catch((err: unknown) => {
        if (!stopped) log.warn({ err }, 'outbox relay cycle failed; will retry');
        return 0;
      })
      .finally(() => {
        running = undefined;
        if (again.size) {
          const next = [...again];
          again.clear();
          void run(next);
        }
      });
    return running;
  };
  const kick = (topics: Iterable<OutboxTopic> = ALL_TOPICS) => {
    if (running) for (const t of topics) again.add(t);
    else void run(topics);
  };
  // The timer also announces across replicas what was delivered here while Redis was away (kicks stay on the fast path).
  const timer = setInterval(() => void run(ALL_TOPICS, true), intervalMs);
  timer.unref();
  const stopKicks = onOutboxCommit(orm, kick);
  void run();
  return {
    kick,
    flush: async () => {
      await running;
      return run();
    },
    async stop() {
      clearInterval(timer);
      stopKicks();
      stopping = true;
      await running;
      stopped = true;
    },
  };
}
