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
 * A request's context. Its entity manager fork, DataLoaders, logger child and audit recorder are made when
 * first used (a scan needs none but the fork; making them all cost a few percent of its CPU). They are
 * getters on the prototype, not on the object: Apollo copies each request's context with `Object.assign`,
 * which reads (and so would build) every own getter, but leaves the prototype's alone.
 */
class RequestContext implements Context {
  private _em: EntityManager | undefined = undefined;
  private _loaders: Loaders | undefined = undefined;
  private _log: Logger | undefined = undefined;
  private _audit: AuditRecorder | undefined = undefined;

  constructor(
    private readonly orm: MikroORM,
    private readonly baseLog: Logger,
    readonly services: AppServices,
    readonly viewer: Viewer,
    readonly requestId: string,
    readonly clientAddress: string,
  ) {}

  get em(): EntityManager {
    return (this._em ??= this.orm.em.fork());
  }
  get loaders(): Loaders {
    return (this._loaders ??= createLoaders(this.em));
  }
  get log(): Logger {
    return (this._log ??= this.baseLog.child({ requestId: this.requestId }));
  }
  get audit(): AuditRecorder {
    return (this._audit ??= createAuditRecorder(this.orm.em.fork(), this.viewer, this.requestId));
  }
}

/** A fresh context, private to one HTTP request or graphql-ws operation. */
export function createContext(orm: MikroORM, log: Logger, services: AppServices, viewer: Viewer, requestId: string = randomUUID(), clientAddress = 'unknown'): Context {
  return new RequestContext(orm, log, services, viewer, requestId, clientAddress);
}
