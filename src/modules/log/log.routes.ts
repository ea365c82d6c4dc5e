import type { MikroORM } from '@mikro-orm/postgresql';
import { type NextFunction, type Request, type Response, Router } from 'express';
import type { Logger } from 'pino';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import { consume } from '../../context/limits.js';
import { createContext } from '../../context/request-context.js';
import type { AppServices } from '../../context/services.js';
import type { Authenticate } from '../../context/viewer.js';
import { AppError, BadInputError, ForbiddenError, UnauthenticatedError } from '../../errors/app-error.js';
import { eventUnit, mayReadEvent } from './log.access.js';
import { logService } from './log.service.js';

type Deps = { orm: MikroORM; services: AppServices; log: Logger; anonLimiter: RateLimiterAbstract; authenticate: Authenticate; clientIp: (req: Request) => string };

const STATUS: Record<string, number> = { BAD_USER_INPUT: 400, UNAUTHENTICATED: 401, FORBIDDEN: 403, NOT_FOUND: 404 };

/** AppErrors answer as JSON errors like the rest of the API; anonymous callers spend the per-IP budget. */
function handle(deps: Deps, fn: (req: Request, res: Response) => Promise<void>) {
  return async (req: Request, res: Response, next: NextFunction) => {
    try {
      if (!req.headers.authorization) {
        const wait = await consume(deps.anonLimiter, deps.clientIp(req));
        if (wait) {
          res.setHeader('retry-after', String(wait));
          res.status(429).json({ error: { code: 'RATE_LIMITED', message: 'Too many requests; slow down' } });
          return;
        }
      }
      await fn(req, res);
    } catch (e) {
      if (e instanceof AppError && STATUS[e.code] && !res.headersSent) {
        res.status(STATUS[e.code]!).json({ error: { code: e.code, message: e.message } });
        return;
      }
      next(e);
    }
  };
}

/** A query parameter as a non-negative integer, or undefined when absent. */
function intParam(req: Request, name: string, required: boolean): number | undefined {
  const raw = req.query[name];
  if (raw === undefined && !required) return undefined;
  if (typeof raw !== 'string' || !/^(0|[1-9][0-9]{0,15})$/.test(raw)) throw new BadInputError(`${name}: a non-negative integer`, { field: name });
  return Number(raw);
}

/**
 * The transparency log over HTTP: `GET /log/checkpoint` (the signed note, text/plain), `GET /.well-known/log-key`
 * (the verifier key; JSON on request), `GET /log/proof/consistency?from=&to=` (public) and
 * `GET /log/proof/inclusion?eventId=&treeSize=` (for whoever may read that event's history, as over GraphQL).
 */
export function logRouter(deps: Deps): Router {
  const router = Router();
  const key = deps.services.logKey;
  const publicHeaders = (res: Response, maxAge: number) => {
    res.setHeader('access-control-allow-origin', '*');
    res.setHeader('cache-control', `public, max-age=${maxAge}`);
  };

  router.get(
    '/.well-known/log-key',
    handle(deps, async (req, res) => {
      publicHeaders(res, 300);
      if (req.accepts(['text/plain', 'application/json']) === 'application/json') {
        res.json({ origin: key.origin, keyName: key.name, keyId: key.keyId.toString(16).padStart(8, '0'), publicKey: Buffer.from(key.publicKey).toString('base64'), verifierKey: key.verifierKey });
        return;
      }
      res.type('text/plain; charset=utf-8').send(`${key.verifierKey}\n`);
    }),
  );

  router.get(
    '/log/checkpoint',
    handle(deps, async (_req, res) => {
      const c = await logService.checkpoint(deps.orm.em.fork());
      publicHeaders(res, 1);
      res.type('text/plain; charset=utf-8').send(c.note);
    }),
  );

  router.get(
    '/log/proof/consistency',
    handle(deps, async (req, res) => {
      const from = intParam(req, 'from', true)!;
      const to = intParam(req, 'to', true)!;
      const hashes = await logService.consistencyProofFor(deps.orm.em.fork(), from, to);
      publicHeaders(res, 3600);
      res.json({ from, to, hashes });
    }),
  );

  router.get(
    '/log/proof/inclusion',
    handle(deps, async (req, res) => {
      const viewer = await deps.authenticate(req.headers.authorization);
      if (viewer.kind === 'ANONYMOUS') throw new UnauthenticatedError();
      const eventId = typeof req.query.eventId === 'string' ? req.query.eventId : '';
      const treeSize = intParam(req, 'treeSize', false);
      const ctx = createContext(deps.orm, deps.log, deps.services, viewer, res.locals.requestId as string | undefined, deps.clientIp(req));
      const event = await eventUnit(ctx, eventId);
      if (!event || !(await mayReadEvent(ctx, event.passport_id, 'LifecycleEvent.inclusionProof'))) throw new ForbiddenError('This event is not visible to this caller');
      const proof = await logService.inclusionProofFor(ctx.em, eventId, treeSize);
      res.setHeader('cache-control', 'private, no-store');
      res.json({ eventId, eventHash: event.hash, ...(proof ?? { leafIndex: null, treeSize: treeSize ?? null, leafHash: null, hashes: null }) });
    }),
  );
  return router;
}
