import { DPP_LINK_PREFIX, dppLinkTypes } from '../batteries/battery-link.js';
import { untpPassportPath } from '../passports/credential.routes.js';
import { gs1LinkTypeName, GS1_VOC, type ProductLink } from '../product-models/product-model.links.js';

/**
 * UNTP link types (`untp:dpp`, `untp:dcc`, `untp:dte`; UNTP Identity Resolver spec) expand under UNTP's
 * linkTypes vocabulary, as UNTP's DPP schema writes them (`https://test.uncefact.org/vocabulary/linkTypes/dcc`).
 */
export const UNTP_LINK_TYPES = 'https://test.uncefact.org/vocabulary/linkTypes/';

/** The path prefixes of the pages this resolver redirects to: a unit's verification result, a product's page. */
export const VERIFICATION_PREFIX = '/verification';
export const PRODUCT_PREFIX = '/product';

/** A link as a linkset lists it (GS1's linkset schema: href and title, optional type and hreflang). */
export type OfferedLink = { href: string; title: string; type?: string; hreflang?: string[] };

/** The links of one level (a unit, or its product model), by link type (`gs1:<name>`, `untp:<name>` or a registered relation). */
export type LevelLinks = { anchor: string; itemDescription: string; links: Map<string, OfferedLink[]> };

/**
 * A signed or unsigned unit the resolve named, as the linkset needs it; `battery` when it has an EU battery passport
 * (a battery model's unit not yet recycled: Art. 77(8) ends the passport with recycling).
 */
export type UnitFacts = { anchor: string; description: string; passportId: string; signed: boolean; battery?: boolean };

/** What a resolve is about: the product model (always) and, for a `/21/` link, the unit. */
export type LinkContext = {
  /** The resolver root (scheme, host, path prefix). */
  base: string;
  /** The product-level identity (`/01/{gtin}`, with `/22/` and `/10/` of the request). */
  productAnchor: string;
  productDescription: string;
  brandId: string;
  brandLinks: readonly ProductLink[];
  unit?: UnitFacts;
};

/** What `?linkType=` asked for: nothing, the linkset (`linkset`, `all`), a link type (normalised to its CURIE), or nothing this resolver knows. */
export type RequestedLinkType = { kind: 'none' } | { kind: 'linkset' } | { kind: 'type'; curie: string } | { kind: 'unknown'; value: string };

export function requestedLinkType(value: unknown, root: string): RequestedLinkType {
  if (value === undefined) return { kind: 'none' };
  if (typeof value !== 'string') return { kind: 'unknown', value: String(value) };
  if (value === 'linkset' || value === 'all') return { kind: 'linkset' };
  const gs1 = gs1LinkTypeName(value);
  if (gs1) return { kind: 'type', curie: `gs1:${gs1}` };
  const untp = /^(?:untp:|https:\/\/test\.uncefact\.org\/vocabulary\/linkTypes\/)([a-z]+)$/.exec(value);
  if (untp) return { kind: 'type', curie: `untp:${untp[1]}` };
  // Ours (`dpp:batteryPass`), as a CURIE or its IRI: a compressed link reaches here; a plain one is answered before (battery.routes.ts).
  for (const ns of [DPP_LINK_PREFIX, dppLinkTypes(root)]) {
    const name = value.startsWith(ns) ? value.slice(ns.length) : '';
    if (/^[A-Za-z]+$/.test(name)) return { kind: 'type', curie: `${DPP_LINK_PREFIX}${name}` };
  }
  // A registered relation type (RFC 8288), e.g. `describedby`.
  if (/^[a-z][a-z-]*$/.test(value)) return { kind: 'type', curie: value };
  return { kind: 'unknown', value };
}

/** The linkset key of a link type: full IRIs for CURIEs (GS1's schema takes only IRIs or registered names). */
export function linkTypeIri(curie: string, root: string): string {
  if (curie.startsWith('gs1:')) return `${GS1_VOC}${curie.slice(4)}`;
  if (curie.startsWith('untp:')) return `${UNTP_LINK_TYPES}${curie.slice(5)}`;
  if (curie.startsWith(DPP_LINK_PREFIX)) return `${dppLinkTypes(root)}${curie.slice(DPP_LINK_PREFIX.length)}`;
  return curie;
}

/** Where a unit's verification result and a product's page live (the DL path under this resolver's page prefixes). */
export const verificationHref = (base: string, anchor: string) => `${base}${VERIFICATION_PREFIX}${anchor.slice(base.length)}`;
export const productHref = (base: string, anchor: string) => `${base}${PRODUCT_PREFIX}${anchor.slice(base.length)}`;

