import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { type Request, type Response, Router } from 'express';
import type { Logger } from 'pino';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Config } from '../../config/config.js';
import { AppError } from '../../errors/app-error.js';
import type { AppServices, Viewer } from '../../graphql/context.js';
import { resolveViewer } from '../../graphql/request-context.js';
import { Gs1Error, formatDigitalLink, parseDigitalLink } from '../../gs1/index.js';
import { consume } from '../../server/rate-limit.js';
import { Passport } from '../passports/passport.entity.js';
import { type VerificationResult, verificationService } from './verification.service.js';

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
/** `linkType` values answered with the linkset, with HTML, and with the JSON verification result. */
const LINKSET_TYPES = new Set(['linkset', 'all']);
const HTML_TYPES = new Set(['gs1:pip', `${GS1}pip`, 'gs1:defaultLink', `${GS1}defaultLink`]);
const JSON_TYPES = new Set(['gs1:verificationService', `${GS1}verificationService`]);

type Format = 'html' | 'json' | 'linkset';

function linkTypeOf(req: Request): string | undefined {
  const v = req.query.linkType;
  return typeof v === 'string' ? v : undefined;
}

/** `?linkType=` wins; then the Accept header; anything else (browsers, no preference) gets the page. */
function formatOf(req: Request): Format {
  const linkType = linkTypeOf(req);
  if (linkType && LINKSET_TYPES.has(linkType)) return 'linkset';
  if (linkType && JSON_TYPES.has(linkType)) return 'json';
  if (linkType && HTML_TYPES.has(linkType)) return 'html';
  const best = req.accepts(['text/html', 'application/json', LINKSET]);
  if (best === LINKSET) return 'linkset';
  if (best === 'application/json') return 'json';
  return 'html';
}

