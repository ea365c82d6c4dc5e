import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { type NextFunction, type Request, type Response, Router } from 'express';
import type { Logger } from 'pino';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Config } from '../../config/config.js';
import { rawQuery } from '../../db/raw.js';
import { AppError } from '../../errors/app-error.js';
import type { AppServices } from '../../context/services.js';
import { createContext } from '../../context/request-context.js';
import type { Authenticate, Viewer } from '../../context/viewer.js';
import { Gs1Error, formatGs1Link, parseGs1Link, type ParsedGs1Link } from '../../gs1/index.js';
import { consume } from '../../context/limits.js';
import type { PassportStatus } from '../passports/passport.entity.js';
import type { ProductLink } from '../product-models/product-model.links.js';
import {
  contextLink, cors, corsMiddleware, decompress, descriptionFile, LINKSET, LINKSET_CONTEXT_PATH, linksetContext, linksetLink, preflight, sameAsLink,
} from './resolver.http.js';
import {
  chooseLink, type LevelLinks, type LinkContext, linksetBody, linksOfType, offeredLinks, PRODUCT_PREFIX, productHref, redirectTarget, requestedLinkType,
  VERIFICATION_PREFIX, verificationHref,
} from './resolver.links.js';
import { type Answer, errorPage, htmlPage, jsonBody, productPage } from './resolver.pages.js';
import { type VerificationResult, verificationService } from './verification.service.js';
import { DPP_LINK_PATH, DPP_LINK_PREFIX, DPP_LINK_TYPE_DESCRIPTIONS, dppLinkTypes } from '../batteries/battery-link.js';
import { plainBatteryPass, SCAN_PAGE_ASPECTS } from '../batteries/battery-plain.js';
import { loadPublicBatteryPart } from '../batteries/battery-public.js';

export { escapeHtml } from './resolver.pages.js';

export type DigitalLinkRouterDeps = {
  orm: MikroORM;
  config: Config;
  services: AppServices;
  anonLimiter: RateLimiterAbstract;
  log: Logger;
  authenticate: Authenticate;
};

const HTML_CSP = "default-src 'none'; style-src 'unsafe-inline'";

type Format = 'html' | 'json' | 'linkset';

