import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { type AlertBus, type AlertMessage, createLocalPubSub, type PassportEventMessage } from './alert-bus.js';

export const ALERT_CHANNEL = 'dpp:fraud-alerts';
export const PASSPORT_EVENT_CHANNEL = 'dpp:passport-events';

/** A message from the channel is delivered only if it has the fields subscribers filter on. */
function parse(raw: string): AlertMessage | undefined {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (!value || typeof value !== 'object') return undefined;
  const m = value as Partial<AlertMessage>;
  if (typeof m.id !== 'string' || typeof m.brandId !== 'string' || typeof m.kind !== 'string' || typeof m.severity !== 'string' || typeof m.status !== 'string') return undefined;
  return m as AlertMessage;
}

/** Likewise for passport events: delivered only with the fields routing and access depend on. */
function parsePassportEvent(raw: string): PassportEventMessage | undefined {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (!value || typeof value !== 'object') return undefined;
  const m = value as Partial<PassportEventMessage>;
  if (typeof m.id !== 'string' || typeof m.passportId !== 'string' || typeof m.brandId !== 'string' || typeof m.type !== 'string' || typeof m.seq !== 'number' || typeof m.hash !== 'string') return undefined;
  if (typeof m.occurredAt !== 'string' || typeof m.recordedAt !== 'string' || !m.payload || typeof m.payload !== 'object') return undefined;
  return m as PassportEventMessage;
}

/**
 * Alerts (and, on a second channel, passport events) across replicas through Redis pub/sub. Every replica, the publishing one included, delivers what
 * comes back from the channel (never also locally, or its own subscribers would get each alert twice).
 * Pub/sub is at most once: a publish lost to a Redis outage is not retried; the alert row is durable and
 * the `fraudAlerts` query lets apps catch up. ioredis reconnects and re-subscribes on its own.
 */
export function createRedisAlertBus(redisUrl: string, log: Logger): AlertBus & { close(): Promise<void> } {
  const local = createLocalPubSub();
  const publisher = new Redis(redisUrl, { maxRetriesPerRequest: 2 });
  const subscriber = new Redis(redisUrl, { maxRetriesPerRequest: 2 });
  publisher.on('error', (err) => log.warn({ err: err.message }, 'redis alert publisher error'));
  subscriber.on('error', (err) => log.warn({ err: err.message }, 'redis alert subscriber error'));
  subscriber.on('ready', () => log.debug('redis alert subscriber ready'));
  subscriber.on('message', (channel: string, raw: string) => {
    if (channel === PASSPORT_EVENT_CHANNEL) {
      const event = parsePassportEvent(raw);
      if (event) local.publish('passportEvent', event.passportId, event);
      else log.warn({ channel, length: raw.length }, 'ignored malformed passport event message');
      return;
    }
    if (channel !== ALERT_CHANNEL) return;
    const message = parse(raw);
    if (!message) {
      log.warn({ channel, length: raw.length }, 'ignored malformed fraud alert message');
      return;
    }
    local.publish('alert', message);
  });
  subscriber.subscribe(ALERT_CHANNEL, PASSPORT_EVENT_CHANNEL).catch((err: unknown) => log.warn({ err: (err as Error).message }, 'redis alert subscribe failed; ioredis retries on reconnect'));

  let closed = false;
  return {
    publish(message) {
      if (closed) return;
      publisher.publish(ALERT_CHANNEL, JSON.stringify(message)).catch((err: unknown) => {
        log.warn({ err: (err as Error).message, alertId: message.id }, 'fraud alert not published to redis; apps catch up through the fraudAlerts query');
      });
    },
    subscribe: () => local.subscribe('alert'),
    publishPassportEvent(message) {
      if (closed) return;
      publisher.publish(PASSPORT_EVENT_CHANNEL, JSON.stringify(message)).catch((err: unknown) => {
        log.warn({ err: (err as Error).message, eventId: message.id }, 'passport event not published to redis; the history query has it');
      });
    },
    subscribePassportEvents: (passportId) => local.subscribe('passportEvent', passportId),
    async close() {
      if (closed) return;
      closed = true;
      // quit() waits for pending publishes; a connection that is down is simply dropped.
      await Promise.all(
        [publisher, subscriber].map((c) =>
          c.status === 'ready' ? c.quit().then(() => undefined, () => c.disconnect()) : Promise.resolve(c.disconnect()),
        ),
      );
    },
  };
}
