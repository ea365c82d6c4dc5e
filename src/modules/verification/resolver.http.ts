import type { NextFunction, Request, Response } from 'express';
import digitalLink from 'digital-link.js';
import { DPP_LINK_PREFIX, dppLinkTypes } from '../batteries/battery-link.js';
import { GS1_VOC } from '../product-models/product-model.links.js';
import { UNTP_LINK_TYPES } from './resolver.links.js';

// digital-link.js is CommonJS: its `Utils` (GS1's compression prototype) comes off the default export.
const { Utils } = digitalLink;

export const LINKSET = 'application/linkset+json';
export const METHODS = 'GET, HEAD, OPTIONS';
/** Where this resolver serves the JSON-LD context of its linksets (GS1: a Link header points to it). */
export const LINKSET_CONTEXT_PATH = '/contexts/gs1-linkset.jsonld';
const JSONLD_CONTEXT_REL = 'http://www.w3.org/ns/json-ld#context';

/** CORS on every resolver answer (GS1: SHALL support CORS): any origin, no credentials, the headers a client needs readable. */
export function cors(res: Response): void {
  res.setHeader('access-control-allow-origin', '*');
  res.setHeader('access-control-expose-headers', 'Link, Location, Retry-After, Content-Type, Vary');
}

/** An OPTIONS request, a CORS preflight included: 204 with the methods and headers a resolver takes. */
export function preflight(req: Request, res: Response, link?: string): void {
  cors(res);
  res.setHeader('allow', METHODS);
  res.setHeader('access-control-allow-methods', METHODS);
  res.setHeader('access-control-allow-headers', req.headers['access-control-request-headers'] ?? 'Accept, Accept-Language, Authorization');
  res.setHeader('access-control-max-age', '86400');
  if (link) res.setHeader('link', link);
  res.status(204).end();
}

/** Express middleware form of `cors` for the pages and documents the resolver links to. */
export function corsMiddleware(req: Request, res: Response, next: NextFunction): void {
  if (req.method === 'OPTIONS') return preflight(req, res);
  cors(res);
  next();
}

/** `Link` header values: the linkset (on every answer about a registered identity), and the linkset's JSON-LD context. */
export const linksetLink = (anchor: string) => `<${anchor}?linkType=linkset>; rel="linkset"; type="${LINKSET}"`;
export const contextLink = (root: string) => `<${root}${LINKSET_CONTEXT_PATH}>; rel="${JSONLD_CONTEXT_REL}"; type="application/ld+json"`;
export const sameAsLink = (uncompressed: string) => `<${uncompressed}>; rel="owl:sameAs"`;

/** GS1's resolver description file (schema 1.2.0): this resolver serves GTINs (AI 01) and knows GS1's and UNTP's link types. */
export function descriptionFile(root: string) {
  return {
    name: 'Digital Product Passport resolver',
    resolverRoot: root,
    supportedPrimaryKeys: ['01'],
    supportedLinkType: [
      { namespace: GS1_VOC, prefix: 'gs1:' },
      { namespace: UNTP_LINK_TYPES, prefix: 'untp:' },
      // Ours: `dpp:batteryPass`, a battery's passport (batteries/battery.routes.ts).
      { namespace: dppLinkTypes(root), prefix: DPP_LINK_PREFIX },
    ],
    linkTypeDefaultCanBeLinkset: false,
    supportedContextValuesEnumerated: [],
    jsonLdContextLocation: `${root}${LINKSET_CONTEXT_PATH}`,
  };
}

/** A JSON-LD context for the linksets (RFC 9264 JSON with GS1's, UNTP's and this resolver's own link type prefixes). */
export const linksetContext = (root: string) => ({
  '@context': {
    '@vocab': 'http://www.iana.org/assignments/relation/',
    linkset: '@graph',
    anchor: '@id',
    href: '@id',
    gs1: GS1_VOC,
    untp: UNTP_LINK_TYPES,
    dpp: dppLinkTypes(root),
    dcterms: 'http://purl.org/dc/terms/',
    title: { '@id': 'http://purl.org/dc/terms/title' },
    type: { '@id': 'http://purl.org/dc/terms/format' },
    hreflang: { '@id': 'http://purl.org/dc/terms/language', '@container': '@set' },
    itemDescription: { '@id': 'http://www.w3.org/2000/01/rdf-schema#comment' },
  },
});

/**
 * A compressed GS1 Digital Link (GS1 Digital Link: Compression) as its uncompressed URI on this resolver, or
 * null when the path is not one. `path` is a single segment (base64url); digital-link.js decodes it.
 */
export function decompress(root: string, segment: string): string | null {
  if (!/^[A-Za-z0-9_-]{6,}$/.test(segment)) return null;
  const uri = `${root}/${segment}`;
  try {
    if (!Utils.isCompressedWebUri(uri)) return null;
    const out = Utils.decompressWebUri(uri);
    return typeof out === 'string' && out.startsWith(`${root}/`) ? out : null;
  } catch {
    return null;
  }
}
