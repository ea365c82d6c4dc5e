import type { EntityManager } from '@mikro-orm/postgresql';
import type { ValidateFunction } from 'ajv';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { LifecycleEvent } from '../../src/modules/history/lifecycle-event.entity.js';
import { Passport } from '../../src/modules/passports/passport.entity.js';
import { ManufacturingSite } from '../../src/modules/sites/site.entity.js';
import { batteryPass, code, createModel, gtinFor, ok, type Org, sell } from '../support/battery-fixtures.js';
import { type AspectName, exampleCondition, modelData, oracleValidators } from '../support/battery-pass.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { describeVectors } from '../unit/vectors.js';

// A brand registers its manufacturing sites once; a mint names one, and its batteries' manufacturingPlace is the site's address.
const REGISTER = 'mutation($i: ManufacturingSiteInput!) { registerManufacturingSite(input: $i) { id identifier name gln address { streetAddress postalCode addressLocality addressCountry } } }';
const SITES = '{ manufacturingSites { id identifier gln address { addressLocality } } }';
const MINT = 'mutation($i: MintInput!) { mintPassports(input: $i) { id passports { id } } }';
const CONDITION = 'mutation($i: BatteryConditionInput!) { recordBatteryCondition(input: $i) { seq } }';

type Site = { id: string; identifier: string; name: string | null; gln: string | null; address: Record<string, string> };

let s: TestServer;
let brand: Org;
let other: Org;
let retailer: Org;
let gtin: string;
let plainGtin: string;
let oracle: Record<AspectName, ValidateFunction>;
let plant: Site;
let key = 0;

const em = () => s.db.orm.em.fork() as EntityManager;
const ADDRESS = { streetAddress: 'Werkstraße 7', postalCode: '38440', addressLocality: 'Wolfsburg', addressCountry: 'de' };
const register = (k: string, i: Record<string, unknown>) => s.gql<{ registerManufacturingSite: Site }>(REGISTER, { i }, k);
const mint = (k: string, i: Record<string, unknown>) =>
  s.gql<{ mintPassports: { id: string; passports: { id: string }[] } }>(MINT, { i: { idempotencyKey: `site-${key++}`, sign: true, quantity: 1, ...i } }, k);

