import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gtinCheckDigit } from '../../src/gs1/index.js';
import { startResolverServer } from '../support/resolver-server.js';
import type { TestServer } from '../support/server.js';
import { vectorsDir } from '../unit/vectors.js';

// Issue 13 item 7: GS1 resolver conventions. Product-level links serve the model (404 when unknown); a link
// type not offered is a 404 with the linkset of what is; a unit never minted gets no links; a page the brand
// set for a link type is a 307 redirect. Linksets are checked against GS1's linkset schema with plain ajv.

const GS1 = 'https://gs1.org/voc/';
const LINKSET = 'application/linkset+json';

let s: TestServer;
let brand: { id: string; key: string };
let gtin: string; // a model with brand pages
let plainGtin: string; // a model without
let unknownGtin: string;
let unit: { link: string; serial: string };
let plainUnit: { link: string };
let validLinkset: ValidateFunction | undefined;

const BRAND_LINKS = [
  { linkType: 'gs1:pip', href: 'https://brand.example/en/bike', title: 'Bike (brand page)', lang: 'en' },
  { linkType: 'https://gs1.org/voc/pip', href: 'https://brand.example/de/rad', title: 'Rad (Markenseite)', lang: 'de' },
  { linkType: 'gs1:instructions', href: 'https://brand.example/manual?v=2', title: 'Manual' },
];

function gtinOf(n: number): string {
  const body = `0788888${String(n).padStart(5, '0')}`;
  return (body + gtinCheckDigit(body)).padStart(14, '0');
}

const local = (link: string) => {
  const u = new URL(link);
  return `${s.url}${u.pathname}${u.search}`;
};
const get = (url: string, headers: Record<string, string> = {}, method = 'GET') => fetch(url, { method, headers, redirect: 'manual' });
/** Follows the resolver's redirect, as a browser does. */
const follow = (url: string, headers: Record<string, string> = {}) => fetch(url, { headers });

async function scanCount(): Promise<number> {
  const [row] = (await s.db.orm.em.fork().getConnection().execute('select count(*)::int as n from scan_event')) as { n: number }[];
  return row!.n;
}

async function createModel(g: string, links?: unknown) {
  return s.gql<{ createProductModel: { links: { linkType: string; href: string; title: string; lang: string | null }[] } }>(
    'mutation($i: ProductModelInput!) { createProductModel(input: $i) { links { linkType href title lang } } }',
    { i: { gtin: g, name: `Bike ${g}`, category: 'bicycles', ...(links ? { links } : {}) } },
    brand.key,
  );
}

async function mint(g: string, key: string): Promise<{ link: string; serial: string }> {
  const r = await s.gql<{ mintPassports: { passports: { serial: string; digitalLink: string }[] } }>(
    'mutation($i: MintInput!) { mintPassports(input: $i) { passports { serial digitalLink } } }',
    { i: { gtin: g, quantity: 1, lot: 'L1', sign: true, idempotencyKey: key } },
    brand.key,
  );
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  const p = r.data!.mintPassports.passports[0]!;
  return { link: p.digitalLink, serial: p.serial };
}

/** Validates a linkset against GS1's schema (skipped, loudly, without the shared vectors). */
function expectGs1Linkset(body: unknown): void {
  if (!validLinkset) return;
  const ok = validLinkset(body);
  expect(validLinkset.errors ?? [], JSON.stringify(body)).toEqual([]);
  expect(ok).toBe(true);
}

beforeAll(async () => {
  if (vectorsDir) {
    const schema = JSON.parse(readFileSync(path.join(vectorsDir, 'gs1-resolver', 'gs1-linkset-schema.json'), 'utf8')) as object;
    // GS1's schema uses annotation keywords ajv does not know (`name`, `@id`): not strict, nothing else changed.
    validLinkset = new Ajv({ strict: false, allErrors: true }).compile(schema);
  } else {
    console.warn('Shared vectors folder is absent: linksets are not checked against GS1 linkset schema.');
  }
  s = await startResolverServer();
  brand = await s.org('BRAND', { gs1CompanyPrefixes: ['0788888'] });
  [gtin, plainGtin, unknownGtin] = [gtinOf(1), gtinOf(2), gtinOf(3)];
  const m = await createModel(gtin, BRAND_LINKS);
  if (m.errors) throw new Error(JSON.stringify(m.errors));
  expect(m.data!.createProductModel.links.map((l) => l.linkType)).toEqual(['gs1:pip', 'gs1:pip', 'gs1:instructions']);
  if ((await createModel(plainGtin)).errors) throw new Error('model');
  unit = await mint(gtin, 'links-1');
  plainUnit = await mint(plainGtin, 'links-2');
});
afterAll(async () => {
  await s?.stop();
});


