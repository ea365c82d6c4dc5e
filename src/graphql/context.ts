import type { EntityManager } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Config } from '../config/config.js';
import type { AlertBus } from '../modules/alerts/alert-bus.js';
import type { OutboxRelay } from '../modules/alerts/outbox-relay.js';
import type { AuditRecorder } from '../modules/audit/audit.service.js';
import type { KeyStore } from '../modules/keys/key-store.js';
import type { ApiKeyCache } from '../modules/organizations/api-key-cache.js';
import type { OrgKind } from '../modules/organizations/organization.entity.js';
import type { Loaders } from './loaders.js';

/**
 * Who is calling: nobody in particular, an organisation through one of its API keys, or a consumer
 * signed in with a passkey (an owner session token).
 */
export type Viewer =
  | { kind: 'ANONYMOUS' }
  | { kind: 'ORGANIZATION'; organizationId: string; orgKind: OrgKind; apiKeyId: string }
  | { kind: 'OWNER'; ownerId: string; sessionId: string; signedInAt: Date };

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
  /** WebAuthn relying party as the server runs it (origins follow the bound port when WEBAUTHN_ORIGINS is unset). */
  webauthn: { rpId: string; rpName: string; origins: string[] };
  /** Wrong claim codes per unit (Redis-backed when REDIS_URL is set, so every replica counts together). */
  claimCodeLimiter: RateLimiterAbstract;
  /** This process's cache of API-key lookups (owner sessions are never cached). */
  apiKeys: ApiKeyCache;
};

/** Built once per HTTP request or per graphql-ws operation; never shared between them. */
export type Context = {
  requestId: string;
  viewer: Viewer;
  /** A fork of the ORM's entity manager, private to this request. */
  em: EntityManager;
  loaders: Loaders;
  log: Logger;
  services: AppServices;
  /** The client's address as the server sees it (after trusted proxies): per-client limits and probe detection. */
  clientAddress: string;
  /** Records restricted reads by authorities (see passport.access.ts). */
  audit: AuditRecorder;
};

export function organizationOf(viewer: Viewer): { organizationId: string; orgKind: OrgKind } | undefined {
  return viewer.kind === 'ORGANIZATION' ? viewer : undefined;
}
