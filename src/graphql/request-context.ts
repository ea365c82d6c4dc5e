import { randomUUID } from 'node:crypto';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import { UnauthenticatedError } from '../errors/app-error.js';
import { type AuditRecorder, createAuditRecorder } from '../modules/audit/audit.service.js';
import type { ApiKeyCache } from '../modules/organizations/api-key-cache.js';
import { organizationService } from '../modules/organizations/organization.service.js';
import { isOwnerToken, ownerSessionService } from '../modules/ownership/owner-session.service.js';
import type { AppServices, Context, Viewer } from './context.js';
import { createLoaders, type Loaders } from './loaders.js';

/**
 * Turns an `Authorization` value into a viewer; a present but bad credential is an error, never anonymous.
 * The bearer's prefix names its kind: `dpo_` an owner session token, anything else an API key. API keys are
 * looked up through `apiKeys` when given (without it, every call asks the database).
 */
export async function resolveViewer(orm: MikroORM, authorization: unknown, apiKeys?: ApiKeyCache): Promise<Viewer> {
  if (authorization === undefined || authorization === null || authorization === '') return { kind: 'ANONYMOUS' };
  const match = typeof authorization === 'string' ? /^Bearer\s+(\S+)$/i.exec(authorization.trim()) : null;
  if (!match) throw new UnauthenticatedError('Authorization must be "Bearer <api key or owner session token>"');
  if (isOwnerToken(match[1]!)) {
    const owner = await ownerSessionService.authenticate(orm.em.fork(), match[1]!);
    if (!owner) throw new UnauthenticatedError('Unknown, expired or signed-out owner session');
    return owner;
  }
  const viewer = await organizationService.authenticate(() => orm.em.fork(), match[1]!, apiKeys);
  if (!viewer) throw new UnauthenticatedError('Unknown or revoked API key');
  return viewer;
}

/**
 * A fresh context: its own entity manager fork and DataLoaders, each made when first used (a scan needs
 * neither a logger child, loaders nor an audit recorder; making them all cost a few percent of its CPU).
 */
export function createContext(orm: MikroORM, log: Logger, services: AppServices, viewer: Viewer, requestId: string = randomUUID(), clientAddress = 'unknown'): Context {
  let em: EntityManager | undefined;
  let loaders: Loaders | undefined;
  let logger: Logger | undefined;
  let audit: AuditRecorder | undefined;
  return {
    requestId,
    viewer,
    services,
    clientAddress,
    get em() {
      return (em ??= orm.em.fork());
    },
    get loaders() {
      return (loaders ??= createLoaders(this.em));
    },
    get log() {
      return (logger ??= log.child({ requestId }));
    },
    get audit() {
      return (audit ??= createAuditRecorder(orm.em.fork(), viewer, requestId));
    },
  };
}
