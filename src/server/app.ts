import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import { type Database, openDatabase } from '../db/orm.js';
import { loadMasterKey } from '../crypto/master-key.js';
import type { AppServices } from '../context/services.js';
import { getSchema } from '../graphql/schema.js';
import { type AlertBus, createInProcessAlertBus } from '../modules/alerts/alert-bus.js';
import { startOutboxRelay } from '../modules/alerts/outbox-relay.js';
import { startWebhookWorker } from '../modules/webhooks/webhook-worker.js';
import { startRetentionJob } from '../modules/privacy/retention.service.js';
import { createRedisAlertBus } from '../modules/alerts/redis-alert-bus.js';
import type { KeyStore } from '../modules/keys/key-store.js';
import { openKeyStore, sweepRevokedKeys } from '../modules/keys/key-store-factory.js';
import { logKey } from '../modules/log/log-key.js';
import { startLogSequencer } from '../modules/log/sequencer.js';
import { ApiKeyCache } from '../modules/organizations/api-key-cache.js';
import { type ApiKeyListener, startApiKeyListener } from '../modules/organizations/api-key-listener.js';
import { bootstrapPlatform, type BootstrapResult } from '../modules/organizations/bootstrap.js';
import { CLAIM_CODE_ATTEMPTS_PER_HOUR } from '../modules/ownership/ownership.service.js';
import { createArmor, createHttpApp } from './http.js';
import { createMetrics, listenForMetrics, type Metrics } from './metrics.js';
import { createRateLimiter, limiterHealth } from './rate-limit.js';
import { attachGraphqlWs } from './ws.js';

export type RunningServer = {
  url: string;
  port: number;
  db: Database;
  bootstrap: BootstrapResult;
  services: AppServices;
  /** This instance's Prometheus registry and counters (what `/metrics` serves). */
  metrics: Metrics;
  /** The port `/metrics` is served on by itself (DPP_METRICS_PORT), when configured. */
  metricsPort?: number;
  /** The one shutdown path: stop accepting, drain HTTP and websockets, close Redis, the revocation listener and the database. */
  close(): Promise<void>;
};

