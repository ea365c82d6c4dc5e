import { gs1LinkTypeName, GS1_VOC, type ProductLink } from '../product-models/product-model.links.js';

/** A link as a linkset lists it; `serve` marks the links this resolver answers itself (the rest are redirects). */
export type OfferedLink = { href: string; title: string; type?: string; hreflang?: string[]; serve?: 'html' | 'json' };

/** What a resolve is about: a unit (`/21/` present) or a product model (and maybe its lot), with the brand's pages. */
export type LinkContext = {
  level: 'unit' | 'product';
  /** The request's identity on this resolver, without query: the linkset's anchor. */
  anchor: string;
  description: string;
  /** The resolver root (scheme, host, path prefix), for the API and DID links. */
  base: string;
  brandId: string | null;
  brandLinks: readonly ProductLink[];
};

/** What `?linkType=` asked for: nothing, the linkset (`linkset`, `all`), a GS1 link type (`gs1:<name>`), or something not a GS1 link type. */
export type RequestedLinkType = { kind: 'none' } | { kind: 'linkset' } | { kind: 'type'; curie: string } | { kind: 'unknown'; value: string };

export function requestedLinkType(value: unknown): RequestedLinkType {
  if (value === undefined) return { kind: 'none' };
  if (typeof value !== 'string') return { kind: 'unknown', value: String(value) };
  if (value === 'linkset' || value === 'all') return { kind: 'linkset' };
  const name = gs1LinkTypeName(value);
  return name ? { kind: 'type', curie: `gs1:${name}` } : { kind: 'unknown', value };
}

/**
 * The links offered for a resolve, by link type (`gs1:<name>`, or a registered relation such as `describedby`).
 * This resolver's verification page is always the default link (and the product page when the brand sets no
 * gs1:pip); a unit also offers its verification as JSON and the GraphQL API. The brand's pages follow, each
 * under its link type (a unit offers its model's pages too: GS1 resolvers include the links of every level
 * up to the primary key).
 */
export function offeredLinks(ctx: LinkContext): Map<string, OfferedLink[]> {
  const page: OfferedLink = {
    href: ctx.anchor,
    type: 'text/html',
    hreflang: ['en'],
    title: ctx.level === 'unit' ? 'Verification page' : 'Product page',
    serve: 'html',
  };
  const offered = new Map<string, OfferedLink[]>([['gs1:defaultLink', [page]]]);
  if (!ctx.brandLinks.some((l) => l.linkType === 'gs1:pip')) offered.set('gs1:pip', [{ ...page, title: `${ctx.description}: ${page.title.toLowerCase()}` }]);
  if (ctx.level === 'unit') {
    offered.set('gs1:verificationService', [
      { href: `${ctx.anchor}?linkType=gs1:verificationService`, type: 'application/json', title: 'Verification result (JSON)', serve: 'json' },
      { href: `${ctx.base}/graphql`, type: 'application/graphql-response+json', title: 'Verification API (GraphQL verifyScan)' },
    ]);
  }
  for (const l of ctx.brandLinks) {
    const list = offered.get(l.linkType) ?? [];
    list.push({ href: l.href, title: l.title, ...(l.lang ? { hreflang: [l.lang] } : {}) });
    offered.set(l.linkType, list);
  }
  if (ctx.brandId) {
    offered.set('describedby', [{ href: `${ctx.base}/brands/${ctx.brandId}/did.json`, type: 'application/did+json', title: 'Brand signing keys (did:web)' }]);
  }
  return offered;
}

/** The RFC 9264 JSON linkset of what is offered, in the shape GS1's linkset schema takes (full link type IRIs, a title per link). */
export function linksetBody(ctx: LinkContext, offered = offeredLinks(ctx)) {
  const entry: Record<string, unknown> = { anchor: ctx.anchor, itemDescription: ctx.description };
  for (const [rel, links] of offered) {
    entry[rel.startsWith('gs1:') ? `${GS1_VOC}${rel.slice(4)}` : rel] = links.map(({ serve: _serve, ...link }) => link);
  }
  return { linkset: [entry] };
}

/** Of several links of one type, the one in a language the client accepts (`pick` is Express's acceptsLanguages), else the first. */
export function chooseLink(links: readonly OfferedLink[], pick: (langs: string[]) => string | false): OfferedLink {
  const langs = links.flatMap((l) => l.hreflang ?? []);
  const best = langs.length ? pick(langs) : false;
  return (best && links.find((l) => l.hreflang?.includes(best))) || links[0]!;
}

/**
 * A redirect target with the request's query passed on, as GS1 resolvers do by default, except `linkType`
 * (which this resolver consumed).
 */
export function redirectTarget(href: string, query: URLSearchParams): string {
  const url = new URL(href);
  for (const [key, value] of query) if (key !== 'linkType') url.searchParams.append(key, value);
  return url.toString();
}
