import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConflictError } from '../../src/errors/app-error.js';
import { gtinCheckDigit } from '../../src/gs1/index.js';
import { ProductModel } from '../../src/modules/product-models/product-model.entity.js';
import { productModelService } from '../../src/modules/product-models/product-model.service.js';
import { startTestServer, type TestServer } from '../support/server.js';

let s: TestServer;
let brand: { id: string; key: string };
beforeAll(async () => {
  s = await startTestServer();
  brand = await s.org('BRAND', { gs1CompanyPrefixes: ['0614141'] });
});
afterAll(async () => {
  await s?.stop();
});

const FIELDS = 'id gtin name category warrantyMonths authorisedMarkets maxLifetimeScans brandId dpp createdAt';
const CREATE = `mutation($input: ProductModelInput!) { createProductModel(input: $input) { ${FIELDS} } }`;
const READ = `query($gtin: String!) { productModel(gtin: $gtin) { ${FIELDS} } }`;

type Model = { id: string; gtin: string; name: string; category: string | null; warrantyMonths: number | null; authorisedMarkets: string[]; maxLifetimeScans: number | null; brandId: string; dpp: Record<string, unknown> | null; createdAt: string };

/** A valid GTIN-13 under the brand's prefix 0614141, from a 5-digit item reference. */
function gtin13(itemRef: string): string {
  const body = `0614141${itemRef}`;
  return body + gtinCheckDigit(body);
}

const DPP = {
  materials: [
    { name: 'aluminium', massPercent: 70, recycledContentPercent: 50, renewable: false, origin: 'se' },
    { name: 'glass', massPercent: 30 },
  ],
  substancesOfConcern: [{ name: 'lead', casNumber: '7439-92-1', concentrationPercent: 0.1, location: 'solder' }],
  repair: { repairabilityScore: 8, instructionsUrl: 'https://brand.example/repair', sparePartsAvailableYears: 7 },
  disassembly: { toolsRequired: ['T5 Torx'], steps: ['Open the case'] },
  carbonFootprint: { kgCO2e: 12.5, scope: 'cradle-to-grave' },
  documents: [{ title: 'Manual', url: 'https://brand.example/manual.pdf', type: 'MANUAL', language: 'en' }],
};
const FULL = { ...DPP, materials: [{ ...DPP.materials[0], origin: 'SE' }, DPP.materials[1]] };
const PUBLIC = {
  materials: [
    { name: 'aluminium', massPercent: 70, recycledContentPercent: 50 },
    { name: 'glass', massPercent: 30 },
  ],
  carbonFootprint: DPP.carbonFootprint,
  documents: DPP.documents,
  repair: { repairabilityScore: 8 },
};

async function rows(gtin?: string) {
  return s.db.orm.em.fork().count(ProductModel, gtin ? { gtin } : {});
}

async function create(input: Record<string, unknown>, key: string | undefined = brand.key) {
  return s.gql<{ createProductModel: Model }>(CREATE, { input }, key);
}

