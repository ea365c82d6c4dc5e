import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createModel, gtinFor, mintSigned, ok, type Org, sell } from '../support/battery-fixtures.js';
import { exampleCondition, modelData } from '../support/battery-pass.js';
import { restrictedValues } from '../support/battery-annex.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { describeVectors, vectorsDir } from '../unit/vectors.js';

let s: TestServer;
let brand: Org;
let recycler: Org;
let regulator: Org;
let retailer: Org;
let gtin: string;
let plainGtin: string;
let unit: string;
let link: string;

const BROWSER = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';
const unescape = (s: string) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&');
/** Every string and number inside a value, as text. */

const CONDITION = 'mutation($i: BatteryConditionInput!) { recordBatteryCondition(input: $i) { seq } }';

async function get(url: string, key?: string, accept = 'application/json') {
  const res = await fetch(url, { headers: { accept, ...(key ? { authorization: `Bearer ${key}` } : {}) } });
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: (res.headers.get('content-type') ?? '').includes('json') ? ((await res.json()) as any) : await res.text() };
}

/** The unit's Digital Link on this server, without the signature, with `?linkType=`. */
async function digitalLink(id: string): Promise<string> {
  const p = ok(await s.gql<{ passport: { digitalLink: string } }>('query($id: ID!) { passport(id: $id) { digitalLink } }', { id }, brand.key)).passport;
  const url = new URL(p.digitalLink);
  return `${s.url}${url.pathname}`;
}

