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
 * Fan-out of published alerts to this process's subscribers. In-process by default; a Redis-backed
 * implementation of the same two calls carries alerts across replicas.
 */
export type AlertBus = {
  publish(message: AlertMessage): void;
  subscribe(): AsyncIterable<AlertMessage>;
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
  return createPubSub<{ alert: [AlertMessage] }>({ eventTarget: eventTarget as never });
}

export function createInProcessAlertBus(): AlertBus {
  const pubsub = createLocalPubSub();
  return {
    publish: (message) => pubsub.publish('alert', message),
    subscribe: () => pubsub.subscribe('alert'),
  };
}
