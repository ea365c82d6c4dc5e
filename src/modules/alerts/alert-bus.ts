import { setMaxListeners } from 'node:events';
import { createPubSub } from '@graphql-yoga/subscription';

/** What subscribers receive: the alert as it stands when published (ids are stable across updates). */
export type AlertMessage = {
  id: string;
  brandId: string;
  passportId: string | null;
  gtin: string;
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
 * Fan-out of what the outbox relay publishes to this process's subscribers, on two topics: fraud alerts
 * and, as a sibling, passport history events (routed by passport id). In-process by default; a
 * Redis-backed implementation of the same calls carries both across replicas.
 */
export type AlertBus = {
  publish(message: AlertMessage): void;
  subscribe(): AsyncIterable<AlertMessage>;
  /** One batch (an outbox row's events): one message across replicas, fanned out locally per unit. */
  publishPassportEvents(notices: readonly PassportEventNotice[]): void;
  /** Notices of one unit only: the local fan-out routes by passport id, so a subscriber sees no other unit's traffic. */
  subscribePassportEvents(passportId: string): AsyncIterable<PassportEventNotice>;
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
