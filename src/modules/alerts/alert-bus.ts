import { setMaxListeners } from 'node:events';
import { createPubSub } from '@graphql-yoga/subscription';

/** What subscribers receive: the alert as it stands when published (ids are stable across updates). */
export type AlertMessage = {
  id: string;
  brandId: string;
  passportId: string | null;
  /** Null for operational alerts (no product). */
  gtin: string | null;
  kind: string;
  severity: string;
  status: string;
  evidence: Record<string, unknown>;
  count: number;
  firstSeenAt: string;
  lastSeenAt: string;
};

/**
 * That a lifecycle event was appended to a unit. Only ids travel: a subscriber's replica reads the event
 * itself, so a bulk append (100,000 SIGNED events) costs the bus a few small messages, not the events.
 */
export type PassportEventNotice = { passportId: string; eventId: string };

/**
 * Announcement of already-delivered messages to the other replicas (the Redis bus). Each call resolves
 * once Redis took the message and rejects when it did not (down, or slower than its timeout): the relay
 * then keeps the outbox row pending and announces it again when Redis is back. `origin` is the replica
 * that delivered the message locally: that replica drops it when it comes back from the channel.
 */
export type AlertFanOut = {
  /** This replica's id, as the messages it delivers locally carry it. */
  readonly replicaId: string;
  /** False while Redis is unreachable: the relay does not try to announce, it keeps rows pending. */
  ready(): boolean;
  /** Grows each time the connection to Redis is (re)established: the relay then looks for rows still owed. */
  generation(): number;
  alerts(messages: readonly AlertMessage[], origin: string): Promise<void>;
  passportEvents(notices: readonly PassportEventNotice[], origin: string): Promise<void>;
};

/**
 * Fan-out of what the outbox relay publishes to this process's subscribers, on two topics: fraud alerts
 * and, as a sibling, passport history events (routed by passport id). `publish*` delivers to this process
 * only, whatever Redis does; a Redis-backed bus adds `fanOut`, which carries the same messages to the
 * other replicas (see outbox-relay.ts for how the two steps are recorded).
 */
export type AlertBus = {
  publish(message: AlertMessage): void;
  subscribe(): AsyncIterable<AlertMessage>;
  /** One batch (an outbox row's events), fanned out locally per unit. */
  publishPassportEvents(notices: readonly PassportEventNotice[]): void;
  /** Notices of one unit only: the local fan-out routes by passport id, so a subscriber sees no other unit's traffic. */
  subscribePassportEvents(passportId: string): AsyncIterable<PassportEventNotice>;
  /** Across replicas; absent on the in-process bus (one process, nothing to announce). */
  fanOut?: AlertFanOut;
  /** Releases connections (the Redis bus); called on shutdown after the outbox's last flush. */
  close?(): Promise<void>;
};

/**
 * The local fan-out both buses use. Every subscriber is one listener on one EventTarget, so Node's
 * default warning at 11 listeners would fire with the 12th subscriber: lift it (the cap per connection
 * and per server lives in the graphql-ws layer).
 */
export function createLocalPubSub() {
  const eventTarget = new EventTarget();
  setMaxListeners(0, eventTarget);
  const pubsub = createPubSub<{ alert: [AlertMessage]; passportEvent: [passportId: string, notice: PassportEventNotice] }>({ eventTarget: eventTarget as never });
  return Object.assign(pubsub, {
    publishNotices(notices: readonly PassportEventNotice[]) {
      for (const n of notices) pubsub.publish('passportEvent', n.passportId, n);
    },
  });
}

export function createInProcessAlertBus(): AlertBus {
  const pubsub = createLocalPubSub();
  return {
    publish: (message) => pubsub.publish('alert', message),
    subscribe: () => pubsub.subscribe('alert'),
    publishPassportEvents: (notices) => pubsub.publishNotices(notices),
    subscribePassportEvents: (passportId) => pubsub.subscribe('passportEvent', passportId),
  };
}
