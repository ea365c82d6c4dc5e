import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import digitalLink from 'digital-link.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gtinCheckDigit } from '../../src/gs1/index.js';
import { startResolverServer } from '../support/resolver-server.js';
import type { TestServer } from '../support/server.js';
import { vectorsDir } from '../unit/vectors.js';

// GS1-Conformant resolver 1.2 (../shared/vectors/gs1-resolver/conformance-statements-1.2.txt): one describe per
// statement, named by its number in that file and its text, with the checks GS1's resolver test suite
// (gs1/GS1DL-resolver-testsuite) makes for it, reproduced here. Linksets and the description file are checked
// with plain ajv against GS1's schemas (GS1 linkset, RFC 9264 linkset, description file 1.2.0).

const GS1 = 'https://gs1.org/voc/';
const LINKSET = 'application/linkset+json';
const ORIGIN = 'https://ref.gs1.org/test-suites/resolver/';

let s: TestServer;
let gtin: string;
let unit: string; // the unit's Digital Link without its query
let sig: string;
let statements: string[] = [];
const schemas: { gs1?: ValidateFunction; rfc9264?: ValidateFunction; description?: ValidateFunction } = {};

const get = (url: string, headers: Record<string, string> = {}, method = 'GET') => fetch(url, { method, headers: { origin: ORIGIN, ...headers }, redirect: 'manual' });
const strip = (u: string) => u.split('?')[0]!;

type Linkset = { linkset: Record<string, unknown>[] };
type Link = { href: string; title: string; type?: string; hreflang?: string[] };

/** The statement's text from GS1's file, checked to be there (so a test names a statement that exists). */
function statement(n: number, text: string): string {
  if (statements.length) expect(statements[n - 1]).toContain(text);
  return text;
}

function expectValid(validate: ValidateFunction | undefined, body: unknown): void {
  if (!validate) return;
  validate(body);
  expect(validate.errors ?? [], JSON.stringify(body)).toEqual([]);
}

beforeAll(async () => {
  if (vectorsDir) {
    const dir = path.join(vectorsDir, 'gs1-resolver');
    const read = (f: string) => JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as object;
    statements = readFileSync(path.join(dir, 'conformance-statements-1.2.txt'), 'utf8').split('\n').filter((l) => l.trim());
    // GS1's schemas carry annotation keywords ajv does not know (`name`, `@id`): not strict, nothing else changed.
    schemas.gs1 = new Ajv({ strict: false, allErrors: true }).compile(read('gs1-linkset-schema.json'));
    schemas.rfc9264 = new Ajv({ strict: false, allErrors: true }).compile(read('linkset-schema.json'));
    const withFormats = new Ajv({ strict: false, allErrors: true });
    addFormats.default(withFormats);
    schemas.description = withFormats.compile(read('gs1-description-file-schema-1.2.0.json'));
  } else {
    console.warn('Shared vectors folder is absent: conformance statements and GS1 schemas are not checked.');
  }
  s = await startResolverServer();
  const brand = await s.org('BRAND', { gs1CompanyPrefixes: ['0766666'] });
  const body = '076666600001';
  gtin = (body + gtinCheckDigit(body)).padStart(14, '0');
  const links = [
    { linkType: 'gs1:pip', href: 'https://brand.example/en/p', title: 'Product (en)', lang: 'en' },
    { linkType: 'gs1:pip', href: 'https://brand.example/fr/p', title: 'Produit (fr)', lang: 'fr' },
    { linkType: 'gs1:instructions', href: 'https://brand.example/manual', title: 'Manual' },
  ];
  const m = await s.gql('mutation($i: ProductModelInput!) { createProductModel(input: $i) { id } }', { i: { gtin, name: 'Conformance bike', links } }, brand.key);
  if (m.errors) throw new Error(JSON.stringify(m.errors));
  const r = await s.gql<{ mintPassports: { passports: { digitalLink: string }[] } }>(
    'mutation($i: MintInput!) { mintPassports(input: $i) { passports { digitalLink } } }',
    { i: { gtin, quantity: 1, lot: 'L7', sign: true, idempotencyKey: 'conformance' } },
    brand.key,
  );
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  const link = r.data!.mintPassports.passports[0]!.digitalLink;
  unit = strip(link);
  sig = new URL(link).searchParams.get('sig')!;
});
afterAll(async () => {
  await s?.stop();
});

