import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { isUuid } from '../../db/ids.js';
import { type AlertBus, type AlertFanOut, type AlertMessage, createLocalPubSub, type PassportEventNotice } from './alert-bus.js';

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
    if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'string' || typeof pair[1] !== 'string' || !isUuid(pair[0]) || !isUuid(pair[1])) return undefined;
    out.push({ passportId: pair[0], eventId: pair[1] });
  }
  return out;
}

/** Reconnect attempts every 100 ms growing to 1 s: replicas are back on the channel within about a second of Redis. */
const reconnectDelay = (attempt: number) => Math.min(attempt * 100, 1000);
/** How long after Redis returns the relay waits before announcing what other replicas missed (their re-subscribe). */
const RESUBSCRIBE_SETTLE_MS = 2000;

/** The replica that delivered a channel message locally (absent from messages of older replicas). */
function originOf(raw: string): string | undefined {
  const m = /^\{"origin":"([0-9a-f-]{36})",/.exec(raw);
  return m?.[1];
}

/** Prefixes the origin to a JSON object, so a receiver reads it without parsing the rest first. */
const withOrigin = (origin: string, body: object) => `{"origin":"${origin}",${JSON.stringify(body).slice(1)}`;

/**
 * Alerts (and, on a second channel, passport events) across replicas through Redis pub/sub. The relay
 * delivers each message to this replica's subscribers itself (`publish*`, whatever Redis does), then
 * announces it on the channel (`fanOut`) tagged with its replica id; every replica delivers what comes
 * from the channel except messages tagged with its own id, which its subscribers already have.
 *
 * The publishing connection never queues: while Redis is down a publish fails at once (or after
 * `timeoutMs` when Redis hangs), and the relay keeps the outbox row to announce when Redis is back.
 * The subscribing connection reconnects and re-subscribes on its own (ioredis).
 */
export function createRedisAlertBus(redisUrl: string, log: Logger, opts: { timeoutMs?: number; settleMs?: number } = {}): AlertBus & { fanOut: AlertFanOut; close(): Promise<void> } {
  const replicaId = randomUUID();
  const { timeoutMs = 1000, settleMs = RESUBSCRIBE_SETTLE_MS } = opts;
  const local = createLocalPubSub();
  const publisher = new Redis(redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: timeoutMs, connectTimeout: 2000, retryStrategy: reconnectDelay });
  // The subscription waits for Redis however long it takes: it is re-made on every reconnect.
  const subscriber = new Redis(redisUrl, { maxRetriesPerRequest: null, retryStrategy: reconnectDelay });
  let publisherDown = false;
  /** After Redis returns, announcements wait until the other replicas have had time to re-subscribe (pub/sub keeps nothing). */
  let announceFrom = 0;
  publisher.on('error', (err) => {
    if (!publisherDown) log.warn({ err: err.message }, 'redis alert publisher unreachable; alerts reach this replica\'s subscribers, other replicas get them when Redis is back');
    publisherDown = true;
  });
  publisher.on('close', () => (publisherDown = true));
  let generation = 0;
  publisher.on('ready', () => {
    generation++;
    if (publisherDown) {
      log.info('redis alert publisher back; announcing what other replicas missed');
      announceFrom = Date.now() + settleMs;
    }
    publisherDown = false;
  });
  subscriber.on('error', (err) => log.debug({ err: err.message }, 'redis alert subscriber error'));
  subscriber.on('ready', () => log.debug('redis alert subscriber ready'));
  subscriber.on('message', (channel: string, raw: string) => {
    if (channel !== PASSPORT_EVENT_CHANNEL && channel !== ALERT_CHANNEL) return;
    if (originOf(raw) === replicaId) return; // delivered locally before it was announced
    if (channel === PASSPORT_EVENT_CHANNEL) {
      const notices = parseNotices(raw);
      if (notices) local.publishNotices(notices);
      else log.warn({ channel, length: raw.length }, 'ignored malformed passport event message');
      return;
    }
    const message = parse(raw);
    if (!message) {
      log.warn({ channel, length: raw.length }, 'ignored malformed fraud alert message');
      return;
    }
    const { origin: _origin, ...alert } = message as AlertMessage & { origin?: string };
    local.publish('alert', alert);
  });
  subscriber.subscribe(ALERT_CHANNEL, PASSPORT_EVENT_CHANNEL).catch((err: unknown) => log.warn({ err: (err as Error).message }, 'redis alert subscribe failed; ioredis retries on reconnect'));

  let closed = false;
  const announce = async (channel: string, bodies: readonly string[]) => {
    if (closed) throw new Error('alert bus closed');
    await Promise.all(bodies.map((body) => publisher.publish(channel, body)));
  };
  return {
    publish: (message) => local.publish('alert', message),
    subscribe: () => local.subscribe('alert'),
    publishPassportEvents: (notices) => local.publishNotices(notices),
    subscribePassportEvents: (passportId) => local.subscribe('passportEvent', passportId),
    fanOut: {
      replicaId,
      ready: () => !closed && publisher.status === 'ready' && Date.now() >= announceFrom,
      generation: () => generation,
      alerts: (messages, origin) => announce(ALERT_CHANNEL, messages.map((m) => withOrigin(origin, m))),
      passportEvents: (notices, origin) =>
        notices.length ? announce(PASSPORT_EVENT_CHANNEL, [withOrigin(origin, { events: notices.map((n) => [n.passportId, n.eventId]) })]) : Promise.resolve(),
    },
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