export function escapeHtml(s: unknown): string {
  return String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const VERDICT_TEXT: Record<string, { title: string; summary: string; colour: string }> = {
  AUTHENTIC: { title: 'Authentic', summary: 'This product is registered by its brand and the check found nothing wrong.', colour: '#0a5c2b' },
  SUSPICIOUS: { title: 'Suspicious', summary: 'This product is registered, but something about this scan looks wrong.', colour: '#7a4a00' },
  COUNTERFEIT: { title: 'Counterfeit', summary: 'This code failed the authenticity check. The product is probably not genuine.', colour: '#8b0000' },
  UNKNOWN: { title: 'Unknown', summary: 'No product with this identity was ever registered.', colour: '#5a2a7a' },
  REVOKED: { title: 'Revoked', summary: 'The brand has withdrawn this product passport.', colour: '#8b0000' },
};

const WHAT_TO_DO =
  'Do not rely on this product being genuine. Keep the product and its packaging and receipt, do not pay or hand over personal details ' +
  'to anyone because of this code, and contact the seller or the brand through its official website to report where you bought it.';

type Answer = {
  result: VerificationResult;
  gtin: string;
  serial: string;
  lot?: string;
  /** The Digital Link without `sig`: the identity the answer is about. */
  anchor: string;
};

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

function linksetBody(a: Answer, config: Config) {
  const base = config.resolverHost.replace(/\/+$/, '');
  const title = a.result.model?.name ?? `GTIN ${a.gtin}`;
  const entry: Record<string, unknown> = {
    anchor: a.anchor,
    [`${GS1}pip`]: [{ href: a.anchor, type: 'text/html', title: `${title}: product and verification page`, hreflang: ['en'] }],
    [`${GS1}defaultLink`]: [{ href: a.anchor, type: 'text/html', title: 'Verification page', hreflang: ['en'] }],
    [`${GS1}verificationService`]: [
      { href: `${a.anchor}?linkType=gs1:verificationService`, type: 'application/json', title: 'Verification result (JSON)' },
      { href: `${base}/graphql`, type: 'application/graphql-response+json', title: 'Verification API (GraphQL verifyScan)' },
    ],
  };
  if (a.result.brand) {
    entry.describedby = [{ href: `${base}/brands/${a.result.brand.id}/did.json`, type: 'application/did+json', title: 'Brand signing keys (did:web)' }];
  }
  return { linkset: [entry] };
}

function htmlPage(a: Answer): string {
  const { result } = a;
  const v = VERDICT_TEXT[result.verdict] ?? { title: result.verdict, summary: '', colour: '#333' };
  const p = result.passport;
  const rows: [string, string][] = [];
  if (result.model) rows.push(['Product', result.model.name]);
  if (result.model?.category) rows.push(['Category', result.model.category]);
  if (result.brand) rows.push(['Brand', result.brand.name]);
  rows.push(['GTIN', a.gtin], ['Serial number', a.serial]);
  if (p?.lot) rows.push(['Lot', p.lot]);
  if (p) rows.push(['Passport status', p.status.replace(/_/g, ' ').toLowerCase()]);
  rows.push(['Checked at', result.scannedAt.toISOString()]);
  const warn = result.verdict !== 'AUTHENTIC';
  const heading = result.model ? `${result.model.name}` : 'Product verification';
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${escapeHtml(v.title)}: ${escapeHtml(heading)}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:40rem;margin:1rem auto;padding:0 1rem;line-height:1.5;color:#111;background:#fff}
.verdict{border:3px solid ${v.colour};border-radius:.5rem;padding:.75rem 1rem;margin:1rem 0}
.verdict h2{margin:0;color:${v.colour}}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem}dt{font-weight:600}dd{margin:0;word-break:break-all}
.todo{border-left:4px solid ${v.colour};padding-left:1rem}
</style>
</head>
<body>
<main>
<h1>${escapeHtml(heading)}</h1>
<section class="verdict" aria-labelledby="verdict">
<h2 id="verdict">Verdict: ${escapeHtml(v.title)}</h2>
<p>${escapeHtml(v.summary)}</p>
</section>
<section aria-labelledby="details">
<h2 id="details">Details</h2>
<dl>
${rows.map(([k, val]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(val)}</dd>`).join('\n')}
</dl>
</section>
${
  result.reasons.length
    ? `<section aria-labelledby="reasons">
<h2 id="reasons">Why</h2>
<ul>
${result.reasons.map((r) => `<li>${escapeHtml(r)}</li>`).join('\n')}
</ul>
</section>`
    : ''
}
${warn ? `<section class="todo" aria-labelledby="todo">\n<h2 id="todo">What to do</h2>\n<p>${escapeHtml(WHAT_TO_DO)}</p>\n</section>` : ''}
<p><small>This check was recorded to help the brand detect counterfeits. No app or account is needed.</small></p>
</main>
</body>
</html>
`;
}

function sendError(res: Response, format: Format, status: number, code: string, message: string, extra: Record<string, unknown> = {}): void {
  res.setHeader('cache-control', 'no-store');
  if (format === 'html') {
    res.setHeader('content-security-policy', HTML_CSP);
    const title = status === 429 ? 'Too many requests' : status === 401 ? 'Not authorised' : 'Invalid product code';
    res
      .status(status)
      .type('html')
      .send(
        `<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<meta name="viewport" content="width=device-width, initial-scale=1">\n<title>${escapeHtml(title)}</title>\n</head>\n<body>\n<main>\n<h1>${escapeHtml(title)}</h1>\n<p>${escapeHtml(message)}</p>\n</main>\n</body>\n</html>\n`,
      );
    return;
  }
  res.status(status).json({ error: { code, message, ...extra } });
}

/**
 * GS1 Digital Link resolver: `GET /01/{gtin}[/22/{cpv}][/10/{lot}]/21/{serial}[?sig=…]`. Every resolve (GET; a
 * HEAD only answers the status) is a recorded scan (verificationService.verifyScan). Answers an accessible HTML page, JSON or an RFC 9264 linkset by
 * content negotiation; 404 for identities never minted, 410 for units at end of life. Also serves
 * `/.well-known/gs1resolver`.
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

  router.get('/01/*splat', async (req, res, next) => {
    const format = formatOf(req);
    res.setHeader('vary', 'Accept');
    try {
      let viewer: Viewer = { kind: 'ANONYMOUS' };
      if (req.headers.authorization) {
        viewer = await resolveViewer(orm, req.headers.authorization, services.apiKeys);
      } else {
        const wait = await consume(anonLimiter, req.ip ?? 'unknown');
        if (wait) {
          res.setHeader('retry-after', String(wait));
          sendError(res, format, 429, 'RATE_LIMITED', 'Too many requests; slow down', { retryAfterSeconds: wait });
          return;
        }
      }

      const url = `${root}${req.originalUrl}`;
      let parsed: ReturnType<typeof parseDigitalLink>;
      try {
        parsed = parseDigitalLink(url);
      } catch (e) {
        if (e instanceof Gs1Error) {
          sendError(res, format, 400, 'BAD_USER_INPUT', `Not a valid GS1 Digital Link: ${e.message}`);
          return;
        }
        throw e;
      }
      // The anchor is the canonical identity on this resolver, without the signature.
      const anchor = formatDigitalLink({ host: root, gtin: parsed.gtin, serial: parsed.serial, cpv: parsed.cpv, lot: parsed.lot });
      if (req.method === 'HEAD') {
        // A HEAD (link checkers, crawlers, prefetch) is not a scan: the status and headers a GET would
        // answer, from a read-only lookup, and nothing recorded.
        const unit = await orm.em.fork().findOne(Passport, { gtin: parsed.gtin, serial: parsed.serial }, { fields: ['status'] });
        const status = !unit ? 404 : unit.status === 'END_OF_LIFE' || unit.status === 'RECYCLED' ? 410 : 200;
        res.setHeader('cache-control', 'no-store');
        res.setHeader('link', `<${anchor}?linkType=linkset>; rel="linkset"; type="${LINKSET}"`);
        res.status(status).type(format === 'html' ? 'html' : format === 'linkset' ? LINKSET : 'json').end();
        return;
      }
      const result = await verificationService.verifyScan(orm.em.fork() as EntityManager, services, viewer, { digitalLink: url }, req.ip ?? 'unknown', 'RESOLVER');
      const answer: Answer = { result, gtin: parsed.gtin, serial: parsed.serial, lot: parsed.lot, anchor };

      const status = !result.passport ? 404 : result.passport.status === 'END_OF_LIFE' || result.passport.status === 'RECYCLED' ? 410 : 200;
      res.setHeader('cache-control', 'no-store');
      res.setHeader('link', `<${anchor}?linkType=linkset>; rel="linkset"; type="${LINKSET}"`);
      if (format === 'html') {
        res.setHeader('content-security-policy', HTML_CSP);
        res.setHeader('x-content-type-options', 'nosniff');
        res.setHeader('referrer-policy', 'no-referrer');
        res.status(status).type('html').send(htmlPage(answer));
        return;
      }
      res.setHeader('access-control-allow-origin', '*');
      if (format === 'linkset') {
        res.status(status).type(LINKSET).send(JSON.stringify(linksetBody(answer, config)));
        return;
      }
      res.status(status).json(jsonBody(answer));
    } catch (e) {
      if (e instanceof AppError) {
        const status = e.code === 'UNAUTHENTICATED' ? 401 : e.code === 'BAD_USER_INPUT' ? 400 : e.code === 'RATE_LIMITED' ? 429 : e.code === 'FORBIDDEN' ? 403 : 404;
        sendError(res, format, status, e.code, e.message);
        return;
      }
      log.error({ err: e, requestId: res.locals.requestId }, 'digital link resolve failed');
      next(e);
    }
  });

  return router;
}