describe('product-level links (/01/{gtin} without /21/)', () => {
  it("serve the model's page, JSON and a GS1-valid linkset, and record no scan", async () => {
    const before = await scanCount();
    const redirect = await get(`${s.url}/01/${gtin}?foo=bar`, { accept: 'text/html' });
    expect(redirect.status).toBe(307);
    expect(redirect.headers.get('location')).toBe(`${s.url}/product/01/${gtin}?foo=bar`);
    const page = await follow(`${s.url}/01/${gtin}`, { accept: 'text/html' });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain(`Bike ${gtin}`);
    expect(html).toContain('href="https://brand.example/manual?v=2"');
    expect(html).not.toMatch(/<script/i);
    const json = await follow(`${s.url}/01/${gtin}`, { accept: 'application/json' });
    expect(json.status).toBe(200);
    expect(await json.json()).toMatchObject({ gtin, model: { name: `Bike ${gtin}`, category: 'bicycles' }, brand: { id: brand.id } });
    for (const res of [await get(`${s.url}/01/${gtin}`, { accept: LINKSET }), await get(`${s.url}/01/${gtin}?linkType=linkset`)]) {
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^application\/linkset\+json/);
      const body = (await res.json()) as { linkset: Record<string, unknown>[] };
      expectGs1Linkset(body);
      const entry = body.linkset[0]!;
      expect(entry.anchor).toBe(`${new URL(unit.link).origin}/01/${gtin}`);
      expect(entry[`${GS1}instructions`]).toEqual([{ href: 'https://brand.example/manual?v=2', title: 'Manual' }]);
      expect(entry[`${GS1}defaultLink`]).toEqual([{ href: `${s.url}/product/01/${gtin}`, title: 'Product page' }]);
      expect(entry[`${GS1}verificationService`]).toBeUndefined();
    }
    // A lot-level link is the model's too.
    expect((await follow(`${s.url}/01/${gtin}/10/L1`, { accept: 'application/json' })).status).toBe(200);
    expect(await scanCount()).toBe(before);
  });

  it('answer 404 for a GTIN not registered here', async () => {
    const json = await get(`${s.url}/01/${unknownGtin}`, { accept: 'application/json' });
    expect(json.status).toBe(404);
    expect(await json.json()).toMatchObject({ error: { code: 'NOT_FOUND' } });
    expect((await get(`${s.url}/01/${unknownGtin}`, { accept: 'text/html' })).status).toBe(404);
    expect((await get(`${s.url}/01/${unknownGtin}`, {}, 'HEAD')).status).toBe(404);
  });

  it("redirect a brand's link type with 307", async () => {
    const res = await get(`${s.url}/01/${gtin}?linkType=gs1:instructions`);
    expect(res.status).toBe(307);
    expect(res.headers.get('location')).toBe('https://brand.example/manual?v=2');
  });
});

