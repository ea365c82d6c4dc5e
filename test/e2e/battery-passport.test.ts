import type { EntityManager } from '@mikro-orm/postgresql';
import type { ValidateFunction } from 'ajv';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { AuditLog } from '../../src/modules/audit/audit-log.entity.js';
import { BatteryModel } from '../../src/modules/batteries/battery.entity.js';
import { ProductModel } from '../../src/modules/product-models/product-model.entity.js';
import { batteryPass, code, createModel, gtinFor, mintSigned, ok, type Org, sell } from '../support/battery-fixtures.js';
import { ASPECT_FILES, type AspectName, exampleCondition, modelData, oracleValidators } from '../support/battery-pass.js';
import { authenticator, claimUnit, registerOwner } from '../support/owners.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { describeVectors } from '../unit/vectors.js';

let s: TestServer;
let brand: Org;
let recycler: Org;
let partner: Org;
let regulator: Org;
let retailer: Org;
let gtin: string;
let oracle: Record<AspectName, ValidateFunction>;
let unit: string;
let item = 100;

const em = () => s.db.orm.em.fork() as EntityManager;
const nextGtin = () => gtinFor('0614141', String(item++).padStart(5, '0'));
const CONDITION = 'mutation($i: BatteryConditionInput!) { recordBatteryCondition(input: $i) { seq type } }';

