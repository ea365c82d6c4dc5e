import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { type Request, type Response, Router } from 'express';
import type { Logger } from 'pino';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Config } from '../../config/config.js';
import { rawQuery } from '../../db/raw.js';
import { AppError } from '../../errors/app-error.js';
import type { Authenticate, Viewer } from '../../context/viewer.js';
import { consume } from '../../context/limits.js';
import { Gs1Error, formatDigitalLink, parseDigitalLink } from '../../gs1/index.js';
import { createAuditRecorder } from '../audit/audit.service.js';
import { AUDIENCE_POINTS, filterBatteryPass } from './annex-xiii.js';
import { batteryAudience } from './battery.access.js';
import { assembleBatteryPass, loadBatteryFacts } from './battery-pass.js';
import { batteryPassLinkTypes } from './battery-link.js';
import { plainBatteryPass } from './battery-plain.js';
import { publicBatteryPart } from './battery-public.js';
import { batteryPage, errorPage } from '../verification/resolver.pages.js';


export type BatteryPassRouterDeps = { orm: MikroORM; config: Config; anonLimiter: RateLimiterAbstract; log: Logger; authenticate: Authenticate };

function fail(res: Response, status: number, code: string, message: string, html = false): void {
  if (html) res.status(status).type('html').send(errorPage(code === 'GONE' ? 'Battery passport no longer exists' : 'Battery passport not available', message));
  else res.status(status).json({ error: { code, message } });
}

/**
 * `GET /01/{gtin}[/10/{lot}]/21/{serial}?linkType=batteryPass`: the unit's `Passport.batteryPass` as JSON
 * (`application/json`), with what the caller's Annex XIII group may read (API key or owner session in
 * `Authorization`, as on the GraphQL API). Not a scan: nothing is recorded but an authority's audited read.
 * Any other request falls through to the Digital Link resolver. 404 for an unknown unit or one that is not a
 * battery, 410 once the battery is recycled (Art. 77(8)), 406 when the client accepts neither JSON nor HTML.
 * A client that prefers HTML (a browser) gets the public part (Annex XIII point 1) as a page in plain words.
 */
export function batteryPassRouter(deps: BatteryPassRouterDeps): Router {
  const { orm, config, anonLimiter, log, authenticate } = deps;
  const router = Router();
  const root = config.resolverHost.replace(/\/+$/, '');
  const linkTypes = batteryPassLinkTypes(root);

  // Middleware, not a GET route: a route on /01/* would make Express answer OPTIONS for the resolver's paths
  // itself (200, Allow: GET, HEAD), before the resolver's own preflight answer.
  router.use('/01', async (req: Request, res: Response, next) => {
    const linkType = req.query.linkType;
    if ((req.method !== 'GET' && req.method !== 'HEAD') || typeof linkType !== 'string' || !linkTypes.has(linkType)) {
      next();
      return;
    }
    res.setHeader('vary', 'Accept');
    res.setHeader('cache-control', 'no-store');
    res.setHeader('access-control-allow-origin', '*');
    try {
      const format = req.accepts(['application/json', 'text/html']);
      if (!format) {
        fail(res, 406, 'NOT_ACCEPTABLE', 'The battery passport is served as application/json or text/html');
        return;
      }
      // A browser gets the public part in plain words, whoever it is: the page reads no credentials.
      const html = format === 'text/html';
      let viewer: Viewer = { kind: 'ANONYMOUS' };
      if (req.headers.authorization && !html) viewer = await authenticate(req.headers.authorization);
      else {
        const wait = await consume(anonLimiter, req.ip ?? 'unknown');
        if (wait) {
          res.setHeader('retry-after', String(wait));
          fail(res, 429, 'RATE_LIMITED', 'Too many requests; slow down');
          return;
        }
      }
      let parsed: ReturnType<typeof parseDigitalLink>;
      try {
        parsed = parseDigitalLink(`${root}${req.originalUrl}`);
      } catch (e) {
        if (e instanceof Gs1Error) {
          fail(res, 400, 'BAD_USER_INPUT', `Not a valid GS1 Digital Link: ${e.message}`, html);
          return;
        }
        throw e;
      }
      const em = orm.em.fork() as EntityManager;
      const [unit] = await rawQuery<{ id: string }>(em, 'select id from passport where gtin = $1 and serial = $2', [parsed.gtin, parsed.serial]);
      const facts = unit ? await loadBatteryFacts(em, unit.id) : null;
      if (!facts) {
        fail(res, 404, 'NOT_FOUND', 'No battery passport for this identifier', html);
        return;
      }
      if (facts.ceased) {
        fail(res, 410, 'GONE', 'The battery was recycled: its battery passport ceased to exist (Regulation (EU) 2023/1542, Art. 77(8))', html);
        return;
      }
      const anchor = formatDigitalLink({ host: root, gtin: parsed.gtin, serial: parsed.serial, lot: parsed.lot });
      res.setHeader('link', `<${anchor}>; rel="anchor"`);
      if (html) {
        const sections = plainBatteryPass(publicBatteryPart(facts, config.resolverHost) ?? {});
        res.status(200).type('html').send(batteryPage({ anchor, title: `serial number ${facts.serial}`, sections }));
        return;
      }
      const audience = await batteryAudience(viewer, facts.brandId, async () => {
        if (viewer.kind !== 'OWNER') return false;
        const rows = await rawQuery(em, 'select 1 from ownership where passport_id = $1 and owner_id = $2 and ended_at is null', [facts.passportId, viewer.ownerId]);
        return rows.length > 0;
      });
      if (audience === 'AUTHORITY') await createAuditRecorder(em, viewer, String(res.locals.requestId ?? '')).recordRead(facts.passportId, 'batteryPass (resolver)');
      const full = assembleBatteryPass(facts, config.resolverHost);
      res.status(200).json(audience === 'OPERATOR' ? full : filterBatteryPass(full, AUDIENCE_POINTS[audience]));
    } catch (e) {
      if (e instanceof AppError) {
        fail(res, e.code === 'UNAUTHENTICATED' ? 401 : e.code === 'RATE_LIMITED' ? 429 : 400, e.code, e.message);
        return;
      }
      log.error({ err: e, requestId: res.locals.requestId }, 'battery passport resolve failed');
      next(e);
    }
  });
  return router;
}
