import pg from 'pg';
import type { Logger } from 'pino';
import type { ApiKeyCache } from './api-key-cache.js';

/** Carries the id of a revoked API key; sent by revokeApiKey inside its transaction, so only on commit. */
export const API_KEY_REVOKED_CHANNEL = 'dpp_api_key_revoked';

/** The listener's connection names itself, so operators (and tests) can find it in pg_stat_activity. */
export const API_KEY_LISTENER_APPLICATION_NAME = 'dpp-api-key-listener';

export type ApiKeyListenerOptions = {
  /** First reconnect backoff; doubles per failed attempt up to `maxRetryMs`. Each wait is a random time between half the backoff and all of it. */
  minRetryMs?: number;
  maxRetryMs?: number;
  /** A `select 1` on the connection this often; no answer within half of it counts as a lost connection. */
  heartbeatMs?: number;
};

export type ApiKeyListener = {
  /** True while LISTEN is in effect (and so the cache is on). */
  readonly listening: boolean;
  close(): Promise<void>;
};

/**
 * "Equal jitter": half the backoff fixed, half random, so replicas that lost the database together (a
 * restart) spread their reconnects instead of arriving in lockstep, and none retries sooner than half of it.
 */
function jittered(backoffMs: number): number {
  return Math.round(backoffMs / 2 + Math.random() * (backoffMs / 2));
}

/**
 * One dedicated connection per process that LISTENs for revoked API keys and evicts them from `cache`.
 * While it is down (error, end, silent network loss caught by the heartbeat) the cache is off, so every
 * request asks the database; it comes back on, empty, once a new connection's LISTEN has succeeded.
 * Resolves after the first attempt, successful or not; retries run in the background.
 */
export async function startApiKeyListener(url: string, cache: ApiKeyCache, log: Logger, options: ApiKeyListenerOptions = {}): Promise<ApiKeyListener> {
  const minRetryMs = options.minRetryMs ?? 500;
  const maxRetryMs = options.maxRetryMs ?? 10_000;
  const heartbeatMs = options.heartbeatMs ?? 10_000;
  let client: pg.Client | undefined;
  let listening = false;
  let closed = false;
  let lost = false;
  let retryMs = minRetryMs;
  let retry: NodeJS.Timeout | undefined;
  let heartbeat: NodeJS.Timeout | undefined;

  cache.setListening(false);

  const down = (c: pg.Client, err?: unknown) => {
    if (c !== client) return; // an earlier connection's late error or end
    client = undefined;
    listening = false;
    clearInterval(heartbeat);
    cache.setListening(false);
    c.end().catch(() => undefined);
    if (closed) return;
    lost = true;
    const waitMs = jittered(retryMs);
    log.warn({ err: err instanceof Error ? err.message : err, backoffMs: retryMs, retryInMs: waitMs }, 'API key revocation listener down; API key cache off until it reconnects');
    retry = setTimeout(() => void connect(), waitMs);
    retry.unref();
    retryMs = Math.min(retryMs * 2, maxRetryMs);
  };

  const connect = async () => {
    retry = undefined;
    if (closed) return;
    const c = new pg.Client({ connectionString: url, application_name: API_KEY_LISTENER_APPLICATION_NAME, keepAlive: true });
    client = c;
    c.on('error', (err) => down(c, err));
    c.on('end', () => down(c, new Error('connection ended')));
    c.on('notification', (msg) => {
      if (msg.channel === API_KEY_REVOKED_CHANNEL && msg.payload) cache.evictKey(msg.payload);
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${API_KEY_REVOKED_CHANNEL}`);
    } catch (err) {
      down(c, err);
      return;
    }
    if (c !== client) return; // lost or closed while connecting
    listening = true;
    retryMs = minRetryMs;
    cache.setListening(true);
    heartbeat = setInterval(() => {
      const timeout = setTimeout(() => down(c, new Error('heartbeat unanswered')), heartbeatMs / 2);
      timeout.unref();
      c.query('select 1').then(
        () => clearTimeout(timeout),
        (err: unknown) => {
          clearTimeout(timeout);
          down(c, err);
        },
      );
    }, heartbeatMs);
    heartbeat.unref();
    if (lost) log.info('API key revocation listener reconnected; API key cache on');
    else log.debug('API key revocation listener on; API key cache on');
  };

  await connect();

  return {
    get listening() {
      return listening;
    },
    async close() {
      closed = true;
      clearTimeout(retry);
      clearInterval(heartbeat);
      const c = client;
      client = undefined;
      listening = false;
      cache.setListening(false);
      await c?.end().catch(() => undefined);
    },
  };
}