const product = () => `${s.url}/01/${gtin}`;
const verification = () => `${s.url}/verification${new URL(unit).pathname}`;

async function linkset(url: string, headers: Record<string, string> = {}): Promise<Linkset> {
  const res = await get(url, headers);
  expect(res.status, url).toBe(200);
  return (await res.json()) as Linkset;
}

describe('1. SHALL support HTTP 1.1 (or higher) GET, HEAD and OPTIONS requests', () => {
  it('answers GET and HEAD alike (307 to the default) and OPTIONS with the three methods', async () => {
    statement(1, 'GET, HEAD and OPTIONS');
    for (const url of [unit, product()]) {
      const [g, h] = [await get(url), await get(url, {}, 'HEAD')];
      expect([g.status, h.status]).toEqual([307, 307]);
      expect(h.headers.get('location')).toBe(g.headers.get('location'));
      const o = await get(url, { 'access-control-request-method': 'GET,HEAD,OPTIONS' }, 'OPTIONS');
      expect(o.status).toBe(204);
      for (const m of ['GET', 'HEAD', 'OPTIONS']) {
        expect(o.headers.get('access-control-allow-methods')).toContain(m);
        expect(o.headers.get('allow')).toContain(m);
      }
    }
  });
});

describe('2. SHALL support HTTP Over TLS (HTTPS)', () => {
  it('answers with the configured https root in every link and redirect (TLS is the deployment front\'s)', async () => {
    statement(2, 'HTTPS');
    const tls = await startResolverServer({ DPP_RESOLVER_HOST: 'https://id.example.test' });
    try {
      const res = await fetch(`${tls.url}/01/${gtin}/21/ANY`, { redirect: 'manual' });
      expect(res.headers.get('location')).toBe(`https://id.example.test/verification/01/${gtin}/21/ANY`);
      expect(((await (await fetch(`${tls.url}/.well-known/gs1resolver`)).json()) as { resolverRoot: string }).resolverRoot).toBe('https://id.example.test');
    } finally {
      await tls.stop();
    }
  });
});

describe('3. SHALL support CORS', () => {
  it('puts Access-Control-Allow-Origin on every resolver answer, errors and pages included, and answers preflights', async () => {
    statement(3, 'CORS');
    const urls = [
      unit, product(), `${unit}?linkType=linkset`, `${unit}?linkType=gs1:nosuchlt`, `${unit}/foo`, `${s.url}/01/${gtin.slice(0, 13)}${(Number(gtin[13]) + 1) % 10}/21/X`,
      `${s.url}/.well-known/gs1resolver`, verification(), `${s.url}/product/01/${gtin}`, `${s.url}/contexts/gs1-linkset.jsonld`,
    ];
    for (const url of urls) {
      const res = await get(url, { accept: 'text/html' });
      expect(res.headers.get('access-control-allow-origin'), url).toBe('*');
      expect(res.headers.get('access-control-expose-headers'), url).toMatch(/Link/);
    }
    const pre = await get(unit, { 'access-control-request-method': 'GET', 'access-control-request-headers': 'accept-language' }, 'OPTIONS');
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe('*');
    expect(pre.headers.get('access-control-allow-headers')).toBe('accept-language');
  });
});