describeVectors('battery passport on the Digital Link resolver (?linkType=batteryPass)', () => {
  beforeAll(async () => {
    s = await startTestServer();
    brand = await s.org('BRAND', { gs1CompanyPrefixes: ['0614141'] });
    recycler = await s.org('RECYCLER');
    regulator = await s.org('REGULATOR');
    retailer = await s.org('RETAILER');
    gtin = gtinFor('0614141', '31001');
    plainGtin = gtinFor('0614141', '31002');
    ok(await createModel(s, brand.key, gtin, { category: 'LMT', data: modelData() }));
    ok(await createModel(s, brand.key, plainGtin));
    [unit] = await mintSigned(s, brand.key, gtin);
    await sell(s, unit!, retailer.id);
    ok(await s.gql(CONDITION, { i: { passportId: unit, condition: exampleCondition() } }, brand.key));
    link = await digitalLink(unit!);
  });
  afterAll(async () => {
    await s?.stop();
  });

  it('serves the same document as Passport.batteryPass, per caller, as JSON', async () => {
    for (const key of [undefined, brand.key, recycler.key, regulator.key]) {
      const r = await get(`${link}?linkType=batteryPass`, key);
      expect(r.status).toBe(200);
      expect(r.type).toContain('application/json');
      const viaGraphql = ok(await s.gql<{ passport: { batteryPass: unknown } }>('query($id: ID!) { passport(id: $id) { batteryPass } }', { id: unit }, key)).passport.batteryPass;
      expect(r.body).toEqual(viaGraphql);
    }
    const pub = await get(`${link}?linkType=batteryPass`);
    expect(pub.body.circularity.dismantlingAndRemovalInformation).toBeUndefined();
    expect(pub.body.labeling.resultOfTestReport).toBeUndefined();
  });

  it('lists its link type in /.well-known/gs1resolver, and answers it as a CURIE and as the full IRI', async () => {
    const res = await fetch(`${s.url}/.well-known/gs1resolver`);
    expect(res.status).toBe(200);
    const description = (await res.json()) as { supportedLinkType: { namespace: string; prefix: string }[] };
    const ajv = new Ajv({ strict: false, allErrors: true });
    addFormatsModule.default(ajv);
    const validate = ajv.compile(JSON.parse(readFileSync(join(vectorsDir!, 'gs1-resolver', 'gs1-description-file-schema-1.2.0.json'), 'utf8')));
    expect(validate(description), JSON.stringify(validate.errors)).toBe(true);
    const ours = description.supportedLinkType.find((t) => t.prefix === 'dpp:');
    expect(ours).toBeDefined();
    const pub = ok(await s.gql<{ passport: { batteryPass: unknown } }>('query($id: ID!) { passport(id: $id) { batteryPass } }', { id: unit })).passport.batteryPass;
    for (const type of [`${ours!.prefix}batteryPass`, `${ours!.namespace}batteryPass`]) {
      const r = await get(`${link}?linkType=${encodeURIComponent(type)}`);
      expect(r.status, type).toBe(200);
      expect(r.body, type).toEqual(pub);
    }
  });

  it('leaves every other request to the Digital Link resolver', async () => {
    // The resolver answers a plain resolve with a 307 to its verification page (GS1's redirect model).
    const res = await fetch(link, { headers: { accept: 'application/json' }, redirect: 'manual' });
    expect(res.status).toBe(307);
    const target = new URL(res.headers.get('location')!);
    expect(target.pathname).toMatch(/^\/verification\/01\//);
    const r = await get(`${s.url}${target.pathname}${target.search}`);
    expect(r.status).toBe(200);
    expect(r.body.verdict).toBeDefined();
    expect(r.body.generalProductInformation).toBeUndefined();
  });

  it('answers 404 for a unit that is not a battery, 406 without JSON or HTML, 410 once recycled (Art. 77(8))', async () => {
    const [plain] = await mintSigned(s, brand.key, plainGtin);
    expect((await get(`${await digitalLink(plain!)}?linkType=batteryPass`)).status).toBe(404);
    expect((await get(`${link}?linkType=batteryPass`, undefined, 'image/png')).status).toBe(406);

    const [gone] = await mintSigned(s, brand.key, gtin);
    await sell(s, gone!, retailer.id);
    ok(await s.gql('mutation($id: ID!) { declareEndOfLife(passportId: $id, reason: "worn out") { id } }', { id: gone }, recycler.key));
    ok(await s.gql('mutation($i: RecyclingInput!) { recordRecycling(input: $i) { id } }', { i: { passportId: gone } }, recycler.key));
    expect((await get(`${await digitalLink(gone!)}?linkType=batteryPass`)).status).toBe(410);
    const goneHtml = await get(`${await digitalLink(gone!)}?linkType=batteryPass`, undefined, BROWSER);
    expect(goneHtml.status).toBe(410);
    expect(goneHtml.type).toContain('text/html');
  });

  it('shows a browser the public part in plain words, and none of the restricted attributes, whoever asks', async () => {
    const full = ok(await s.gql<{ passport: { batteryPass: Record<string, any> } }>('query($id: ID!) { passport(id: $id) { batteryPass } }', { id: unit }, brand.key)).passport.batteryPass;
    const pub = JSON.stringify(ok(await s.gql<{ passport: { batteryPass: unknown } }>('query($id: ID!) { passport(id: $id) { batteryPass } }', { id: unit })).passport.batteryPass);
    for (const key of [undefined, brand.key]) {
      const r = await get(`${link}?linkType=batteryPass`, key, BROWSER);
      expect(r.status).toBe(200);
      expect(r.type).toContain('text/html');
      const values = [...String(r.body).matchAll(/<dd>([^<]*)<\/dd>/g)].map((m) => unescape(m[1]!));
      const text = values.join('\n');
      const data = modelData();
      // The public words: what a buyer can read.
      for (const words of [
        'Battery for a light means of transport (e-bike, e-scooter)',
        data.materialComposition.batteryChemistry.clearName,
        'Lithium',
        'Water; Class D powder',
        String(data.generalProductInformation.batteryMass),
        data.labeling.declarationOfConformity,
        data.circularity.endOfLifeInformation.separateCollection,
      ]) {
        expect(text, words).toContain(words);
      }
      for (const label of ['Rated capacity (Ah)', 'Weight (kg)', 'Manufacturer', 'Chemistry', 'Critical raw materials']) expect(String(r.body)).toContain(`<dt>${label}</dt>`);
      // From the wrong side: no distinctive value of a restricted attribute (points 2 to 4) is on the page.
      const hidden = restrictedValues(full, pub);
      for (const { where, value } of hidden) expect(text.includes(value), `${where}: ${value}`).toBe(false);
      expect(hidden.length).toBeGreaterThan(10);
    }
  });
});
