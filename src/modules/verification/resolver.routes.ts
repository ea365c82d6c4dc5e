import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { type Request, type Response, Router } from 'express';
import type { Logger } from 'pino';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Config } from '../../config/config.js';
import { rawQuery } from '../../db/raw.js';
import { AppError } from '../../errors/app-error.js';
import type { AppServices, Viewer } from '../../graphql/context.js';
import { resolveViewer } from '../../graphql/request-context.js';
import { Gs1Error, formatGs1Link, parseGs1Link, type ParsedGs1Link } from '../../gs1/index.js';
import { consume } from '../../server/rate-limit.js';
import type { PassportStatus } from '../passports/passport.entity.js';
import type { ProductLink } from '../product-models/product-model.links.js';
import { chooseLink, type LinkContext, linksetBody, type OfferedLink, offeredLinks, redirectTarget, type RequestedLinkType, requestedLinkType } from './resolver.links.js';
import { type Answer, errorPage, htmlPage, productPage } from './resolver.pages.js';
import { verificationService } from './verification.service.js';

export { escapeHtml } from './resolver.pages.js';

export type DigitalLinkRouterDeps = {
  orm: MikroORM;
  config: Config;
  services: AppServices;
  anonLimiter: RateLimiterAbstract;
  log: Logger;
};

const GS1 = 'https://gs1.org/voc/';
const LINKSET = 'application/linkset+json';
const HTML_CSP = "default-src 'none'; style-src 'unsafe-inline'";

type Format = 'html' | 'json' | 'linkset';

/** The format the Accept header asks for; anything else (browsers, no preference) gets the page. */
function negotiated(req: Request): Format {
  const best = req.accepts(['text/html', 'application/json', LINKSET]);
  if (best === LINKSET) return 'linkset';
  if (best === 'application/json') return 'json';
  return 'html';
}

/**
 * What a resolve answers, from `?linkType=` and what is offered (`offered` null: a unit never minted, which
 * has no links). A link this resolver serves is answered in place; a brand's page is a 307 redirect; a link
 * type not offered is a 404 with the linkset of what is.
 */
type Action = { kind: 'serve'; format: Format } | { kind: 'redirect'; location: string } | { kind: 'notOffered' } | { kind: 'noLinks' };

function decide(req: Request, requested: RequestedLinkType, offered: Map<string, OfferedLink[]> | null): Action {
  if (requested.kind === 'none') {
    const format = negotiated(req);
    return format === 'linkset' && !offered ? { kind: 'noLinks' } : { kind: 'serve', format };
  }
  if (!offered) {
    // An unknown unit still gets this resolver's own answer about it (the verification), never links.
    if (requested.kind === 'type' && requested.curie === 'gs1:defaultLink') return { kind: 'serve', format: 'html' };
    if (requested.kind === 'type' && requested.curie === 'gs1:verificationService') return { kind: 'serve', format: 'json' };
    return { kind: 'noLinks' };
  }
  if (requested.kind === 'linkset') return { kind: 'serve', format: 'linkset' };
  const links = requested.kind === 'type' ? offered.get(requested.curie) : undefined;
  if (!links?.length) return { kind: 'notOffered' };
  const link = chooseLink(links, (langs) => req.acceptsLanguages(langs));
  if (link.serve) return { kind: 'serve', format: link.serve };
  return { kind: 'redirect', location: redirectTarget(link.href, new URL(req.originalUrl, 'http://resolver').searchParams) };
}

function jsonBody(a: Answer) {
  const { result } = a;
  const p = result.passport;
  return {
    verdict: result.verdict,
    reasons: result.reasons,
    gtin: a.gtin,
    serial: a.serial,
    digitalLink: a.anchor,
    passport: p
      ? {
          gtin: p.gtin,
          serial: p.serial,
          lot: p.lot ?? null,
          status: p.status,
          brand: result.brand ? { id: result.brand.id, name: result.brand.name } : null,
          model: result.model ? { name: result.model.name, category: result.model.category ?? null } : null,
        }
      : null,
    scannedAt: result.scannedAt.toISOString(),
  };
}

function sendError(res: Response, format: Format, status: number, code: string, message: string, extra: Record<string, unknown> = {}): void {
  res.setHeader('cache-control', 'no-store');
  if (format === 'html') {
    res.setHeader('content-security-policy', HTML_CSP);
    const title = status === 429 ? 'Too many requests' : status === 401 ? 'Not authorised' : status === 404 ? 'Not found' : 'Invalid product code';
    res.status(status).type('html').send(errorPage(title, message));
    return;
  }
  res.status(status).json({ error: { code, message, ...extra } });
}

