import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import { OUTBOX_TOPICS, type OutboxTopic, onOutboxCommit } from '../../db/outbox.js';
import { rawQuery } from '../../db/raw.js';
import type { AlertBus } from './alert-bus.js';
import { type AlertRow, alertColumns, alertFromRow } from './alert.service.js';

type Row = AlertRow & { outbox_id: string };

/** Outbox rows of history events claimed per transaction; each names up to 10,000 events (one insert chunk). */
const EVENT_ROWS_PER_CYCLE = 20;

/**
 * Publishes the notices of up to {@link EVENT_ROWS_PER_CYCLE} pending `passport-event` rows (one bus
 * message per row: ids only, the subscriber's replica reads the event) and marks them, in one transaction:
 * the same at-least-once contract as alerts. Answers the number of rows claimed.
 */
async function publishPassportEvents(tx: EntityManager, bus: AlertBus): Promise<number> {
  const rows = await rawQuery<{ id: string; events: [string, string][] }>(
    tx,
    `select o.id, o.payload->'events' as events from outbox_message o where o.published_at is null and o.topic = $1
     order by o.id limit $2 for update of o skip locked`,
    [OUTBOX_TOPICS.passportEvent, EVENT_ROWS_PER_CYCLE],
  );
  for (const row of rows) bus.publishPassportEvents((row.events ?? []).map(([passportId, eventId]) => ({ passportId, eventId })));
  if (rows.length) await rawQuery(tx, 'update outbox_message set published_at = now() where id = any($1::uuid[])', [rows.map((r) => r.id)]);
  return rows.length;
}

/** Publishes up to {@link ALERT_ROWS_PER_CYCLE} pending alert rows and marks them, in one transaction. Answers the rows claimed. */
async function publishAlerts(tx: EntityManager, bus: AlertBus): Promise<number> {
  const rows = await rawQuery<Row>(
    tx,
    `select o.id as outbox_id, ${alertColumns('a')}
     from outbox_message o join fraud_alert a on a.id = (o.payload->>'alertId')::uuid
     where o.published_at is null and o.topic = $1
     order by o.id limit $2 for update of o skip locked`,
    [OUTBOX_TOPICS.fraudAlert, ALERT_ROWS_PER_CYCLE],
  );
  for (const r of rows) bus.publish(alertFromRow(r));
  if (rows.length) await rawQuery(tx, 'update outbox_message set published_at = now() where id = any($1::uuid[])', [rows.map((r) => r.outbox_id)]);
  return rows.length;
}

const ALERT_ROWS_PER_CYCLE = 200;
const PUBLISHERS: Record<OutboxTopic, { publish: (tx: EntityManager, bus: AlertBus) => Promise<number>; perCycle: number }> = {
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
 * for. Rows are claimed with `for update skip locked` (several replicas may relay), published, then marked
 * in the same transaction: a crash between publish and commit publishes the row again after restart (at
 * least once; an alert's id and count, an event's id and seq, let subscribers drop repeats). Runs on a
 * timer over every topic, and at once after any commit that wrote outbox rows, over that commit's topics
 * only (see db/outbox.ts), so a scan that raised an alert costs one relay transaction, not one per topic.
 */
export function startOutboxRelay(orm: MikroORM, bus: AlertBus, log: Logger, intervalMs = 250): OutboxRelay {
  let running: Promise<number> | undefined;
  let stopped = false;
  /** Set when stop() begins: no new cycle starts, the one running finishes. */
  let stopping = false;
  const cycle = async (topics: ReadonlySet<OutboxTopic>): Promise<number> => {
    let total = 0;
    for (const topic of topics) {
      const { publish, perCycle } = PUBLISHERS[topic];
      for (;;) {
        const claimed = await orm.em.fork().transactional((tx) => publish(tx, bus));
        total += claimed;
        if (claimed < perCycle) break;
      }
    }
    return total;
  };
  // A kick during a cycle may concern rows that cycle's query no longer sees: run once more right after.
  const again = new Set<OutboxTopic>();
  const run = (topics: Iterable<OutboxTopic> = ALL_TOPICS): Promise<number> => {
    if (stopped || stopping) return Promise.resolve(0);
    if (running) return running;
    running = cycle(new Set(topics))
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
  const timer = setInterval(() => void run(), intervalMs);
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
