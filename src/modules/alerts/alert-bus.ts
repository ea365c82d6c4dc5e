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

export function createInProcessAlertBus(): AlertBus {
  const pubsub = createPubSub<{ alert: [AlertMessage] }>();
  return {
    publish: (message) => pubsub.publish('alert', message),
    subscribe: () => pubsub.subscribe('alert'),
  };
}