/** A product model with its brand, read for a product-level resolve and for HEAD (with the unit's status when `serial` is given). */
type ModelRow = { name: string; category: string | null; links: ProductLink[] | null; brand_id: string; brand_name: string; status: PassportStatus | null };

async function readModel(em: EntityManager, gtin: string, serial: string | null): Promise<ModelRow | undefined> {
  const [row] = await rawQuery<ModelRow>(
    em,
    `select m.name, m.category, m.links, o.id as brand_id, o.name as brand_name, p.status
       from product_model m join organization o on o.id = m.brand_id left join passport p on p.gtin = m.gtin and p.serial = $2
      where m.gtin = $1`,
    [gtin, serial ?? ''],
  );
  return row;
}

/** HTTP status of a unit's answer: 404 never minted, 410 at end of life, else 200. */
const unitStatus = (status: PassportStatus | null | undefined) => (!status ? 404 : status === 'END_OF_LIFE' || status === 'RECYCLED' ? 410 : 200);

/**
 * GS1 Digital Link resolver: `GET /01/{gtin}[/22/{cpv}][/10/{lot}][/21/{serial}][?sig=…][&linkType=…]`.
 * A unit's resolve (GET; a HEAD only answers the status) is a recorded scan (verificationService.verifyScan),
 * answered as an accessible HTML page, JSON or an RFC 9264 linkset by content negotiation or `linkType`; 404
 * for identities never minted (with no links), 410 for units at end of life. A product-level link (no `/21/`)
 * answers the model's page, JSON or linkset (404 when the GTIN is not registered) and records nothing. A link
 * type the brand set a page for redirects there (307); one not offered is a 404 with the linkset of what is.
 * Also serves `/.well-known/gs1resolver`.
 */