describe('4-5. SHALL decompress a URI (GS1 Digital Link: Compression) and expose the uncompressed URI in a Link rel="owl:sameAs"', () => {
  it("decompresses GS1's compression examples", () => {
    // Examples from GS1's compression prototype's tables (compressed ↔ uncompressed).
    const { Utils } = digitalLink;
    expect(Utils.decompressWebUri('https://id.gs1.org/AQnYUc1gmg')).toBe('https://id.gs1.org/01/05412345000013');
    expect(Utils.decompressWebUri('https://id.gs1.org/AQnYUc1gmiCNV4JG')).toBe('https://id.gs1.org/01/05412345000013/10/ABC123');
    expect(Utils.decompressWebUri('https://id.gs1.org/AQnYUc1gmiCNV4JGQhcNT6K6c')).toBe('https://id.gs1.org/01/05412345000013/10/ABC123/21/72292641703');
  });

  it('resolves a compressed unit and product link as the uncompressed one, with owl:sameAs', async () => {
    statement(4, 'decompress a URI');
    statement(5, 'owl:sameAs');
    for (const plain of [unit, product()]) {
      const compressed = digitalLink.Utils.compressWebUri(plain);
      expect(compressed).not.toBe(plain);
      const [c, u] = [await get(`${compressed}?sig=${sig}`), await get(`${plain}?sig=${sig}`)];
      expect(c.status).toBe(307);
      expect(c.headers.get('location')).toBe(u.headers.get('location'));
      expect(c.headers.get('link')).toContain(`<${plain}>; rel="owl:sameAs"`);
      const ls = (await linkset(`${compressed}?linkType=linkset`)).linkset;
      expect(ls[0]!.anchor).toBe(plain); // statement 8: the subject is the uncompressed URI
    }
    expect((await get(`${s.url}/NotCompressedAtAll`)).status).toBe(404);
  });
});

describe('6. SHALL extract and syntactically validate the URI, and report errors with 400', () => {
  it('answers 400 to a path that is not a GS1 Digital Link', async () => {
    statement(6, 'HTTP response code of 400');
    for (const bad of [`${unit}/foo`, `${product()}/foo`, `${s.url}/01/${gtin.slice(0, 13)}${(Number(gtin[13]) + 1) % 10}`, `${s.url}/01/${gtin}/21/A/10/B`, `${s.url}/01/123`]) {
      expect((await get(bad, { accept: 'application/json' })).status, bad).toBe(400);
      expect((await get(bad, { accept: 'text/html' })).status, bad).toBe(400);
    }
  });
});

describe('7. SHALL NOT use a 200 OK response code with a resource that indicates an error condition', () => {
  it('answers errors with 4xx codes: not registered, never minted, link type not offered, bad syntax', async () => {
    statement(7, 'SHALL NOT use a 200 OK');
    const other = (`076666600009${gtinCheckDigit('076666600009')}`).padStart(14, '0'); // valid, never registered
    expect((await get(`${s.url}/01/${other}`, { accept: 'application/json' })).status).toBe(404);
    expect((await fetch(`${s.url}/01/${gtin}/21/NEVERMINTED`, { headers: { accept: 'application/json' } })).status).toBe(404);
    expect((await get(`${unit}?linkType=gs1:nosuchlt`)).status).toBe(404);
    expect((await get(`${unit}/foo`)).status).toBe(400);
  });
});

describe('8. SHALL respond to linkType=all with the links available (RFC 9264 linkset), each level up to the primary key, the subject uncompressed', () => {
  it('answers linkType=all, linkType=linkset and Accept: application/linkset+json with the same valid linkset', async () => {
    statement(8, 'linkType set to all');
    const forms = [await get(`${unit}?linkType=all`), await get(`${unit}?linkType=linkset`), await get(unit, { accept: LINKSET })];
    const bodies: unknown[] = [];
    for (const res of forms) {
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^application\/linkset\+json/);
      expect(res.headers.get('link')).toMatch(/rel="http:\/\/www\.w3\.org\/ns\/json-ld#context"; type="application\/ld\+json"/);
      bodies.push(await res.json());
    }
    expect(bodies[1]).toEqual(bodies[0]);
    expect(bodies[2]).toEqual(bodies[0]);
    const body = bodies[0] as Linkset;
    expectValid(schemas.gs1, body);
    // The plain RFC 9264 schema knows no `itemDescription` (GS1's addition, which GS1's own schema requires).
    expectValid(schemas.rfc9264, { linkset: body.linkset.map(({ itemDescription: _d, ...entry }) => entry) });
    expect(body.linkset.map((e) => e.anchor)).toEqual([unit, product()]);
    expect(body.linkset[1]![`${GS1}instructions`]).toEqual([{ href: 'https://brand.example/manual', title: 'Manual' }]);
    // The context the Link header names is JSON-LD.
    const ctx = await get(`${s.url}/contexts/gs1-linkset.jsonld`);
    expect(ctx.headers.get('content-type')).toMatch(/^application\/ld\+json/);
    expect(((await ctx.json()) as { '@context': Record<string, unknown> })['@context'].gs1).toBe(GS1);
    // A lot-level link walks up to the model (GS1's suite: /10/KL8G must not be 404).
    expect((await get(`${product()}/10/KL8G`)).status).toBe(307);
    expect((await linkset(`${product()}/10/KL8G?linkType=linkset`)).linkset.map((e) => e.anchor)).toEqual([product()]);
  });
});