describe('createProductModel', () => {
  it('creates a model from a GTIN-13 and reads it back as GTIN-14', async () => {
    const gtin = gtin13('00001');
    const r = await create({
      gtin,
      name: '  Trail Speaker ',
      category: 'audio',
      warrantyMonths: 24,
      authorisedMarkets: ['de', 'FR', 'DE'],
      maxLifetimeScans: 500,
      dpp: DPP,
    });
    expect(r.errors).toBeUndefined();
    expect(r.data?.createProductModel).toMatchObject({
      gtin: `0${gtin}`,
      name: 'Trail Speaker',
      category: 'audio',
      warrantyMonths: 24,
      authorisedMarkets: ['DE', 'FR'],
      maxLifetimeScans: 500,
      brandId: brand.id,
      dpp: FULL,
    });
    for (const asked of [gtin, `0${gtin}`]) {
      const read = await s.gql<{ productModel: Model }>(READ, { gtin: asked }, brand.key);
      expect(read.errors).toBeUndefined();
      expect(read.data?.productModel).toEqual(r.data?.createProductModel);
    }
    expect(await rows(`0${gtin}`)).toBe(1);
  });

  it('creates a minimal model: optional fields null, markets empty, no DPP', async () => {
    const r = await create({ gtin: gtin13('00002'), name: 'Plain' });
    expect(r.errors).toBeUndefined();
    expect(r.data?.createProductModel).toMatchObject({ category: null, warrantyMonths: null, authorisedMarkets: [], maxLifetimeScans: null, dpp: null });
  });

  it.each([
    [{ gtin: '0614141000013' }, 'gtin'], // wrong check digit
    [{ gtin: '06141410000' }, 'gtin'], // 11 digits
    [{ gtin: '061414100001A' }, 'gtin'],
    [{ gtin: '' }, 'gtin'],
    [{ name: '  ' }, 'name'],
    [{ name: 'x'.repeat(201) }, 'name'],
    [{ category: 'c'.repeat(101) }, 'category'],
    [{ warrantyMonths: -1 }, 'warrantyMonths'],
    [{ warrantyMonths: 601 }, 'warrantyMonths'],
    [{ maxLifetimeScans: 0 }, 'maxLifetimeScans'],
    [{ maxLifetimeScans: -5 }, 'maxLifetimeScans'],
    [{ authorisedMarkets: ['DE', 'XX'] }, 'authorisedMarkets'],
    [{ authorisedMarkets: ['Germany'] }, 'authorisedMarkets'],
    [{ dpp: { materials: [{ name: 'steel', massPercent: 120 }] } }, 'dpp.materials[0].massPercent'],
    [{ dpp: { materials: [{ name: 'a', massPercent: 80 }, { name: 'b', massPercent: 30 }] } }, 'dpp.materials'],
    [{ dpp: { colour: 'red' } }, 'Unrecognized key: "colour"'],
    [{ dpp: { documents: [{ title: 'Manual', url: 'https://brand.example/m.pdf', type: 'MANUAL', language: 'zz' }] } }, 'dpp.documents[0].language'],
    [{ dpp: { substancesOfConcern: [{ name: 'water', casNumber: '7732-18-4' }] } }, 'dpp.substancesOfConcern[0].casNumber'],
    [{ dpp: 'materials: steel' }, 'dpp'],
    [{ dpp: [1, 2] }, 'dpp'],
  ])('refuses %j with BAD_USER_INPUT naming %s, writing nothing', async (override, field) => {
    const before = await rows();
    const r = await create({ gtin: gtin13('00003'), name: 'Bad', ...override });
    expect(r.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(r.errors?.[0]?.message).toContain(field);
    expect(r.data ?? null).toBeNull();
    expect(await rows()).toBe(before);
  });

  it('refuses a DPP larger than 64 KB', async () => {
    const before = await rows();
    const dpp = { disassembly: { steps: Array.from({ length: 70 }, () => 's'.repeat(1000)) } };
    const r = await create({ gtin: gtin13('00004'), name: 'Big', dpp });
    expect(r.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(r.errors?.[0]?.message).toMatch(/dpp: is \d+ bytes/);
    expect(await rows()).toBe(before);
  });

  it("answers FORBIDDEN for a GTIN outside the brand's company prefixes", async () => {
    const before = await rows();
    const r = await create({ gtin: '4006381333931', name: 'Not ours' });
    expect(r.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(r.errors?.[0]?.message).toMatch(/04006381333931 is not under any GS1 company prefix of this brand \(held: 0614141\)/);
    const noPrefixes = await s.org('BRAND');
    const r2 = await create({ gtin: gtin13('00005'), name: 'No prefix' }, noPrefixes.key);
    expect(r2.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(r2.errors?.[0]?.message).toContain('held: none');
    expect(await rows()).toBe(before);
  });

  it('answers FORBIDDEN to a retailer and UNAUTHENTICATED to an anonymous caller, writing nothing', async () => {
    const before = await rows();
    const retailer = await s.org('RETAILER');
    const r = await create({ gtin: gtin13('00006'), name: 'Shop' }, retailer.key);
    expect(r.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const anon = await s.gql(CREATE, { input: { gtin: gtin13('00006'), name: 'Anon' } });
    expect(anon.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const platform = await create({ gtin: gtin13('00006'), name: 'Platform' }, s.platformKey);
    expect(platform.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(await rows()).toBe(before);
  });

  it('answers CONFLICT for a GTIN that already has a model, in any of its lengths', async () => {
    const gtin = gtin13('00007');
    expect((await create({ gtin, name: 'First' })).errors).toBeUndefined();
    for (const again of [gtin, `0${gtin}`, ` ${gtin} `]) {
      const r = await create({ gtin: again, name: 'Second' });
      expect(r.errors?.[0]?.extensions?.code).toBe('CONFLICT');
      expect(r.errors?.[0]?.message).toContain(`GTIN 0${gtin} already exists`);
    }
    expect(await rows(`0${gtin}`)).toBe(1);
    const kept = await s.gql<{ productModel: Model }>(READ, { gtin });
    expect(kept.data?.productModel.name).toBe('First');
  });

  it('creates one model when the same GTIN is created concurrently; the others get CONFLICT (race)', async () => {
    const gtin = gtin13('00008');
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => create({ gtin, name: `Race ${i}` })));
    const ok = results.filter((r) => !r.errors);
    expect(ok).toHaveLength(1);
    expect(results.filter((r) => r.errors).map((r) => r.errors?.[0]?.extensions?.code)).toEqual(Array(7).fill('CONFLICT'));
    expect(await rows(`0${gtin}`)).toBe(1);
  });

  it('turns a unique-index violation (the arbiter when both pass the duplicate check) into CONFLICT', async () => {
    // Which request loses the race is timing; this makes the losing path certain.
    const em = {
      transactional: async () => {
        throw new UniqueConstraintViolationException(new Error('duplicate key value violates unique constraint "product_model_gtin_unique"'));
      },
    } as unknown as EntityManager;
    const viewer = { kind: 'ORGANIZATION', organizationId: brand.id, orgKind: 'BRAND', apiKeyId: 'k' } as const;
    const err = await productModelService.create(em, viewer, { gtin: gtin13('00011'), name: 'Late' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictError);
    expect((err as ConflictError).message).toBe(`A product model with GTIN 0${gtin13('00011')} already exists`);
  });

  it('keeps an earlier create of the same operation when a later one is refused', async () => {
    const taken = gtin13('00009');
    expect((await create({ gtin: taken, name: 'Taken' })).errors).toBeUndefined();
    const fresh = gtin13('00010');
    const r = await s.gql(
      `mutation($a: ProductModelInput!, $b: ProductModelInput!) { a: createProductModel(input: $a) { gtin } b: createProductModel(input: $b) { gtin } }`,
      { a: { gtin: fresh, name: 'Fresh' }, b: { gtin: taken, name: 'Again' } },
      brand.key,
    );
    expect(r.errors?.map((e) => e.extensions?.code)).toEqual(['CONFLICT']);
    expect(await rows(`0${taken}`)).toBe(1);
    expect(await rows(`0${fresh}`)).toBe(1);
  });
});

describe('productModel', () => {
  let gtin: string;
  beforeAll(async () => {
    gtin = gtin13('00100');
    const r = await create({ gtin, name: 'Tiered', dpp: DPP });
    expect(r.errors).toBeUndefined();
  });

  async function dppAs(key?: string) {
    const r = await s.gql<{ productModel: Model }>(READ, { gtin }, key);
    expect(r.errors).toBeUndefined();
    return r.data?.productModel.dpp;
  }

  it('shows anonymous callers, retailers and other brands only the public DPP', async () => {
    const other = await s.org('BRAND', { gs1CompanyPrefixes: ['4006381'] });
    const retailer = await s.org('RETAILER');
    for (const key of [undefined, other.key, retailer.key]) {
      const dpp = await dppAs(key);
      expect(dpp).toEqual(PUBLIC);
      expect(JSON.stringify(dpp)).not.toMatch(/solder|Torx|sparePartsAvailableYears|"SE"/);
    }
  });

  it('shows the owning brand, the platform, regulators, customs, recyclers and service partners all of it', async () => {
    const keys = [brand.key, s.platformKey];
    for (const kind of ['REGULATOR', 'CUSTOMS', 'RECYCLER', 'SERVICE_PARTNER']) keys.push((await s.org(kind)).key);
    for (const key of keys) expect(await dppAs(key)).toEqual(FULL);
  });

  it('answers null for an unregistered GTIN and BAD_USER_INPUT for a malformed one', async () => {
    const none = await s.gql<{ productModel: Model | null }>(READ, { gtin: gtin13('99999') });
    expect(none.errors).toBeUndefined();
    expect(none.data?.productModel).toBeNull();
    const bad = await s.gql(READ, { gtin: '0614141000013' });
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(bad.errors?.[0]?.message).toContain('gtin');
  });
});
