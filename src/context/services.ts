import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Config } from '../config/config.js';
import type { AlertBus } from '../modules/alerts/alert-bus.js';
import type { OutboxRelay } from '../modules/alerts/outbox-relay.js';
import type { KeyStore } from '../modules/keys/key-store.js';
import type { LogKey } from '../modules/log/log-key.js';
import type { LogSequencer } from '../modules/log/sequencer.js';
import type { ApiKeyCache } from '../modules/organizations/api-key-cache.js';
import type { WebhookWorker } from '../modules/webhooks/webhook-worker.js';

/** Process-wide collaborators that services need besides the database. */
export type AppServices = {
  config: Config;
  keyStore: KeyStore;
  /** 32-byte secret from DPP_MASTER_KEY (or the development key); derive purpose keys from it with HKDF. */
  masterKey: Uint8Array;
  /** Live alerts for subscriptions (in-process, or across replicas). */
  alertBus: AlertBus;
  /** Set once the server runs; kicked after commits that wrote outbox rows. */
  outbox?: OutboxRelay;
  /** Set once the server runs: sends webhook deliveries; kicked after a redelivery. */
  webhooks?: WebhookWorker;
  /** WebAuthn relying party as the server runs it (origins follow the bound port when WEBAUTHN_ORIGINS is unset). */
  webauthn: { rpId: string; rpName: string; origins: string[] };
  /** Wrong claim codes per unit (Redis-backed when REDIS_URL is set, so every replica counts together). */
  claimCodeLimiter: RateLimiterAbstract;
  /** This process's cache of API-key lookups (owner sessions are never cached). */
  apiKeys: ApiKeyCache;
  /** The transparency log's signing key (derived from the master key; the same on every replica). */
  logKey: LogKey;
  /** Set once the server runs: this replica's transparency-log sequencer. */
  logSequencer?: LogSequencer;
};