describe('link types', () => {
  it("redirect a unit's brand link type with 307, passing the query on except linkType, with the linkset's Link header", async () => {
    const before = await scanCount();
    const res = await get(`${local(unit.link)}&linkType=gs1:instructions`);
    expect(res.status).toBe(307);
    const location = new URL(res.headers.get('location')!);
    expect(`${location.origin}${location.pathname}`).toBe('https://brand.example/manual');
    expect(location.searchParams.get('v')).toBe('2');
    expect(location.searchParams.get('sig')).toBe(new URL(unit.link).searchParams.get('sig'));
    expect(location.searchParams.has('linkType')).toBe(false);
    expect(res.headers.get('link')).toContain('rel="linkset"');
    expect(await scanCount()).toBe(before + 1); // a resolve of a unit is a scan, whatever it answers
    const full = await get(`${local(unit.link)}&linkType=${encodeURIComponent(`${GS1}instructions`)}`);
    expect(full.status).toBe(307);
  });

  it('choose among pages of one type by Accept-Language', async () => {
    const de = await get(`${local(unit.link)}&linkType=gs1:pip`, { 'accept-language': 'de-CH, de;q=0.9' });
    expect(de.status).toBe(307);
    expect(de.headers.get('location')).toMatch(/^https:\/\/brand\.example\/de\/rad\?/);
    const en = await get(`${local(unit.link)}&linkType=gs1:pip`, { 'accept-language': 'en' });
    expect(en.headers.get('location')).toMatch(/^https:\/\/brand\.example\/en\/bike\?/);
  });

  it("redirect gs1:pip to this resolver's product page when the brand set none, and gs1:verificationService to the verification result", async () => {
    const pip = await get(`${local(plainUnit.link)}&linkType=gs1:pip`);
    expect(pip.status).toBe(307);
    expect(pip.headers.get('location')).toMatch(new RegExp(`^${s.url}/product/01/${plainGtin}\\?sig=`));
    expect(await (await follow(`${local(plainUnit.link)}&linkType=gs1:pip`)).text()).toContain(`Bike ${plainGtin}`);
    const json = await follow(`${local(plainUnit.link)}&linkType=gs1:verificationService`, { accept: 'application/json' });
    expect(await json.json()).toMatchObject({ verdict: 'AUTHENTIC' });
  });

  it('answer a link type not offered with 404 and the GS1-valid linkset of what is', async () => {
    for (const type of ['gs1:recipeInfo', 'https://gs1.org/voc/allergenInfo', 'nonsense', 'schema:url']) {
      for (const link of [`${local(unit.link)}&linkType=${encodeURIComponent(type)}`, `${s.url}/01/${gtin}?linkType=${encodeURIComponent(type)}`]) {
        const res = await get(link, { accept: 'text/html' });
        expect(res.status, `${type} ${link}`).toBe(404);
        expect(res.headers.get('content-type')).toMatch(/^application\/linkset\+json/);
        const body = (await res.json()) as { linkset: Record<string, unknown>[] };
        expectGs1Linkset(body);
        expect(body.linkset.flatMap((e) => Object.keys(e))).toEqual(expect.arrayContaining([`${GS1}defaultLink`, `${GS1}pip`, `${GS1}instructions`]));
      }
    }
    // gs1:verificationService is a unit's; a product-level link does not offer it.
    expect((await get(`${s.url}/01/${gtin}?linkType=gs1:verificationService`)).status).toBe(404);
  });

  it("answer a unit's linkset valid under GS1's schema, with the model's pages", async () => {
    for (const u of [unit, plainUnit]) {
      const res = await get(`${local(u.link)}&linkType=linkset`);
      expect(res.status).toBe(200);
      const body = (await res.json()) as { linkset: Record<string, unknown>[] };
      expectGs1Linkset(body);
      expect(body.linkset[0]!.anchor).toBe(u.link.split('?')[0]);
      expect(body.linkset[0]!.itemDescription).toEqual(expect.stringContaining('Bike'));
    }
  });

  it('answer 404 without links for a serial never minted, whatever is asked', async () => {
    const never = `${s.url}/01/${gtin}/10/L1/21/NEVERMINTED7`;
    for (const res of [await get(`${never}?linkType=linkset`), await get(never, { accept: LINKSET }), await get(`${never}?linkType=gs1:instructions`), await get(`${never}?linkType=gs1:recipeInfo`)]) {
      expect(res.status).toBe(404);
      expect(res.headers.get('link')).toBeNull();
      const body = (await res.json()) as Record<string, unknown>;
      expect(body.linkset).toBeUndefined();
      expect(JSON.stringify(body)).not.toContain('brand.example');
      expect(JSON.stringify(body)).not.toContain('Bike');
    }
    // Its verification is still this resolver's own answer (UNKNOWN), not a link.
    const json = await follow(`${never}?linkType=gs1:verificationService`, { accept: 'application/json' });
    expect(json.status).toBe(404);
    expect(await json.json()).toMatchObject({ verdict: 'UNKNOWN', passport: null });
  });

  it('answer HEAD with the status and redirect a GET would have, recording nothing', async () => {
    const before = await scanCount();
    const head = await get(`${local(unit.link)}&linkType=gs1:instructions`, {}, 'HEAD');
    expect(head.status).toBe(307);
    expect(head.headers.get('location')).toMatch(/^https:\/\/brand\.example\/manual/);
    expect((await get(`${local(unit.link)}&linkType=gs1:recipeInfo`, {}, 'HEAD')).status).toBe(404);
    expect((await get(`${s.url}/01/${gtin}`, {}, 'HEAD')).status).toBe(307);
    expect(await scanCount()).toBe(before);
  });
});

describe('brand links on the product model', () => {
  it('refuse what is not a GS1 link type a brand may set, a non-https page, or two pages of one type and language', async () => {
    const cases: [unknown, RegExp][] = [
      [[{ linkType: 'gs1:pipp', href: 'https://a.example/', title: 'x' }], /links\[0\]\.linkType/],
      [[{ linkType: 'gs1:defaultLink', href: 'https://a.example/', title: 'x' }], /links\[0\]\.linkType/],
      [[{ linkType: 'gs1:verificationService', href: 'https://a.example/', title: 'x' }], /links\[0\]\.linkType/],
      [[{ linkType: 'gs1:pip', href: 'http://a.example/', title: 'x' }], /links\[0\]\.href/],
      [[{ linkType: 'gs1:pip', href: 'javascript:alert(1)', title: 'x' }], /links\[0\]\.href/],
      [[{ linkType: 'gs1:pip', href: 'https://a.example/', title: ' ' }], /links\[0\]\.title/],
      [[{ linkType: 'gs1:pip', href: 'https://a.example/', title: 'x', lang: 'english' }], /links\[0\]\.lang/],
      [[{ linkType: 'gs1:pip', href: 'https://a.example/', title: 'x' }, { linkType: 'gs1:pip', href: 'https://b.example/', title: 'y' }], /one link per link type/],
    ];
    for (const [i, [links, message]] of cases.entries()) {
      const r = await createModel(gtinOf(10 + i), links);
      expect(r.errors?.[0]?.extensions?.code, JSON.stringify(links)).toBe('BAD_USER_INPUT');
      expect(r.errors?.[0]?.message).toMatch(message);
    }
  });
});