/** Wiring only: database → schema → HTTP + graphql-ws on one port. */
export async function startServer(config: Config, log: Logger): Promise<RunningServer> {
  const masterKey = loadMasterKey(config, log);
  // DPP_KEY_STORE=pkcs11 logs in to the token first: a wrong module, token or PIN stops the start at once.
  const keyStore: KeyStore = openKeyStore(config, masterKey, log);
  let db: Database;
  try {
    db = await openDatabase(config, log);
  } catch (e) {
    await keyStore.close?.().catch(() => undefined);
    throw e;
  }
  let redis: Redis | undefined;
  let alertBus: AlertBus | undefined;
  let apiKeyListener: ApiKeyListener | undefined;
  let metricsServer: Awaited<ReturnType<typeof listenForMetrics>> | undefined;
  try {
    const bootstrap = await bootstrapPlatform(db.orm, config, log);
    const schema = await getSchema();
    const metrics = createMetrics();
    // Rate limits never queue a command for a Redis that is away: it fails at once and the limiter decides in process.
    redis = config.redisUrl
      ? new Redis(config.redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: Math.max(1000, config.redisTimeoutMs), connectTimeout: 2000, retryStrategy: (n) => Math.min(n * 100, 1000) })
      : undefined;
    let redisDown = false;
    redis?.on('error', (err) => {
      if (!redisDown) log.warn({ err: err.message }, 'redis unreachable (rate limits); retrying');
      redisDown = true;
    });
    redis?.on('ready', () => (redisDown = false));
    const health = limiterHealth(log, metrics);
    const limiterOn = { redis, timeoutMs: config.redisTimeoutMs, health };
    const anonLimiter = createRateLimiter({ keyPrefix: 'dpp:rl:anon', points: config.limits.anonRequestsPerMinute, durationSeconds: 60, ...limiterOn });

    await sweepRevokedKeys(db.orm.em.fork(), keyStore, log);
    // Alerts reach this process's subscribers directly; with Redis they are also announced to every other replica.
    alertBus = config.redisUrl ? createRedisAlertBus(config.redisUrl, log) : createInProcessAlertBus();
    const apiKeys = new ApiKeyCache({ ttlMs: config.apiKeyCacheMs });
    // Other processes revoke keys too on a PostgreSQL server; embedded PGlite has this process only.
    if (config.databaseUrl && config.apiKeyCacheMs > 0) apiKeyListener = await startApiKeyListener(config.databaseUrl, apiKeys, log);
    const services: AppServices = {
      config,
      masterKey,
      keyStore,
      alertBus,
      webauthn: { rpId: config.webauthn.rpId, rpName: config.webauthn.rpName, origins: config.webauthn.origins },
      claimCodeLimiter: createRateLimiter({ keyPrefix: 'dpp:rl:claim-code', points: CLAIM_CODE_ATTEMPTS_PER_HOUR, durationSeconds: 3600, ...limiterOn }),
      apiKeys,
      logKey: logKey(masterKey, config.log.origin),
    };

    const httpServer = createServer();
    const armor = createArmor(config);
    const ws = attachGraphqlWs(httpServer, { config, log, orm: db.orm, schema, metrics, validationRules: armor.validationRules, services, anonLimiter });
    const { handler, apollo } = await createHttpApp(httpServer, {
      config,
      log,
      orm: db.orm,
      schema,
      metrics,
      anonLimiter,
      ready: db.ready,
      wsDrain: ws.drain,
      services,
    });
    httpServer.on('request', handler);
    httpServer.requestTimeout = 60_000;

    // Prometheus's own listener first: if its port is taken, the API never started accepting.
    metricsServer = config.metrics.port === undefined ? undefined : await listenForMetrics(metrics, { port: config.metrics.port, host: config.metrics.host, token: config.metrics.token });
    await new Promise<void>((resolve, reject) => {
      httpServer.once('error', reject);
      httpServer.listen(config.port, config.host, () => resolve());
    });
    const port = (httpServer.address() as AddressInfo).port;
    // The default WebAuthn origin names the port actually bound (PORT=0 picks one).
    if (config.webauthn.originsDefaulted) services.webauthn.origins = [`http://localhost:${port}`];
    // Publishes anything a previous run committed but did not publish, then keeps up.
    services.outbox = startOutboxRelay(db.orm, services.alertBus, log);
    // Sends what the relay queued for brands' webhook endpoints (and what a previous run left pending).
    services.webhooks = startWebhookWorker(db.orm, config, masterKey, log, metrics.webhookAttempt);
    metrics.webhookQueueDepth(() => services.webhooks!.queueDepth());
    const retention = startRetentionJob(db.orm, config.retention, log);
    // Gives committed history events their leaves and signs checkpoints (one replica at a time does the work).
    services.logSequencer = startLogSequencer(db.orm, services.logKey, config.log, log);
    log.info({ port, embedded: db.embedded, redis: Boolean(redis) }, 'server listening');

    let closing: Promise<void> | undefined;
    return {
      url: `http://127.0.0.1:${port}`,
      port,
      db,
      bootstrap,
      services,
      metrics,
      metricsPort: metricsServer?.port,
      close() {
        closing ??= (async () => {
          await metricsServer?.close();
          await apollo.stop(); // stops accepting, drains in-flight HTTP, then graphql-ws (see ws.drain)
          await retention.stop();
          await services.logSequencer?.stop();
          await services.outbox?.flush();
          await services.outbox?.stop();
          await services.webhooks?.stop(); // after the relay's last flush queued its deliveries
          await services.alertBus.close?.().catch(() => undefined); // after the last flush has published
          await services.keyStore.close?.();
          await apiKeyListener?.close();
          await redis?.quit().catch(() => undefined);
          await db.close();
          log.info('server stopped');
        })();
        return closing;
      },
    };
  } catch (e) {
    await metricsServer?.close();
    redis?.disconnect();
    await alertBus?.close?.().catch(() => undefined);
    await apiKeyListener?.close();
    await keyStore.close?.().catch(() => undefined);
    await db.close();
    throw e;
  }
}
