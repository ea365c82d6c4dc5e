import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import digitalLink from 'digital-link.js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { batteryPass, createModel, gtinFor, ok, type Org, sell } from '../support/battery-fixtures.js';
import { modelData } from '../support/battery-pass.js';
import { restrictedValues } from '../support/battery-annex.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { describeVectors, vectorsDir } from '../unit/vectors.js';

// What a person sees after scanning a battery (the resolver's default page), and the battery link in a unit's linkset.
const LINKSET = 'application/linkset+json';
const BROWSER = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';
// A resolver host without a port: GS1's linkset schema takes only link type IRIs of letters, digits, dots and slashes.
const HOST = 'https://resolver.example';
const BATTERY_PASS_IRI = `${HOST}/voc/dpp/batteryPass`;
const MINT = 'mutation($i: MintInput!) { mintPassports(input: $i) { passports { id digitalLink } } }';

let s: TestServer;
let brand: Org;
let retailer: Org;
let recycler: Org;
let gtin: string;
let plainGtin: string;
let battery: { id: string; digitalLink: string };
let plain: { id: string; digitalLink: string };
let validLinkset: ValidateFunction;
let n = 0;

const unescape = (t: string) => t.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&');
/** Every string and number inside a value, as text. */
/** The <dd> texts of a page, unescaped, one a line. */
const definitions = (html: string) => [...html.matchAll(/<dd>([^<]*)<\/dd>/g)].map((m) => unescape(m[1]!)).join('\n');
/** A unit's Digital Link without its signature. */
const bare = (link: string) => link.split('?')[0]!;
/** A link on the resolver host, as this test server answers it. */
const local = (link: string) => link.replace(HOST, s.url);

async function mintOne(g: string, extra: Record<string, unknown> = {}) {
  return ok(await s.gql<{ mintPassports: { passports: { id: string; digitalLink: string }[] } }>(MINT, { i: { gtin: g, quantity: 1, sign: true, idempotencyKey: `scan-page-${n++}`, ...extra } }, brand.key))
    .mintPassports.passports[0]!;
}

async function linkset(link: string): Promise<{ status: number; body: { linkset: Record<string, any>[] } }> {
  const res = await fetch(local(`${bare(link)}?linkType=all`), { headers: { accept: LINKSET } });
  return { status: res.status, body: (await res.json()) as { linkset: Record<string, any>[] } };
}