describeVectors('manufacturing sites: registered once, named by mints, the battery passport manufacturingPlace', () => {
  beforeAll(async () => {
    s = await startTestServer();
    brand = await s.org('BRAND', { gs1CompanyPrefixes: ['0614146'] });
    other = await s.org('BRAND', { gs1CompanyPrefixes: ['0614147'] });
    retailer = await s.org('RETAILER');
    oracle = oracleValidators();
    gtin = gtinFor('0614146', '00001');
    plainGtin = gtinFor('0614146', '00002');
    ok(await createModel(s, brand.key, gtin, { category: 'LMT', data: modelData() }));
    ok(await createModel(s, brand.key, plainGtin));
    plant = ok(await register(brand.key, { identifier: 'WOB-1', name: 'Wolfsburg cell plant', gln: '4012345000009', address: ADDRESS })).registerManufacturingSite;
  });
  afterAll(async () => {
    await s?.stop();
  });

  it('registers a site with its postal address (country code normalised) and lists it to its brand only', async () => {
    expect(plant).toMatchObject({ identifier: 'WOB-1', name: 'Wolfsburg cell plant', gln: '4012345000009', address: { ...ADDRESS, addressCountry: 'DE' } });
    expect(ok(await s.gql<{ manufacturingSites: Site[] }>(SITES, {}, brand.key)).manufacturingSites.map((x) => x.id)).toEqual([plant.id]);
    expect(ok(await s.gql<{ manufacturingSites: Site[] }>(SITES, {}, other.key)).manufacturingSites).toEqual([]);
    expect(code(await s.gql(SITES, {}, retailer.key))).toBe('FORBIDDEN');
    expect(code(await s.gql(SITES))).toBe('UNAUTHENTICATED');
    expect(code(await register(retailer.key, { identifier: 'R-1', address: ADDRESS }))).toBe('FORBIDDEN');
    expect(code(await register(s.platformKey, { identifier: 'P-1', address: ADDRESS }))).toBe('FORBIDDEN');
  });

  it("gives a battery minted at the site that site's address as manufacturingPlace, valid against the schema, for everyone", async () => {
    const [unit] = ok(await mint(brand.key, { gtin, siteId: plant.id })).mintPassports.passports;
    await sell(s, unit!.id, retailer.id);
    ok(await s.gql(CONDITION, { i: { passportId: unit!.id, condition: exampleCondition() } }, brand.key));
    const full = (await batteryPass(s, unit!.id, brand.key))!;
    const place = { streetAddress: 'Werkstraße 7', postalCode: '38440', addressLocality: 'Wolfsburg', addressCountry: 'DE' };
    expect(full.generalProductInformation.manufacturingPlace).toEqual(place);
    const valid = oracle.generalProductInformation(full.generalProductInformation);
    expect(valid ? [] : oracle.generalProductInformation.errors).toEqual([]);
    // Annex XIII 1(a) (Annex VI Part A: place of manufacture) is public.
    expect((await batteryPass(s, unit!.id))!.generalProductInformation.manufacturingPlace).toEqual(place);
    // The unit's site text is the site's identifier, in its row and in its MINTED event.
    const row = await em().findOneOrFail(Passport, { id: unit!.id });
    expect(row.site).toBe('WOB-1');
    const minted = await em().findOneOrFail(LifecycleEvent, { passport: unit!.id, type: 'MINTED' });
    expect(minted.payload).toMatchObject({ site: 'WOB-1' });
  });

  it("keeps the model's manufacturingPlace for units minted without a site, and takes a site for any model", async () => {
    const [unit] = ok(await mint(brand.key, { gtin, site: 'Line 3' })).mintPassports.passports;
    expect((await batteryPass(s, unit!.id))!.generalProductInformation.manufacturingPlace).toEqual(modelData().generalProductInformation.manufacturingPlace);
    expect((await em().findOneOrFail(Passport, { id: unit!.id })).site).toBe('Line 3');
    const [plain] = ok(await mint(brand.key, { gtin: plainGtin, siteId: plant.id })).mintPassports.passports;
    expect((await em().findOneOrFail(Passport, { id: plain!.id })).site).toBe('WOB-1');
  });

  it("refuses another brand's site, an unknown or malformed id and a second name for the site, minting nothing", async () => {
    const theirs = ok(await register(other.key, { identifier: 'WOB-1', address: ADDRESS })).registerManufacturingSite;
    const before = await em().count(Passport, { gtin });
    expect(code(await mint(brand.key, { gtin, siteId: theirs.id }))).toBe('NOT_FOUND');
    expect(code(await mint(brand.key, { gtin, siteId: '0190d3a4-0000-7000-8000-000000000000' }))).toBe('NOT_FOUND');
    expect(code(await mint(brand.key, { gtin, siteId: 'WOB-1' }))).toBe('NOT_FOUND');
    const twoNames = await mint(brand.key, { gtin, siteId: plant.id, site: 'Somewhere else' });
    expect(code(twoNames)).toBe('BAD_USER_INPUT');
    expect(twoNames.errors![0]!.extensions).toMatchObject({ field: 'site' });
    expect(await em().count(Passport, { gtin })).toBe(before);
    // The same name again is no second name.
    ok(await mint(brand.key, { gtin, siteId: plant.id, site: 'WOB-1' }));
  });

  it('replays a mint with its site, and refuses the same key with another site (CONFLICT)', async () => {
    const second = ok(await register(brand.key, { identifier: 'WOB-2', address: { ...ADDRESS, streetAddress: 'Werkstraße 9' } })).registerManufacturingSite;
    const i = { gtin, quantity: 2, siteId: plant.id, idempotencyKey: 'site-replay', sign: true };
    const first = ok(await s.gql<{ mintPassports: { id: string } }>(MINT, { i }, brand.key)).mintPassports;
    expect(ok(await s.gql<{ mintPassports: { id: string } }>(MINT, { i: { ...i, siteId: plant.id.toUpperCase() } }, brand.key)).mintPassports.id).toBe(first.id);
    expect(code(await s.gql(MINT, { i: { ...i, siteId: second.id } }, brand.key))).toBe('CONFLICT');
  });

  it.each([
    ['no street', { address: { ...ADDRESS, streetAddress: '  ' } }, 'address.streetAddress'],
    ['a country name instead of a code', { address: { ...ADDRESS, addressCountry: 'Germany' } }, 'address.addressCountry'],
    ['an unassigned country code', { address: { ...ADDRESS, addressCountry: 'XX' } }, 'address.addressCountry'],
    ['a postal code with symbols', { address: { ...ADDRESS, postalCode: '38440;DROP' } }, 'address.postalCode'],
    ['no town', { address: { ...ADDRESS, addressLocality: '' } }, 'address.addressLocality'],
    ['a street over 200 characters', { address: { ...ADDRESS, streetAddress: 'x'.repeat(201) } }, 'address.streetAddress'],
    ['a GLN with a wrong check digit', { gln: '4012345000008' }, 'gln'],
    ['a GLN of 12 digits', { gln: '401234500000' }, 'gln'],
    ['a control character in the identifier', { identifier: 'WOB\u00073' }, 'identifier'],
    ['an empty identifier', { identifier: ' ' }, 'identifier'],
  ])('refuses %s (BAD_USER_INPUT naming the field), writing nothing', async (_what, change, field) => {
    const before = await em().count(ManufacturingSite, {});
    const r = await register(brand.key, { identifier: `BAD-${key++}`, address: ADDRESS, ...change });
    expect(code(r)).toBe('BAD_USER_INPUT');
    expect(r.errors![0]!.extensions).toMatchObject({ field });
    expect(await em().count(ManufacturingSite, {})).toBe(before);
  });

  it('registers a site once: of concurrent registrations of one identifier (or one GLN) exactly one wins', async () => {
    for (const [which, inputs] of [
      ['identifier', [1, 2, 3, 4].map((n) => ({ identifier: 'RACE-1', name: `attempt ${n}` }))],
      ['gln', [2, 3, 4, 5].map((n) => ({ identifier: `RACE-${n}`, gln: '4012345000016' }))],
    ] as const) {
      const results = await Promise.all(inputs.map((x) => register(brand.key, { ...x, address: ADDRESS })));
      expect(results.filter((r) => !r.errors), which).toHaveLength(1);
      for (const r of results.filter((x) => x.errors)) {
        expect(code(r), which).toBe('CONFLICT');
        expect(r.errors![0]!.extensions, which).toMatchObject({ field: which });
      }
    }
    expect(await em().count(ManufacturingSite, { brand: brand.id, identifier: { $like: 'RACE-%' } })).toBe(2);
    // Another brand may use the same identifier and GLN for its own site.
    ok(await register(other.key, { identifier: 'RACE-1', gln: '4012345000016', address: ADDRESS }));
  });
});
