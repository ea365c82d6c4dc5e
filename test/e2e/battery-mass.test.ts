import type { EntityManager } from '@mikro-orm/postgresql';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Passport } from '../../src/modules/passports/passport.entity.js';
import { batteryPass, code, createModel, gtinFor, ok, type Org } from '../support/battery-fixtures.js';
import { modelData } from '../support/battery-pass.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { describeVectors } from '../unit/vectors.js';

// A battery unit's own weight, given at mint (MintInput.batteryMasses), else its model's.
const MINT = 'mutation($i: MintInput!) { mintPassports(input: $i) { passports { id } } }';

let s: TestServer;
let brand: Org;
let other: Org;
let gtin: string;
let plainGtin: string;
let key = 0;

const em = () => s.db.orm.em.fork() as EntityManager;
const mint = (k: string, i: Record<string, unknown>) => s.gql<{ mintPassports: { passports: { id: string }[] } }>(MINT, { i: { idempotencyKey: `mass-${key++}`, sign: true, ...i } }, k);

describeVectors('per-unit battery mass at mint', () => {
  beforeAll(async () => {
    s = await startTestServer();
    brand = await s.org('BRAND', { gs1CompanyPrefixes: ['0614144'] });
    other = await s.org('BRAND', { gs1CompanyPrefixes: ['0614145'] });
    gtin = gtinFor('0614144', '00001');
    plainGtin = gtinFor('0614144', '00002');
    ok(await createModel(s, brand.key, gtin, { category: 'LMT', data: modelData() }));
    ok(await createModel(s, brand.key, plainGtin));
  });
  afterAll(async () => {
    await s?.stop();
  });

  it("shows each unit its own weight, in mint order, to everyone; units minted without one show the model's", async () => {
    const units = ok(await mint(brand.key, { gtin, quantity: 3, batteryMasses: [2.61, 2.58, 2.7] })).mintPassports.passports.map((p) => p.id);
    expect(await Promise.all(units.map(async (u) => (await batteryPass(s, u))!.generalProductInformation.batteryMass))).toEqual([2.61, 2.58, 2.7]);
    expect((await batteryPass(s, units[1]!, brand.key))!.generalProductInformation.batteryMass).toBe(2.58);
    const [plain] = ok(await mint(brand.key, { gtin, quantity: 1 })).mintPassports.passports;
    expect((await batteryPass(s, plain!.id))!.generalProductInformation.batteryMass).toBe(modelData().generalProductInformation.batteryMass);
  });

  it('replays the same request, and refuses the same key with other weights (CONFLICT)', async () => {
    const i = { gtin, quantity: 2, batteryMasses: [3, 3.1], idempotencyKey: 'mass-replay' };
    const first = ok(await s.gql<{ mintPassports: { passports: { id: string }[] } }>(MINT, { i: { ...i, sign: true } }, brand.key)).mintPassports.passports;
    const again = ok(await s.gql<{ mintPassports: { passports: { id: string }[] } }>(MINT, { i: { ...i, sign: true } }, brand.key)).mintPassports.passports;
    expect(again.map((p) => p.id).sort()).toEqual(first.map((p) => p.id).sort());
    expect(code(await s.gql(MINT, { i: { ...i, sign: true, batteryMasses: [3, 3.2] } }, brand.key))).toBe('CONFLICT');
  });

  it.each([
    ['fewer weights than units', { quantity: 3, batteryMasses: [2, 2] }, 'batteryMasses'],
    ['a zero weight', { quantity: 2, batteryMasses: [2, 0] }, 'batteryMasses[1]'],
    ['a negative weight', { quantity: 1, batteryMasses: [-1] }, 'batteryMasses[0]'],
    ['an absurd weight', { quantity: 1, batteryMasses: [1e9] }, 'batteryMasses[0]'],
  ])('refuses %s (BAD_USER_INPUT), minting nothing', async (_what, input, field) => {
    const before = await em().count(Passport, { gtin });
    const r = await mint(brand.key, { gtin, ...input });
    expect(code(r)).toBe('BAD_USER_INPUT');
    expect(r.errors![0]!.message).toMatch(new RegExp(`^${field.replace(/[[\]]/g, '\\$&')}: `));
    expect(await em().count(Passport, { gtin })).toBe(before);
  });

  it('refuses weights for a model that is not a battery model, minting nothing; another brand is FORBIDDEN', async () => {
    const r = await mint(brand.key, { gtin: plainGtin, quantity: 1, batteryMasses: [2] });
    expect(code(r)).toBe('BAD_USER_INPUT');
    expect(r.errors![0]!.extensions).toMatchObject({ field: 'batteryMasses' });
    expect(await em().count(Passport, { gtin: plainGtin })).toBe(0);
    expect(code(await mint(other.key, { gtin, quantity: 1, batteryMasses: [2] }))).toBe('FORBIDDEN');
  });
});
