import { randomUUID } from 'node:crypto';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import { type AuditRecorder, createAuditRecorder } from '../modules/audit/audit.service.js';
import type { AppServices } from './services.js';
import type { Viewer } from './viewer.js';

/**
 * What one request carries into the services: who calls, from where, and the request's own entity manager.
 * Services take it whole (`verifyScan(ctx, input)`), so a new request-scoped part touches no signature.
 */
export interface RequestContext {
  readonly requestId: string;
  readonly viewer: Viewer;
  /** A fork of the ORM's entity manager, private to this request. */
  readonly em: EntityManager;
  readonly log: Logger;
  readonly services: AppServices;
  /** The client's address as the server sees it (after trusted proxies): per-client limits and probe detection. */
  readonly clientAddress: string;
  /** Records restricted reads by authorities (see passport.access.ts). */
  readonly audit: AuditRecorder;
}

/** A GraphQL operation's context: the request context plus its DataLoaders. */
export interface Context extends RequestContext {
  /** This request's DataLoaders made by `create`, built on first use and kept for the request only. */
  loaders<T>(create: (em: EntityManager) => T): T;
}

/**
 * The parts are made when first used (a scan needs none but the fork; making them all costs a few percent
 * of its CPU). They are getters on the prototype, not on the object: Apollo copies each request's context
 * with `Object.assign`, which reads (and so would build) every own getter, but leaves the prototype's alone.
 */
class LazyContext implements Context {
  private _em: EntityManager | undefined = undefined;
  private _loaders: Map<unknown, unknown> | undefined = undefined;
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
  get log(): Logger {
    return (this._log ??= this.baseLog.child({ requestId: this.requestId }));
  }
  get audit(): AuditRecorder {
    return (this._audit ??= createAuditRecorder(this.orm.em.fork(), this.viewer, this.requestId));
  }
  loaders<T>(create: (em: EntityManager) => T): T {
    const made = (this._loaders ??= new Map());
    if (!made.has(create)) made.set(create, create(this.em));
    return made.get(create) as T;
  }
}

/** A fresh context, private to one HTTP request or graphql-ws operation. */
export function createContext(orm: MikroORM, log: Logger, services: AppServices, viewer: Viewer, requestId: string = randomUUID(), clientAddress = 'unknown'): Context {
  return new LazyContext(orm, log, services, viewer, requestId, clientAddress);
}