export function digitalLinkRouter(deps: DigitalLinkRouterDeps): Router {
  const { orm, config, services, anonLimiter, log } = deps;
  const router = Router();
  const root = config.resolverHost.replace(/\/+$/, '');

  router.get('/.well-known/gs1resolver', (_req, res) => {
    res.setHeader('cache-control', 'public, max-age=300');
    res.setHeader('access-control-allow-origin', '*');
    res.json({
      name: 'Digital Product Passport resolver',
      resolverRoot: root,
      supportedPrimaryKeys: ['gtin'],
      supportedLinkType: [{ namespace: GS1, prefix: 'gs1:', profile: `${GS1}?show=linktypes` }],
      linkTypes: ['gs1:pip', 'gs1:defaultLink', 'gs1:verificationService'],
      linkTypeDefaultCanBeLinkset: true,
      supportedContextValuesEnumerated: [],
      contentTypes: ['text/html', 'application/json', LINKSET],
    });
  });

  /** Sends an action's answer; `serve` renders the served formats, `ctx` null for a unit never minted. */
  function send(req: Request, res: Response, action: Action, status: number, ctx: LinkContext | null, serve: (format: Format) => void): void {
    res.setHeader('cache-control', 'no-store');
    if (ctx) res.setHeader('link', `<${ctx.anchor}?linkType=linkset>; rel="linkset"; type="${LINKSET}"`);
    if (action.kind !== 'serve' || action.format !== 'html') res.setHeader('access-control-allow-origin', '*');
    const head = req.method === 'HEAD';
    if (action.kind === 'redirect') {
      res.redirect(307, action.location);
      return;
    }
    if (action.kind === 'noLinks' || (action.kind === 'notOffered' && !ctx)) {
      if (head) return void res.status(404).end();
      res.status(404).json({ error: { code: 'NOT_FOUND', message: 'No unit with this identity was ever registered, so no links are offered for it' } });
      return;
    }
    if (action.kind === 'notOffered') {
      if (head) return void res.status(404).type(LINKSET).end();
      res.status(404).type(LINKSET).send(JSON.stringify(linksetBody(ctx!)));
      return;
    }
    if (head) return void res.status(status).type(action.format === 'html' ? 'html' : action.format === 'linkset' ? LINKSET : 'json').end();
    if (action.format === 'linkset') {
      res.status(status).type(LINKSET).send(JSON.stringify(linksetBody(ctx!)));
      return;
    }
    if (action.format === 'html') {
      res.setHeader('content-security-policy', HTML_CSP);
      res.setHeader('x-content-type-options', 'nosniff');
      res.setHeader('referrer-policy', 'no-referrer');
    }
    serve(action.format);
  }

  /** A product-level (or lot-level) link: the model's page, JSON or linkset; nothing is recorded. */
  async function resolveProduct(req: Request, res: Response, parsed: ParsedGs1Link, requested: RequestedLinkType): Promise<void> {
    const model = await readModel(orm.em.fork() as EntityManager, parsed.gtin, null);
    if (!model) {
      sendError(res, negotiated(req) === 'html' ? 'html' : 'json', 404, 'NOT_FOUND', `No product with GTIN ${parsed.gtin} is registered on this resolver`);
      return;
    }
    const anchor = formatGs1Link({ host: root, gtin: parsed.gtin, cpv: parsed.cpv, lot: parsed.lot });
    const ctx: LinkContext = { level: 'product', anchor, description: model.name, base: root, brandId: model.brand_id, brandLinks: model.links ?? [] };
    const offered = offeredLinks(ctx);
    send(req, res, decide(req, requested, offered), 200, ctx, (format) => {
      const brand = { id: model.brand_id, name: model.brand_name };
      if (format === 'json') {
        res.status(200).json({ gtin: parsed.gtin, ...(parsed.lot ? { lot: parsed.lot } : {}), digitalLink: anchor, model: { name: model.name, category: model.category }, brand });
        return;
      }
      res.status(200).type('html').send(productPage({ gtin: parsed.gtin, lot: parsed.lot, anchor, model: { name: model.name, category: model.category }, brand, brandLinks: model.links ?? [] }));
    });
  }

  router.get('/01/*splat', async (req, res, next) => {
    res.setHeader('vary', 'Accept, Accept-Language');
    const requested = requestedLinkType(req.query.linkType);
    const errorFormat: Format = requested.kind === 'type' && requested.curie !== 'gs1:verificationService' ? 'html' : negotiated(req);
    try {
      let viewer: Viewer = { kind: 'ANONYMOUS' };
      if (req.headers.authorization) {
        viewer = await resolveViewer(orm, req.headers.authorization, services.apiKeys);
      } else {
        const wait = await consume(anonLimiter, req.ip ?? 'unknown');
        if (wait) {
          res.setHeader('retry-after', String(wait));
          sendError(res, errorFormat, 429, 'RATE_LIMITED', 'Too many requests; slow down', { retryAfterSeconds: wait });
          return;
        }
      }

      const url = `${root}${req.originalUrl}`;
      let parsed: ParsedGs1Link;
      try {
        parsed = parseGs1Link(url);
      } catch (e) {
        if (e instanceof Gs1Error) {
          sendError(res, errorFormat, 400, 'BAD_USER_INPUT', `Not a valid GS1 Digital Link: ${e.message}`);
          return;
        }
        throw e;
      }
      if (parsed.serial === undefined) {
        await resolveProduct(req, res, parsed, requested);
        return;
      }
      const serial = parsed.serial;
      // The anchor is the canonical identity on this resolver, without the signature.
      const anchor = formatGs1Link({ host: root, gtin: parsed.gtin, serial, cpv: parsed.cpv, lot: parsed.lot });
      const context = (model: { name: string; brandId: string; links: ProductLink[] | null | undefined }): LinkContext => ({
        level: 'unit',
        anchor,
        description: `${model.name}, serial ${serial}`,
        base: root,
        brandId: model.brandId,
        brandLinks: model.links ?? [],
      });
      if (req.method === 'HEAD') {
        // A HEAD (link checkers, crawlers, prefetch) is not a scan: the status and headers a GET would
        // answer, from a read-only lookup, and nothing recorded.
        const row = await readModel(orm.em.fork() as EntityManager, parsed.gtin, serial);
        const ctx = row?.status ? context({ name: row.name, brandId: row.brand_id, links: row.links }) : null;
        send(req, res, decide(req, requested, ctx ? offeredLinks(ctx) : null), unitStatus(row?.status), ctx, () => undefined);
        return;
      }
      const result = await verificationService.verifyScan(orm.em.fork() as EntityManager, services, viewer, { digitalLink: url }, req.ip ?? 'unknown', 'RESOLVER');
      const answer: Answer = { result, gtin: parsed.gtin, serial, lot: parsed.lot, anchor };
      const ctx = result.passport && result.model ? context({ name: result.model.name, brandId: result.model.brand.id, links: result.model.links }) : null;
      const status = unitStatus(result.passport?.status);
      send(req, res, decide(req, requested, ctx ? offeredLinks(ctx) : null), status, ctx, (format) => {
        if (format === 'html') res.status(status).type('html').send(htmlPage(answer));
        else res.status(status).json(jsonBody(answer));
      });
    } catch (e) {
      if (e instanceof AppError) {
        const status = e.code === 'UNAUTHENTICATED' ? 401 : e.code === 'BAD_USER_INPUT' ? 400 : e.code === 'RATE_LIMITED' ? 429 : e.code === 'FORBIDDEN' ? 403 : 404;
        sendError(res, errorFormat, status, e.code, e.message);
        return;
      }
      log.error({ err: e, requestId: res.locals.requestId }, 'digital link resolve failed');
      next(e);
    }
  });

  return router;
}