/**
 * The links offered, one level each, most granular first (GS1: a request with key qualifiers gets the links
 * of every level up to the primary key). A unit's default link is its verification result on this server,
 * also offered as `gs1:verificationService` (as HTML and as JSON), its public UNTP passport when the unit is
 * signed, and its EU battery passport (`dpp:batteryPass`) when it is a battery. The product level's default is the
 * model's page here; `gs1:pip` is that page unless the brand set its own; the brand's pages follow under their
 * link types, and its signing keys.
 */
export function offeredLinks(ctx: LinkContext): LevelLinks[] {
  const levels: LevelLinks[] = [];
  if (ctx.unit) {
    const u = ctx.unit;
    const result = verificationHref(ctx.base, u.anchor);
    const links = new Map<string, OfferedLink[]>([
      ['gs1:defaultLink', [{ href: result, title: 'Verification result' }]],
      [
        'gs1:verificationService',
        [
          { href: result, title: 'Verification result', type: 'text/html', hreflang: ['en'] },
          { href: result, title: 'Verification result (JSON)', type: 'application/json' },
        ],
      ],
    ]);
    if (u.signed) links.set('untp:dpp', [{ href: `${ctx.base}${untpPassportPath(u.passportId)}`, title: 'Digital Product Passport (UNTP)', type: 'application/json' }]);
    if (u.battery) {
      // Served on the Digital Link itself (batteries/battery.routes.ts): JSON per the caller's Annex XIII group, or the public part as a page.
      const href = `${u.anchor}?linkType=${DPP_LINK_PREFIX}batteryPass`;
      links.set(`${DPP_LINK_PREFIX}batteryPass`, [
        { href, title: 'EU battery passport (Regulation (EU) 2023/1542)', type: 'application/json' },
        { href, title: 'EU battery passport: the public information', type: 'text/html', hreflang: ['en'] },
      ]);
    }
    levels.push({ anchor: u.anchor, itemDescription: u.description, links });
  }
  const page = productHref(ctx.base, ctx.productAnchor);
  const links = new Map<string, OfferedLink[]>([['gs1:defaultLink', [{ href: page, title: 'Product page' }]]]);
  if (!ctx.brandLinks.some((l) => l.linkType === 'gs1:pip')) links.set('gs1:pip', [{ href: page, title: `${ctx.productDescription}: product page`, type: 'text/html', hreflang: ['en'] }]);
  for (const l of ctx.brandLinks) {
    const list = links.get(l.linkType) ?? [];
    list.push({ href: l.href, title: l.title, ...(l.lang ? { hreflang: [l.lang] } : {}) });
    links.set(l.linkType, list);
  }
  links.set('describedby', [{ href: `${ctx.base}/brands/${ctx.brandId}/did.json`, type: 'application/did+json', title: 'Brand signing keys (did:web)' }]);
  levels.push({ anchor: ctx.productAnchor, itemDescription: ctx.productDescription, links });
  return levels;
}

/** The links of one type a resolve can redirect to: the most granular level that offers that type. */
export function linksOfType(levels: readonly LevelLinks[], curie: string): OfferedLink[] | undefined {
  for (const level of levels) {
    const links = level.links.get(curie);
    if (links?.length) return links;
  }
  return undefined;
}

/** The RFC 9264 JSON linkset, in the shape GS1's linkset schema takes: one entry per level, full link type IRIs. */
export function linksetBody(levels: readonly LevelLinks[], root: string) {
  return {
    linkset: levels.map((level) => {
      const entry: Record<string, unknown> = { anchor: level.anchor, itemDescription: level.itemDescription };
      for (const [rel, links] of level.links) entry[linkTypeIri(rel, root)] = links;
      return entry;
    }),
  };
}

/**
 * Of several links of one type, the best for the request: those of a media type the Accept header names (when
 * it names one), then one in a language the client accepts (`pickLang` is Express's acceptsLanguages), else the first.
 */
export function chooseLink(links: readonly OfferedLink[], accept: string | undefined, pickLang: (langs: string[]) => string | false): OfferedLink {
  const named = links.filter((l) => l.type && accept?.toLowerCase().includes(l.type.toLowerCase()));
  const candidates = named.length ? named : links;
  const langs = candidates.flatMap((l) => l.hreflang ?? []);
  const best = langs.length ? pickLang(langs) : false;
  return (best && candidates.find((l) => l.hreflang?.includes(best))) || candidates[0]!;
}

/**
 * A redirect target with the request's query passed on (GS1: by default all key=value pairs), except
 * `linkType`, which this resolver consumed.
 */
export function redirectTarget(href: string, query: URLSearchParams): string {
  const url = new URL(href);
  for (const [key, value] of query) if (key !== 'linkType') url.searchParams.append(key, value);
  return url.toString();
}
