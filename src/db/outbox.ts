import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';

/** Topics of `outbox_message` rows: what the relay publishes after commit. */
export const OUTBOX_TOPICS = {
  /** `{ alertId, brandId }`: an alert raised or grown by a scan. */
  fraudAlert: 'fraud-alert',
  /** `{ events: [[passportId, eventId], …] }`: lifecycle events appended in one statement (one row per chunk, not per event). */
  passportEvent: 'passport-event',
} as const;
export type OutboxTopic = (typeof OUTBOX_TOPICS)[keyof typeof OUTBOX_TOPICS];

/** Transactions (the driver's transaction objects) that wrote outbox rows, with the topics they wrote. */
const pending = new WeakMap<object, Set<OutboxTopic>>();

/**
 * Notes that the entity manager's transaction wrote outbox rows, so the relay is kicked the moment it
 * commits instead of on its next tick. Purely a latency hint: the relay polls anyway, and a rolled-back
 * transaction's note is simply never consumed.
 */
export function noteOutboxWrite(em: EntityManager, topic: OutboxTopic): void {
  const trx = em.getTransactionContext();
  if (!trx || typeof trx !== 'object') return;
  let topics = pending.get(trx);
  if (!topics) pending.set(trx, (topics = new Set()));
  topics.add(topic);
}

type Listener = (topics: ReadonlySet<OutboxTopic>) => void;
/** One commit subscriber per ORM, fanning out to every listener (relays come and go; subscribers cannot). */
const listeners = new WeakMap<MikroORM, Set<Listener>>();

/**
 * Calls `onCommit` with its topics after every commit of a transaction that {@link noteOutboxWrite} marked; the returned
 * function stops it. The mark is left for the garbage collector (a transaction object is never reused).
 */
export function onOutboxCommit(orm: MikroORM, onCommit: Listener): () => void {
  let set = listeners.get(orm);
  if (!set) {
    const created = new Set<Listener>();
    listeners.set(orm, (set = created));
    orm.em.getEventManager().registerSubscriber({
      afterTransactionCommit: ({ transaction }) => {
        const topics = transaction && typeof transaction === 'object' ? pending.get(transaction) : undefined;
        if (topics) for (const listener of created) listener(topics);
      },
    });
  }
  set.add(onCommit);
  return () => set.delete(onCommit);
}