describe('9. SHOULD expose a link to the linkset in an HTTP Link header, even when redirecting', () => {
  it('sends Link rel="linkset" on redirects, OPTIONS and the pages', async () => {
    statement(9, 'even when redirecting');
    for (const [url, method] of [[unit, 'GET'], [unit, 'OPTIONS'], [product(), 'GET'], [`${unit}?linkType=gs1:instructions`, 'GET'], [verification(), 'HEAD']] as const) {
      const link = (await get(url, {}, method)).headers.get('link') ?? '';
      expect(link, `${method} ${url}`).toContain(`?linkType=linkset>; rel="linkset"; type="${LINKSET}"`);
      expect(link).not.toContain('rel="gs1:'); // GS1 1.0 deprecated listing every link in the header
    }
  });
});

describe('10. SHALL recognise one available link as the default for any given request URI', () => {
  it('offers exactly one gs1:defaultLink per level, with a title and no other attribute', async () => {
    statement(10, 'one available link as the default');
    for (const entry of (await linkset(`${unit}?linkType=linkset`)).linkset) {
      const d = entry[`${GS1}defaultLink`] as Link[];
      expect(d).toHaveLength(1);
      expect(Object.keys(d[0]!).sort()).toEqual(['href', 'title']);
    }
  });
});

describe('11. All links exposed SHALL include the target URL, the link type and a human-readable title', () => {
  it('gives every link an href and a non-empty title under its link type', async () => {
    statement(11, 'human-readable title');
    for (const url of [unit, product()]) {
      for (const entry of (await linkset(`${url}?linkType=linkset`)).linkset) {
        for (const [rel, links] of Object.entries(entry)) {
          if (rel === 'anchor' || rel === 'itemDescription') continue;
          expect(rel).toMatch(/^(https:\/\/[a-zA-Z0-9./]+|[a-z-]+)$/);
          for (const l of links as Link[]) expect(l.href && l.title.trim(), `${rel} ${l.href}`).toBeTruthy();
        }
      }
    }
  });
});

describe('12. SHALL redirect to the default link unless the request can be matched to a better response', () => {
  it("redirects a plain request to the linkset's default href, exactly (unit: the verification result; product: its page)", async () => {
    statement(12, 'SHALL redirect to the default link');
    for (const url of [unit, product()]) {
      const def = ((await linkset(`${url}?linkType=linkset`)).linkset[0]![`${GS1}defaultLink`] as Link[])[0]!.href;
      expect((await get(url)).headers.get('location')).toBe(def);
    }
    expect((await get(unit)).headers.get('location')).toBe(verification());
  });
});

describe('13. SHALL redirect to the requested linkType if available', () => {
  it('redirects every link type the linkset offers to its href (by Accept and Accept-Language among several)', async () => {
    statement(13, 'requested linkType');
    const seen = new Set<string>();
    for (const entry of (await linkset(`${unit}?linkType=linkset`)).linkset) {
      for (const [rel, links] of Object.entries(entry)) {
        if (rel === 'anchor' || rel === 'itemDescription' || rel.endsWith('/defaultLink') || seen.has(rel)) continue;
        seen.add(rel); // the most granular level answers for a type (GS1's suite does the same)
        for (const l of links as Link[]) {
          const headers: Record<string, string> = { ...(l.type ? { accept: l.type } : {}), ...(l.hreflang ? { 'accept-language': l.hreflang[0]! } : {}) };
          const res = await get(`${unit}?linkType=${encodeURIComponent(rel)}`, headers);
          expect(res.status, rel).toBe(307);
          expect(strip(res.headers.get('location')!), `${rel} ${JSON.stringify(headers)}`).toBe(strip(l.href));
        }
      }
    }
    expect([...seen]).toEqual(expect.arrayContaining([`${GS1}verificationService`, `${GS1}pip`, `${GS1}instructions`, 'describedby', 'https://test.uncefact.org/vocabulary/linkTypes/dpp']));
    // GS1's test: a link type not offered is 404.
    expect((await get(`${unit}?linkType=gs1:nosuchlt`)).status).toBe(404);
    expect((await get(`${product()}?linkType=gs1:nosuchlt`)).status).toBe(404);
  });
});