/** The page a browser ends on after scanning `link`: the resolver redirects it to the verification result. */
async function scanPage(link: string): Promise<{ status: number; html: string }> {
  const resolve = await fetch(local(link), { headers: { accept: BROWSER }, redirect: 'manual' });
  expect(resolve.status).toBe(307);
  const target = resolve.headers.get('location')!;
  expect(new URL(target).pathname).toMatch(/^\/verification\/01\//);
  const res = await fetch(local(target), { headers: { accept: BROWSER } });
  return { status: res.status, html: await res.text() };
}

describeVectors("a battery's scan page and linkset", () => {
  beforeAll(async () => {
    validLinkset = new Ajv({ strict: false, allErrors: true }).compile(JSON.parse(readFileSync(path.join(vectorsDir!, 'gs1-resolver', 'gs1-linkset-schema.json'), 'utf8')));
    s = await startTestServer({ DPP_RESOLVER_HOST: HOST });
    brand = await s.org('BRAND', { gs1CompanyPrefixes: ['0614148'] });
    retailer = await s.org('RETAILER');
    recycler = await s.org('RECYCLER');
    gtin = gtinFor('0614148', '00001');
    plainGtin = gtinFor('0614148', '00002');
    ok(await createModel(s, brand.key, gtin, { category: 'LMT', data: modelData() }));
    ok(await createModel(s, brand.key, plainGtin));
    const site = ok(
      await s.gql<{ registerManufacturingSite: { id: string } }>(
        'mutation($i: ManufacturingSiteInput!) { registerManufacturingSite(input: $i) { id } }',
        { i: { identifier: 'KRK-2', address: { streetAddress: 'ul. Fabryczna 3', postalCode: '31-553', addressLocality: 'Kraków', addressCountry: 'PL' } } },
        brand.key,
      ),
    ).registerManufacturingSite;
    battery = await mintOne(gtin, { siteId: site.id, batteryMasses: [2.61] });
    plain = await mintOne(plainGtin);
    await sell(s, battery.id, retailer.id);
  });
  afterAll(async () => {
    await s?.stop();
  });

  it("lists dpp:batteryPass in a battery unit's linkset (JSON and a page), GS1-valid, and the link answers the battery passport", async () => {
    const { status, body } = await linkset(battery.digitalLink);
    expect(status).toBe(200);
    expect(validLinkset(body), JSON.stringify(validLinkset.errors)).toBe(true);
    const [unitLevel, productLevel] = body.linkset;
    const href = `${bare(battery.digitalLink)}?linkType=dpp:batteryPass`;
    expect(unitLevel![BATTERY_PASS_IRI]).toEqual([
      { href, title: 'EU battery passport (Regulation (EU) 2023/1542)', type: 'application/json' },
      { href, title: 'EU battery passport: the public information', type: 'text/html', hreflang: ['en'] },
    ]);
    // The model level has none: a battery passport is about one battery.
    expect(productLevel![BATTERY_PASS_IRI]).toBeUndefined();
    const json = await fetch(local(href), { headers: { accept: 'application/json' } });
    expect(json.status).toBe(200);
    expect(await json.json()).toEqual(await batteryPass(s, battery.id));
    // The namespace `dpp:` had before (a URN) is still understood in ?linkType=.
    const legacy = await fetch(local(`${bare(battery.digitalLink)}?linkType=${encodeURIComponent('urn:uuid:ae8c843a-59ea-4a67-80e5-c6ebb4e22505#batteryPass')}`));
    expect(legacy.status).toBe(200);
    expect(await legacy.json()).toEqual(await batteryPass(s, battery.id));
    // A compressed Digital Link asking for it is redirected to it, like any link type the linkset offers.
    const compressed = digitalLink.Utils.compressWebUri(bare(battery.digitalLink));
    const viaCompressed = await fetch(local(`${compressed}?linkType=dpp:batteryPass`), { redirect: 'manual' });
    expect(viaCompressed.status).toBe(307);
    const location = new URL(viaCompressed.headers.get('location')!);
    expect(`${location.origin}${location.pathname}`).toBe(bare(battery.digitalLink));
    expect(location.searchParams.get('linkType')).toBe('dpp:batteryPass');
    const page = await fetch(local(href), { headers: { accept: BROWSER } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    // The same linkset by content negotiation, and the prefix in the linkset's JSON-LD context.
    const negotiated = await fetch(local(bare(battery.digitalLink)), { headers: { accept: LINKSET } });
    expect(((await negotiated.json()) as { linkset: Record<string, unknown>[] }).linkset[0]![BATTERY_PASS_IRI]).toEqual(unitLevel![BATTERY_PASS_IRI]);
    const context = (await (await fetch(`${s.url}/contexts/gs1-linkset.jsonld`)).json()) as { '@context': Record<string, unknown> };
    expect(context['@context'].dpp).toBe(`${HOST}/voc/dpp/`);
    // The link type's IRI says what it is; the resolver description lists its namespace.
    const term = await fetch(local(BATTERY_PASS_IRI));
    expect(term.status).toBe(200);
    expect(await term.json()).toMatchObject({ '@id': BATTERY_PASS_IRI, 'rdfs:label': 'batteryPass' });
    expect((await fetch(`${s.url}/voc/dpp/constructor`)).status).toBe(404);
    const description = (await (await fetch(`${s.url}/.well-known/gs1resolver`)).json()) as { supportedLinkType: { namespace: string; prefix: string }[] };
    expect(description.supportedLinkType).toContainEqual({ namespace: `${HOST}/voc/dpp/`, prefix: 'dpp:' });
  });

  it('lists no battery link for a unit that is not a battery, nor for a battery once recycled (Art. 77(8))', async () => {
    const other = await linkset(plain.digitalLink);
    expect(other.status).toBe(200);
    for (const level of other.body.linkset) expect(level[BATTERY_PASS_IRI]).toBeUndefined();
    const gone = await mintOne(gtin);
    await sell(s, gone.id, retailer.id);
    ok(await s.gql('mutation($id: ID!) { declareEndOfLife(passportId: $id, reason: "worn out") { id } }', { id: gone.id }, recycler.key));
    const eol = await linkset(gone.digitalLink);
    expect(eol.body.linkset[0]![BATTERY_PASS_IRI]).toBeDefined();
    ok(await s.gql('mutation($i: RecyclingInput!) { recordRecycling(input: $i) { id } }', { i: { passportId: gone.id } }, recycler.key));
    const recycled = await linkset(gone.digitalLink);
    expect(recycled.status).toBe(410);
    for (const level of recycled.body.linkset) expect(level[BATTERY_PASS_IRI]).toBeUndefined();
  });

  it('shows a person who scans a battery its public facts in plain words, with a link to all of them', async () => {
    const { status, html } = await scanPage(battery.digitalLink);
    expect(status).toBe(200);
    expect(html).toContain('Verdict: Authentic');
    expect(html).toContain('<h2 id="battery">Battery passport</h2>');
    const data = modelData();
    const facts: Record<string, string> = {
      'Kind of battery': 'Battery for a light means of transport (e-bike, e-scooter)',
      'Made at': 'ul. Fabryczna 3, 31-553 Kraków, Poland',
      'Weight (kg)': '2.61',
      Chemistry: data.materialComposition.batteryChemistry.clearName,
      'Critical raw materials': 'Lithium',
    };
    for (const [label, text] of Object.entries(facts)) {
      expect(html, label).toContain(`<dt>${label}</dt>`);
      expect(definitions(html), label).toContain(text);
    }
    for (const label of ['Made on', 'Manufacturer', 'Hazardous substances']) expect(html).toContain(`<dt>${label}</dt>`);
    const href = /<a href="([^"]+)">All public information in this battery's passport<\/a>/.exec(html)?.[1];
    expect(unescape(href!)).toBe(`${bare(battery.digitalLink)}?linkType=dpp:batteryPass`);
    const all = await fetch(local(unescape(href!)), { headers: { accept: BROWSER } });
    expect(all.status).toBe(200);
    expect(definitions(await all.text())).toContain('ul. Fabryczna 3, 31-553 Kraków, Poland');

    // From the wrong side: no distinctive value of points 2 to 4 is on the page, though the brand has them all.
    const full = (await batteryPass(s, battery.id, brand.key))!;
    const pub = JSON.stringify(await batteryPass(s, battery.id));
    const text = definitions(html);
    const hidden = restrictedValues(full, pub);
    for (const { where, value } of hidden) expect(text.includes(value), `${where}: ${value}`).toBe(false);
    expect(hidden.length).toBeGreaterThan(10);
    // Nor does the status of the battery (4(c)) or its putting into service (4(d)) appear as battery facts.
    expect(html).not.toContain('<dt>Battery status</dt>');
  });

  it('shows no battery section for a unit that is not a battery, nor for a forged code, and none in the JSON answer', async () => {
    const other = await scanPage(plain.digitalLink);
    expect(other.status).toBe(200);
    expect(other.html).not.toContain('Battery passport');
    const url = new URL(battery.digitalLink);
    const sig = Buffer.from(url.searchParams.get('sig')!, 'base64url');
    sig[3]! ^= 1;
    url.searchParams.set('sig', sig.toString('base64url'));
    const forged = await scanPage(url.toString());
    expect(forged.html).toContain('Verdict: Counterfeit');
    expect(forged.html).not.toContain('Battery passport');
    const resolve = await fetch(local(battery.digitalLink), { headers: { accept: 'application/json' }, redirect: 'manual' });
    const json = await fetch(local(resolve.headers.get('location')!), { headers: { accept: 'application/json' } });
    const body = (await json.json()) as Record<string, unknown>;
    expect(body.verdict).toBeDefined();
    expect(JSON.stringify(body)).not.toContain('Fabryczna');
  });
});