describeVectors('battery passport: models and access groups (Battery Pass 1.2.0, Annex XIII)', () => {
  beforeAll(async () => {
    s = await startTestServer();
    brand = await s.org('BRAND', { gs1CompanyPrefixes: ['0614141'] });
    recycler = await s.org('RECYCLER');
    partner = await s.org('SERVICE_PARTNER');
    regulator = await s.org('REGULATOR');
    retailer = await s.org('RETAILER');
    oracle = oracleValidators();
    gtin = nextGtin();
    ok(await createModel(s, brand.key, gtin, { category: 'LMT', data: modelData() }));
    [unit] = await mintSigned(s, brand.key, gtin);
    await sell(s, unit!, retailer.id);
    ok(await s.gql(CONDITION, { i: { passportId: unit, condition: exampleCondition() } }, brand.key));
  });
  afterAll(async () => {
    await s?.stop();
  });

  it('accepts a battery model built from the consortium data and stores it with the model', async () => {
    const stored = await em().findOneOrFail(BatteryModel, { model: { gtin } });
    expect(stored.category).toBe('LMT');
    expect(Object.keys(stored.data).sort()).toEqual(Object.keys(ASPECT_FILES).sort());
  });

  it.each([
    ['wrong type', (d: any) => (d.carbonFootprint.batteryCarbonFootprint = 'low'), '/carbonFootprint/batteryCarbonFootprint', 'type'],
    ['missing required attribute', (d: any) => delete d.labeling.declarationOfConformity, '/labeling/declarationOfConformity', 'required'],
    ['bad pattern (the consortium example CAS number)', (d: any) => (d.materialComposition.batteryMaterials[0].batteryMaterialIdentifier = '7439-93-2 '), '/materialComposition/batteryMaterials/0/batteryMaterialIdentifier', 'pattern'],
    ['bad enum', (d: any) => (d.circularity.dismantlingAndRemovalInformation[0].documentType = 'Poster'), '/circularity/dismantlingAndRemovalInformation/0/documentType', 'enum'],
    ['missing aspect', (d: any) => delete d.supplyChainDueDiligence, '/supplyChainDueDiligence', 'required'],
    ['a per-battery attribute given with the model', (d: any) => (d.generalProductInformation.batteryStatus = 'Original'), '/generalProductInformation/batteryStatus', 'perUnit'],
    ['unknown aspect', (d: any) => (d.warranty = {}), '/warranty', 'additionalProperties'],
  ])('refuses a broken document (%s) with its pointer and rule, writing nothing', async (_what, breakIt, pointer, rule) => {
    const data = modelData();
    breakIt(data);
    const g = nextGtin();
    const r = await createModel(s, brand.key, g, { category: 'EV', data });
    expect(code(r)).toBe('BAD_USER_INPUT');
    expect(r.errors![0]!.extensions).toMatchObject({ pointer, rule });
    expect(r.errors![0]!.message).toContain(`battery.data${pointer}`);
    expect(await em().count(ProductModel, { gtin: g })).toBe(0);
  });

  it('refuses PORTABLE and SLI batteries (no passport under Art. 77(1))', async () => {
    for (const category of ['PORTABLE', 'SLI']) {
      const r = await createModel(s, brand.key, nextGtin(), { category, data: modelData() });
      expect(code(r)).toBe('BAD_USER_INPUT');
      expect(r.errors![0]!.message).toContain('Art. 77(1)');
    }
  });

  it("gives the brand the whole passport, each aspect valid against the consortium's schema", async () => {
    const pass = (await batteryPass(s, unit, brand.key))!;
    expect(Object.keys(pass)).toEqual(Object.keys(ASPECT_FILES));
    for (const aspect of Object.keys(ASPECT_FILES) as AspectName[]) {
      const valid = oracle[aspect](pass[aspect]);
      expect(valid ? [] : oracle[aspect].errors, aspect).toEqual([]);
    }
    const g = pass.generalProductInformation;
    expect(g.productIdentifier).toMatch(new RegExp(`/01/${gtin}/21/`));
    expect(g.batteryPassportIdentifier).toMatch(/^urn:gs1:01\d{14}21[0-9a-z]+$/);
    expect(g).toMatchObject({ batteryCategory: 'lmt', batteryStatus: 'Original' });
    expect(pass.performance.batteryCondition).toEqual(exampleCondition());
  });

  it('leaves puttingIntoService and batteryCondition out until the battery is sold and measured', async () => {
    const [fresh] = await mintSigned(s, brand.key, gtin);
    const pass = (await batteryPass(s, fresh!, brand.key))!;
    expect(pass.generalProductInformation.puttingIntoService).toBeUndefined();
    expect(pass.performance.batteryCondition).toBeUndefined();
    for (const aspect of ['carbonFootprint', 'circularity', 'materialComposition', 'labeling', 'supplyChainDueDiligence'] as const) {
      expect(oracle[aspect](pass[aspect]), aspect).toBe(true);
    }
  });

  it('shows the public Annex XIII point 1 only: never dismantling, spare parts, test reports, status or condition', async () => {
    const pass = (await batteryPass(s, unit))!;
    expect(pass.circularity.dismantlingAndRemovalInformation).toBeUndefined();
    expect(pass.circularity.sparePartSources).toBeUndefined();
    expect(pass.circularity.safetyMeasures).toEqual({ extinguishingAgent: ['Water', 'Class D powder'] });
    expect(pass.circularity.recycledContent).toBeDefined();
    expect(pass.labeling.resultOfTestReport).toBeUndefined();
    expect(pass.labeling.declarationOfConformity).toBeDefined();
    expect(pass.generalProductInformation.batteryStatus).toBeUndefined();
    expect(pass.generalProductInformation.puttingIntoService).toBeUndefined();
    expect(pass.generalProductInformation.manufacturingPlace).toBeDefined();
    expect(Object.keys(pass.performance.batteryCondition)).toEqual(['roundTripEfficiencyat50PerCentCycleLife']);
    expect(pass.performance.batteryTechicalProperties.initialSelfDischarge).toBeUndefined();
    expect(pass.performance.batteryTechicalProperties.ratedCapacity).toBeDefined();
    // Calendar lifetime and C-rate are 4(a), rated energy point 2 (README): not public.
    for (const a of ['expectedLifetime', 'cRate', 'ratedEnergy']) expect(pass.performance.batteryTechicalProperties[a], a).toBeUndefined();
    // Critical raw materials are public (1(b)); the rest of the detailed composition is not (2(a)).
    expect(pass.materialComposition.batteryMaterials.map((m: any) => m.batteryMaterialName)).toEqual(['Lithium']);
    expect(Object.keys(pass.materialComposition.batteryMaterials[0]).sort()).toEqual(['batteryMaterialIdentifier', 'batteryMaterialName', 'isCriticalRawMaterial']);
    // Which hazardous substances are public (1(b)); where they sit and how much is detailed composition (2(a)).
    expect(pass.materialComposition.hazardousSubstances).toHaveLength(modelData().materialComposition.hazardousSubstances.length);
    for (const substance of pass.materialComposition.hazardousSubstances) {
      expect(Object.keys(substance).sort()).toEqual(['hazardousSubstanceClass', 'hazardousSubstanceIdentifier', 'hazardousSubstanceImpact', 'hazardousSubstanceName']);
    }
    expect(pass.carbonFootprint).toEqual(modelData().carbonFootprint);
    expect(pass.supplyChainDueDiligence).toEqual(modelData().supplyChainDueDiligence);
  });

  it('shows a recycler and a service partner points 1, 2 and 4: never the test reports', async () => {
    for (const org of [recycler, partner]) {
      const pass = (await batteryPass(s, unit, org.key))!;
      expect(pass.labeling.resultOfTestReport).toBeUndefined();
      expect(pass.labeling.declarationOfConformity).toBeDefined();
      expect(pass.circularity.dismantlingAndRemovalInformation).toEqual(modelData().circularity.dismantlingAndRemovalInformation);
      expect(pass.circularity.sparePartSources).toBeDefined();
      expect(pass.circularity.safetyMeasures.safetyInstructions).toBeDefined();
      expect(pass.performance.batteryCondition).toEqual(exampleCondition());
      expect(pass.generalProductInformation.batteryStatus).toBe('Original');
      expect(pass.generalProductInformation.puttingIntoService).toBeDefined();
      expect(pass.materialComposition.batteryMaterials).toHaveLength(2);
      expect(pass.materialComposition.hazardousSubstances).toEqual(modelData().materialComposition.hazardousSubstances);
    }
  });

  it("shows an authority points 1, 2 and 3: test reports, never the battery's condition or status", async () => {
    const pass = (await batteryPass(s, unit, regulator.key))!;
    expect(pass.labeling.resultOfTestReport).toBe(modelData().labeling.resultOfTestReport);
    expect(pass.circularity.dismantlingAndRemovalInformation).toBeDefined();
    expect(pass.materialComposition.batteryMaterials).toHaveLength(2);
    expect(pass.materialComposition.hazardousSubstances).toEqual(modelData().materialComposition.hazardousSubstances);
    for (const attribute of Object.keys(exampleCondition()).filter((a) => a !== 'roundTripEfficiencyat50PerCentCycleLife')) {
      expect(pass.performance.batteryCondition[attribute], attribute).toBeUndefined();
    }
    expect(pass.generalProductInformation.batteryStatus).toBeUndefined();
    expect(pass.generalProductInformation.puttingIntoService).toBeUndefined();
    expect(pass.performance.batteryTechicalProperties.initialSelfDischarge).toBeUndefined();
  });

  it("shows the battery's current owner points 1 and 4: its condition, never dismantling or test reports; another owner the public part", async () => {
    const minted = ok(
      await s.gql<{ mintPassports: { passports: { id: string; claimCode: string }[] } }>(
        'mutation($i: MintInput!) { mintPassports(input: $i) { passports { id claimCode } } }',
        { i: { gtin, quantity: 1, idempotencyKey: 'owner-unit', sign: true } },
        brand.key,
      ),
    ).mintPassports.passports[0]!;
    await sell(s, minted.id, retailer.id);
    ok(await s.gql(CONDITION, { i: { passportId: minted.id, condition: exampleCondition() } }, brand.key));
    const owner = await registerOwner(s);
    await claimUnit(s, owner, minted);
    const pass = (await batteryPass(s, minted.id, owner.token))!;
    expect(pass.performance.batteryCondition).toEqual(exampleCondition());
    expect(pass.generalProductInformation.batteryStatus).toBe('Original');
    expect(pass.circularity.dismantlingAndRemovalInformation).toBeUndefined();
    expect(pass.circularity.sparePartSources).toBeUndefined();
    expect(pass.labeling.resultOfTestReport).toBeUndefined();
    expect(pass.materialComposition.batteryMaterials).toHaveLength(1);
    for (const substance of pass.materialComposition.hazardousSubstances) {
      expect(substance).not.toHaveProperty('hazardousSubstanceLocation');
      expect(substance).not.toHaveProperty('hazardousSubstanceConcentration');
    }
    expect(pass.performance.batteryTechicalProperties).toMatchObject({ expectedLifetime: modelData().performance.batteryTechicalProperties.expectedLifetime });
    expect(pass.performance.batteryTechicalProperties.ratedEnergy).toBeUndefined();

    const stranger = await registerOwner(s, authenticator(s), 'Sam Stranger');
    const other = (await batteryPass(s, minted.id, stranger.token))!;
    expect(Object.keys(other.performance.batteryCondition)).toEqual(['roundTripEfficiencyat50PerCentCycleLife']);
    expect(other.generalProductInformation.batteryStatus).toBeUndefined();
  });

  it('updateProductModel replaces the battery data the same way, refuses broken data with its pointer, and is audited', async () => {
    const g = nextGtin();
    ok(await createModel(s, brand.key, g, { category: 'LMT', data: modelData() }));
    const [u] = await mintSigned(s, brand.key, g);
    const UPDATE = 'mutation($g: String!, $i: ProductModelUpdateInput!) { updateProductModel(gtin: $g, input: $i) { gtin } }';
    const next = modelData();
    next.carbonFootprint.batteryCarbonFootprint = 42.5;
    ok(await s.gql(UPDATE, { g, i: { battery: { category: 'EV', data: next } } }, brand.key));
    const pass = (await batteryPass(s, u!))!;
    expect(pass.carbonFootprint.batteryCarbonFootprint).toBe(42.5);
    expect(pass.generalProductInformation.batteryCategory).toBe('ev');
    const audit = await em().find(AuditLog, { action: 'PRODUCT_MODEL_UPDATED' });
    expect(audit.map((a) => a.details)).toContainEqual(expect.objectContaining({ gtin: g, changed: ['battery'], previousCategory: 'LMT', previousDataHash: expect.stringMatching(/^[0-9a-f]{64}$/) }));

    const broken = modelData();
    delete broken.performance.batteryTechicalProperties.ratedCapacity;
    const r = await s.gql(UPDATE, { g, i: { battery: { category: 'EV', data: broken } } }, brand.key);
    expect(code(r)).toBe('BAD_USER_INPUT');
    expect(r.errors![0]!.extensions).toMatchObject({ pointer: '/performance/batteryTechicalProperties/ratedCapacity', rule: 'required' });
    expect((await batteryPass(s, u!))!.carbonFootprint.batteryCarbonFootprint).toBe(42.5);

    const other = await s.org('BRAND', { gs1CompanyPrefixes: ['0799999'] });
    expect(code(await s.gql(UPDATE, { g, i: { battery: { category: 'EV', data: next } } }, other.key))).toBe('NOT_FOUND');
    expect(code(await s.gql(UPDATE, { g, i: { battery: { category: 'EV', data: next } } }, recycler.key))).toBe('FORBIDDEN');
  });

  it('has no battery passport for a unit of a model without battery data', async () => {
    const g = nextGtin();
    ok(await createModel(s, brand.key, g));
    const [plain] = await mintSigned(s, brand.key, g);
    expect(await batteryPass(s, plain!, brand.key)).toBeNull();
    const r = await s.gql(CONDITION, { i: { passportId: plain, condition: exampleCondition() } }, brand.key);
    expect(code(r)).toBe('BAD_USER_INPUT');
  });
});