describe('14. By default, SHALL pass on all key=value pairs in the query string when redirecting', () => {
  it('passes foo=bar (and sig) on to the default link and to a requested link type, linkType itself consumed', async () => {
    statement(14, 'pass on all key=value pairs');
    expect((await get(`${unit}?foo=bar`)).headers.get('location')).toBe(`${verification()}?foo=bar`);
    expect((await get(`${product()}?foo=bar&x=1`)).headers.get('location')).toBe(`${s.url}/product/01/${gtin}?foo=bar&x=1`);
    const typed = new URL((await get(`${unit}?sig=${sig}&linkType=gs1:instructions&foo=bar`)).headers.get('location')!);
    expect([...typed.searchParams.keys()]).toEqual(['sig', 'foo']);
  });
});

describe('15. SHALL provide a resolver description file at /.well-known/gs1resolver', () => {
  it("serves a description file valid against GS1's schema 1.2.0, naming AI 01 and the JSON-LD context", async () => {
    statement(15, '/.well-known/gs1resolver');
    const res = await get(`${s.url}/.well-known/gs1resolver`, { accept: 'application/json' });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expectValid(schemas.description, body);
    expect(body).toMatchObject({ resolverRoot: s.url, supportedPrimaryKeys: ['01'], jsonLdContextLocation: `${s.url}/contexts/gs1-linkset.jsonld` });
  });
});

describe('16. SHALL recognise the GS1 Web vocabulary namespace; other link types SHALL NOT duplicate GS1 ones', () => {
  it('takes gs1: CURIEs and the gs1.org, www.gs1.org and ref.gs1.org IRIs alike; UNTP types are not GS1 names', async () => {
    statement(16, 'GS1 Web vocabulary namespace');
    for (const t of ['gs1:instructions', `${GS1}instructions`, 'https://www.gs1.org/voc/instructions', 'https://ref.gs1.org/voc/instructions']) {
      expect((await get(`${unit}?linkType=${encodeURIComponent(t)}`)).headers.get('location'), t).toBe('https://brand.example/manual');
    }
    const keys = (await linkset(`${unit}?linkType=linkset`)).linkset.flatMap((e) => Object.keys(e));
    expect(keys.filter((k) => !k.startsWith(GS1) && !['anchor', 'itemDescription'].includes(k)).sort()).toEqual(['describedby', 'https://test.uncefact.org/vocabulary/linkTypes/dpp']);
  });
});

describe('17. Redirections on an MO or company prefix without processing SHALL be annotated gs1:handledBy', () => {
  it('does not apply: every answer is processed here, so no link is typed gs1:handledBy', async () => {
    statement(17, 'gs1:handledBy');
    const keys = (await linkset(`${unit}?linkType=linkset`)).linkset.flatMap((e) => Object.keys(e));
    expect(keys).not.toContain(`${GS1}handledBy`);
  });
});

describe('18. SHOULD tolerate trailing slashes at the end of GS1 Digital Link URIs', () => {
  it('answers the same status and Location with and without a trailing slash', async () => {
    statement(18, 'trailing slashes');
    for (const url of [unit, product()]) {
      const [a, b] = [await get(url), await get(`${url}/`)];
      expect(b.status).toBe(a.status);
      expect(b.headers.get('location')).toBe(a.headers.get('location'));
    }
    expect((await fetch(`${unit}/`, { headers: { accept: 'application/json' } })).status).toBe(200);
  });
});
