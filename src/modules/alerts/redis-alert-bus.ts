import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { type AlertBus, type AlertMessage, createLocalPubSub, type PassportEventNotice } from './alert-bus.js';

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

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A batch of passport event notices, `{ events: [[passportId, eventId], …] }`: delivered only if every pair is two ids. */
function parseNotices(raw: string): PassportEventNotice[] | undefined {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return undefined;
  }
  const events = value && typeof value === 'object' ? (value as { events?: unknown }).events : undefined;
  if (!Array.isArray(events)) return undefined;
  const out: PassportEventNotice[] = [];
  for (const pair of events) {
    if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'string' || typeof pair[1] !== 'string' || !UUID.test(pair[0]) || !UUID.test(pair[1])) return undefined;
    out.push({ passportId: pair[0], eventId: pair[1] });
  }
  return out;
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
      const notices = parseNotices(raw);
      if (notices) local.publishNotices(notices);
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
    publishPassportEvents(notices) {
      if (closed || notices.length === 0) return;
      const message = JSON.stringify({ events: notices.map((n) => [n.passportId, n.eventId]) });
      publisher.publish(PASSPORT_EVENT_CHANNEL, message).catch((err: unknown) => {
        log.warn({ err: (err as Error).message, events: notices.length }, 'passport events not published to redis; the history query has them');
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
