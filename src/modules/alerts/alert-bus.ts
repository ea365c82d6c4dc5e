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

/** A lifecycle event as `passportEvents` subscribers receive it: the stored event, plus its unit's brand. */
export type PassportEventMessage = {
  id: string;
  passportId: string;
  brandId: string;
  seq: number;
  type: string;
  occurredAt: string;
  recordedAt: string;
  actorId: string | null;
  payload: Record<string, unknown>;
  prevHash: string | null;
  hash: string;
};

/**
 * Fan-out of what the outbox relay publishes to this process's subscribers, on two topics: fraud alerts
 * and, as a sibling, passport history events (routed by passport id). In-process by default; a
 * Redis-backed implementation of the same calls carries both across replicas.
 */
export type AlertBus = {
  publish(message: AlertMessage): void;
  subscribe(): AsyncIterable<AlertMessage>;
  publishPassportEvent(message: PassportEventMessage): void;
  /** Events of one unit only: the local fan-out routes by passport id, so a subscriber sees no other unit's traffic. */
  subscribePassportEvents(passportId: string): AsyncIterable<PassportEventMessage>;
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
  return createPubSub<{ alert: [AlertMessage]; passportEvent: [passportId: string, message: PassportEventMessage] }>({ eventTarget: eventTarget as never });
}

export function createInProcessAlertBus(): AlertBus {
  const pubsub = createLocalPubSub();
  return {
    publish: (message) => pubsub.publish('alert', message),
    subscribe: () => pubsub.subscribe('alert'),
    publishPassportEvent: (message) => pubsub.publish('passportEvent', message.passportId, message),
    subscribePassportEvents: (passportId) => pubsub.subscribe('passportEvent', passportId),
  };
}