/** The format the Accept header asks for; anything else (browsers, no preference) gets the page. */
function negotiated(req: Request): Format {
  const best = req.accepts(['text/html', 'application/json', LINKSET]);
  if (best === LINKSET) return 'linkset';
  if (best === 'application/json') return 'json';
  return 'html';
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

/** A product model with its brand (and the unit's id, status and whether it is signed, when `serial` is given). */
type ModelRow = {
  name: string;
  category: string | null;
  links: ProductLink[] | null;
  brand_id: string;
  brand_name: string;
  passport_id: string | null;
  status: PassportStatus | null;
  signed: boolean | null;
  /** Whether the model is a battery model (its units have an EU battery passport). */
  battery: boolean;
};

async function readModel(em: EntityManager, gtin: string, serial: string | null): Promise<ModelRow | undefined> {
  const [row] = await rawQuery<ModelRow>(
    em,
    `select m.name, m.category, m.links, o.id as brand_id, o.name as brand_name, p.id as passport_id, p.status, p.signature is not null as signed,
         exists (select 1 from battery_model bm where bm.model_id = m.id) as battery
       from product_model m join organization o on o.id = m.brand_id left join passport p on p.gtin = m.gtin and p.serial = $2
      where m.gtin = $1`,
    [gtin, serial ?? ''],
  );
  return row;
}

/** HTTP status of a unit's answer: 404 never minted, 410 at end of life, else 200. */
const unitStatus = (status: PassportStatus | null | undefined) => (!status ? 404 : status === 'END_OF_LIFE' || status === 'RECYCLED' ? 410 : 200);

/** A Digital Link path without one trailing slash (GS1: trailing slashes are tolerated). */
const trimSlash = (path: string) => (path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path);

/** The request's query string (with `?`), or ''. */
const queryOf = (req: Request) => {
  const i = req.originalUrl.indexOf('?');
  return i < 0 ? '' : req.originalUrl.slice(i);
};

/**
 * GS1-conformant Digital Link resolver (`/01/{gtin}[/22/{cpv}][/10/{lot}][/21/{serial}]`, compressed forms, a
 * trailing slash tolerated) and the pages it redirects to. A resolve redirects (307, query passed on) to the
 * default link (a unit: its verification result at `/verification/01/…`, which records the scan; a product: its
 * page at `/product/01/…`) or to the link `?linkType=` or the Accept header picks; the linkset is answered for
 * `?linkType=linkset|all` or `Accept: application/linkset+json`; a link type not offered is a 404 with the
 * linkset. CORS on every answer, OPTIONS answered as a preflight. Also `/.well-known/gs1resolver`.
 */
export function digitalLinkRouter(deps: DigitalLinkRouterDeps): Router {
  const { orm, config, services, anonLimiter, log, authenticate } = deps;
  const router = Router();
  const root = config.resolverHost.replace(/\/+$/, '');
  const em = () => orm.em.fork() as EntityManager;
  /** A scan through the resolver is a request of its own, from the client's address. */
  const scanContext = (req: Request, viewer: Viewer) => createContext(orm, log, services, viewer, undefined, req.ip ?? 'unknown');

  router.options(['/.well-known/gs1resolver', LINKSET_CONTEXT_PATH, `${DPP_LINK_PATH}:name`], (req, res) => preflight(req, res));
  router.get('/.well-known/gs1resolver', (_req, res) => {
    cors(res);
    res.setHeader('cache-control', 'public, max-age=300');
    res.json(descriptionFile(root));
  });
  // Each `dpp:` link type's IRI says what it is, as GS1's vocabulary IRIs do.
  router.get(`${DPP_LINK_PATH}:name`, (req, res, next) => {
    const name = req.params.name;
    if (!Object.hasOwn(DPP_LINK_TYPE_DESCRIPTIONS, name)) return next();
    cors(res);
    res.setHeader('cache-control', 'public, max-age=86400');
    const description = { '@context': { rdfs: 'http://www.w3.org/2000/01/rdf-schema#' }, '@id': `${dppLinkTypes(root)}${name}`, 'rdfs:label': name, 'rdfs:comment': DPP_LINK_TYPE_DESCRIPTIONS[name] };
    res.type('application/ld+json').send(JSON.stringify(description));
  });
  router.get(LINKSET_CONTEXT_PATH, (_req, res) => {
    cors(res);
    res.setHeader('cache-control', 'public, max-age=86400');
    res.type('application/ld+json').send(JSON.stringify(linksetContext(root)));
  });

  /**
   * A battery's public facts for a person's verification page (one statement; nothing for other units): only when the
   * scan found the unit genuine-looking (AUTHENTIC or SUSPICIOUS), not for a code that failed its check or was revoked.
   */
  async function batteryOnPage(result: VerificationResult, anchor: string): Promise<Answer['battery']> {
    if (!result.passport || (result.verdict !== 'AUTHENTIC' && result.verdict !== 'SUSPICIOUS')) return undefined;
    const pub = await loadPublicBatteryPart(em(), result.passport.id, config.resolverHost);
    if (!pub) return undefined;
    const sections = plainBatteryPass(pub).filter((x) => SCAN_PAGE_ASPECTS.includes(x.aspect));
    return { sections, href: `${anchor}?linkType=${DPP_LINK_PREFIX}batteryPass` };
  }

  /** Rate limit (anonymous) or authenticate (a bearer key); false when the request was answered. */
  async function admit(req: Request, res: Response, format: Format): Promise<Viewer | false> {
    if (req.headers.authorization) return authenticate(req.headers.authorization);
    const wait = await consume(anonLimiter, req.ip ?? 'unknown');
    if (!wait) return { kind: 'ANONYMOUS' };
    res.setHeader('retry-after', String(wait));
    sendError(res, format, 429, 'RATE_LIMITED', 'Too many requests; slow down', { retryAfterSeconds: wait });
    return false;
  }

  /** Parses `<root><path><query>` as a Digital Link, answering 400 (and returning null) when it is not one. */
  function parse(res: Response, format: Format, path: string, query: string): ParsedGs1Link | null {
    try {
      return parseGs1Link(`${root}${path}${query}`);
    } catch (e) {
      if (!(e instanceof Gs1Error)) throw e;
      sendError(res, format, 400, 'BAD_USER_INPUT', `Not a valid GS1 Digital Link: ${e.message}`);
      return null;
    }
  }

  function fail(e: unknown, res: Response, format: Format, next: NextFunction): void {
    if (e instanceof AppError) {
      const status = e.code === 'UNAUTHENTICATED' ? 401 : e.code === 'BAD_USER_INPUT' ? 400 : e.code === 'RATE_LIMITED' ? 429 : e.code === 'FORBIDDEN' ? 403 : 404;
      sendError(res, format, status, e.code, e.message);
      return;
    }
    log.error({ err: e, requestId: res.locals.requestId }, 'digital link resolve failed');
    next(e);
  }

  function redirect(res: Response, href: string, query: URLSearchParams): void {
    res.setHeader('cache-control', 'no-store');
    res.redirect(307, redirectTarget(href, query));
  }

  function sendLinkset(res: Response, status: number, levels: readonly LevelLinks[]): void {
    res.setHeader('cache-control', 'no-store');
    res.append('link', contextLink(root));
    res.status(status).type(LINKSET).send(JSON.stringify(linksetBody(levels, root)));
  }

  /** A resolve of `path` (a Digital Link path on this resolver); `sameAs` is the uncompressed URI of a compressed request. */
  async function resolve(req: Request, res: Response, next: NextFunction, rawPath: string, extraQuery: string, sameAs?: string): Promise<void> {
    cors(res);
    res.vary('Accept').vary('Accept-Language');
    if (sameAs) res.append('link', sameAsLink(sameAs));
    const requested = requestedLinkType(req.query.linkType, root);
    const format = negotiated(req);
    const errorFormat: Format = format === 'html' ? 'html' : 'json';
    try {
      const viewer = await admit(req, res, errorFormat);
      if (!viewer) return;
      const path = trimSlash(rawPath);
      const query = `${queryOf(req)}${extraQuery && queryOf(req) ? `&${extraQuery.slice(1)}` : extraQuery}`;
      const parsed = parse(res, errorFormat, path, query);
      if (!parsed) return;
      const params = new URLSearchParams(query);
      const wantsLinkset = requested.kind === 'linkset' || (requested.kind === 'none' && format === 'linkset');
      // The model's links are the primary key's (`/01/{gtin}`): the level a lot or a unit walks up to.
      const productAnchor = formatGs1Link({ host: root, gtin: parsed.gtin });

      if (parsed.serial === undefined) {
        const model = await readModel(em(), parsed.gtin, null);
        if (!model) return sendError(res, errorFormat, 404, 'NOT_FOUND', `No product with GTIN ${parsed.gtin} is registered on this resolver`);
        res.append('link', linksetLink(productAnchor));
        const ctx: LinkContext = { base: root, productAnchor, productDescription: model.name, brandId: model.brand_id, brandLinks: model.links ?? [] };
        const levels = offeredLinks(ctx);
        if (wantsLinkset) return sendLinkset(res, 200, levels);
        if (requested.kind === 'none') return redirect(res, productHref(root, productAnchor), params);
        const links = requested.kind === 'type' ? linksOfType(levels, requested.curie) : undefined;
        if (!links) return sendLinkset(res, 404, levels);
        return redirect(res, chooseLink(links, req.headers.accept, (l) => req.acceptsLanguages(l)).href, params);
      }

      const serial = parsed.serial;
      const anchor = formatGs1Link({ host: root, gtin: parsed.gtin, serial, cpv: parsed.cpv, lot: parsed.lot });
      const result = verificationHref(root, anchor);
      res.append('link', linksetLink(anchor));
      // The default: the verification result, which records the scan; no lookup here, so it is never counted twice.
      if (requested.kind === 'none' && !wantsLinkset) return redirect(res, result, params);
      const row = await readModel(em(), parsed.gtin, serial);
      if (!row?.status || !row.passport_id) {
        // A unit never minted has no links; its verification (verdict UNKNOWN, 404) is still its default.
        if (requested.kind === 'type' && (requested.curie === 'gs1:defaultLink' || requested.curie === 'gs1:verificationService')) return redirect(res, result, params);
        res.removeHeader('link');
        if (sameAs) res.setHeader('link', sameAsLink(sameAs));
        return sendError(res, 'json', 404, 'NOT_FOUND', 'No unit with this identity was ever registered, so no links are offered for it');
      }
      const ctx: LinkContext = {
        base: root,
        productAnchor,
        productDescription: row.name,
        brandId: row.brand_id,
        brandLinks: row.links ?? [],
        unit: { anchor, description: `${row.name}, serial ${serial}`, passportId: row.passport_id, signed: row.signed === true, battery: row.battery && row.status !== 'RECYCLED' },
      };
      const levels = offeredLinks(ctx);
      if (wantsLinkset) return sendLinkset(res, unitStatus(row.status) === 410 ? 410 : 200, levels);
      const links = requested.kind === 'type' ? linksOfType(levels, requested.curie) : undefined;
      if (!links) return sendLinkset(res, 404, levels);
      const link = chooseLink(links, req.headers.accept, (l) => req.acceptsLanguages(l));
      // A redirect elsewhere than the verification result is still a scan of the unit, recorded here (a HEAD is not).
      if (link.href !== result && req.method === 'GET') {
        await verificationService.verifyScan(scanContext(req, viewer), { digitalLink: `${root}${path}${query}` }, 'RESOLVER');
      }
      return redirect(res, link.href, params);
    } catch (e) {
      fail(e, res, errorFormat, next);
    }
  }

  /** `/verification/01/…/21/…`: the unit's verification result. A GET is the recorded scan; a HEAD only the status. */
  router.use(VERIFICATION_PREFIX, corsMiddleware);
  router.get(`${VERIFICATION_PREFIX}/01/*splat`, async (req, res, next) => {
    res.vary('Accept');
    const format: Format = negotiated(req) === 'json' ? 'json' : 'html';
    try {
      const viewer = await admit(req, res, format);
      if (!viewer) return;
      const path = trimSlash(req.path.slice(VERIFICATION_PREFIX.length));
      const query = queryOf(req);
      const parsed = parse(res, format, path, query);
      if (!parsed) return;
      if (parsed.serial === undefined) return sendError(res, format, 404, 'NOT_FOUND', 'A verification result is about a unit: its link has a serial (/21/)');
      const anchor = formatGs1Link({ host: root, gtin: parsed.gtin, serial: parsed.serial, cpv: parsed.cpv, lot: parsed.lot });
      res.setHeader('cache-control', 'no-store');
      res.setHeader('link', linksetLink(anchor));
      if (format === 'html') {
        res.setHeader('content-security-policy', HTML_CSP);
        res.setHeader('x-content-type-options', 'nosniff');
        res.setHeader('referrer-policy', 'no-referrer');
      }
      if (req.method === 'HEAD') {
        const row = await readModel(em(), parsed.gtin, parsed.serial);
        res.status(unitStatus(row?.status)).type(format).end();
        return;
      }
      const result = await verificationService.verifyScan(scanContext(req, viewer), { digitalLink: `${root}${path}${query}` }, 'RESOLVER');
      const answer = { result, gtin: parsed.gtin, serial: parsed.serial, lot: parsed.lot, anchor };
      const status = unitStatus(result.passport?.status);
      if (format === 'html') res.status(status).type('html').send(htmlPage({ ...answer, battery: await batteryOnPage(result, anchor) }));
      else res.status(status).json(jsonBody(answer));
    } catch (e) {
      fail(e, res, format, next);
    }
  });

  /** `/product/01/{gtin}[/22/…][/10/…]`: the product model's page or JSON; nothing is recorded. */
  router.use(PRODUCT_PREFIX, corsMiddleware);
  router.get(`${PRODUCT_PREFIX}/01/*splat`, async (req, res, next) => {
    res.vary('Accept');
    const format: Format = negotiated(req) === 'json' ? 'json' : 'html';
    try {
      if (!(await admit(req, res, format))) return;
      const parsed = parse(res, format, trimSlash(req.path.slice(PRODUCT_PREFIX.length)), '');
      if (!parsed) return;
      const model = parsed.serial === undefined ? await readModel(em(), parsed.gtin, null) : undefined;
      if (!model) return sendError(res, format, 404, 'NOT_FOUND', `No product with GTIN ${parsed.gtin} is registered on this resolver`);
      const anchor = formatGs1Link({ host: root, gtin: parsed.gtin, cpv: parsed.cpv, lot: parsed.lot });
      res.setHeader('cache-control', 'no-store');
      res.setHeader('link', linksetLink(anchor));
      const brand = { id: model.brand_id, name: model.brand_name };
      const modelInfo = { name: model.name, category: model.category };
      if (format === 'json') {
        res.status(200).json({ gtin: parsed.gtin, ...(parsed.lot ? { lot: parsed.lot } : {}), digitalLink: anchor, model: modelInfo, brand });
        return;
      }
      res.setHeader('content-security-policy', HTML_CSP);
      res.status(200).type('html').send(productPage({ gtin: parsed.gtin, lot: parsed.lot, anchor, model: modelInfo, brand, brandLinks: model.links ?? [] }));
    } catch (e) {
      fail(e, res, format, next);
    }
  });

  router.options('/01/*splat', (req, res) => preflight(req, res, linksetLink(`${root}${trimSlash(req.path)}`)));
  router.get('/01/*splat', (req, res, next) => resolve(req, res, next, req.path, ''));

  // A compressed Digital Link (one base64url segment): resolved as its uncompressed URI, which the Link header names.
  const uncompressed = (segment: string) => {
    const uri = decompress(root, segment);
    if (!uri) return null;
    const u = new URL(uri);
    return { uri, path: u.pathname.slice(new URL(root).pathname.replace(/\/$/, '').length), query: u.search };
  };
  router.options('/:segment', (req, res, next) => {
    const u = uncompressed(req.params.segment);
    if (!u) return next();
    preflight(req, res, `${linksetLink(u.uri.split('?')[0]!)}, ${sameAsLink(u.uri)}`);
  });
  router.get('/:segment', (req, res, next) => {
    const u = uncompressed(req.params.segment);
    if (!u) return next();
    return resolve(req, res, next, u.path, u.query, u.uri);
  });

  return router;
}
