import { afterAll, beforeAll, expect, it } from 'vitest';
import { batteryPass, code, createModel, gtinFor, mintSigned, ok, type Org, sell } from '../support/battery-fixtures.js';
import { exampleCondition, modelData, oracleValidators } from '../support/battery-pass.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { describeVectors } from '../unit/vectors.js';

let s: TestServer;
let brand: Org;
let otherBrand: Org;
let repurposer: Org;
let partner: Org;
let strangerPartner: Org;
let recycler: Org;
let regulator: Org;
let retailer: Org;
let gtin: string;
let secondLifeGtin: string;
let remanGtin: string;

const CONDITION = 'mutation($i: BatteryConditionInput!) { recordBatteryCondition(input: $i) { seq type actorId payload } }';
const REPURPOSE = `mutation($i: RepurposeBatteryInput!) { repurposeBattery(input: $i) {
  status original { id status brandId } successor { id gtin brandId status } } }`;
const LINKS = 'query($id: ID!) { passport(id: $id) { id batteryPredecessor { id } batterySuccessor { id } } }';
const HISTORY = 'query($id: ID!) { passport(id: $id) { history { edges { node { seq type actorId payload } } } historyVerification { valid } } }';
const EOL = 'mutation($id: ID!) { declareEndOfLife(passportId: $id, reason: "worn out") { id status } }';
const RECYCLE = 'mutation($i: RecyclingInput!) { recordRecycling(input: $i) { id status } }';

/** A condition with one value changed, so records are told apart. */
function condition(cycles: number): Record<string, any> {
  const c = exampleCondition();
  c.numberOfFullCycles = { numberOfFullCyclesValue: cycles, lastUpdate: '2026-12-01T10:00:00Z' };
  return c;
}

async function history(id: string, key = brand.key) {
  return ok(await s.gql<{ passport: { history: { edges: { node: any }[] }; historyVerification: { valid: boolean } } }>(HISTORY, { id }, key)).passport;
}

async function soldBattery(): Promise<string> {
  const [id] = await mintSigned(s, brand.key, gtin);
  await sell(s, id!, retailer.id);
  return id!;
}

describeVectors('battery passport: condition, repurposing and end of life (Art. 77)', () => {
  beforeAll(async () => {
    s = await startTestServer();
    brand = await s.org('BRAND', { gs1CompanyPrefixes: ['0614141'] });
    otherBrand = await s.org('BRAND', { gs1CompanyPrefixes: ['0750000'] });
    repurposer = await s.org('BRAND', { gs1CompanyPrefixes: ['0700000'] });
    partner = await s.org('SERVICE_PARTNER');
    strangerPartner = await s.org('SERVICE_PARTNER');
    recycler = await s.org('RECYCLER');
    regulator = await s.org('REGULATOR');
    retailer = await s.org('RETAILER');
    gtin = gtinFor('0614141', '21001');
    secondLifeGtin = gtinFor('0700000', '21002');
    remanGtin = gtinFor('0614141', '21003');
    ok(await createModel(s, brand.key, gtin, { category: 'EV', data: modelData() }));
    const stationary = modelData();
    stationary.generalProductInformation.operatorInformation = { ...stationary.generalProductInformation.operatorInformation, contactName: 'Second Life Storage' };
    ok(await createModel(s, repurposer.key, secondLifeGtin, { category: 'STATIONARY_STORAGE', data: stationary }));
    ok(await createModel(s, brand.key, remanGtin, { category: 'STATIONARY_STORAGE', data: stationary }));
    ok(await s.gql('mutation($p: ID!) { authoriseServicePartner(partnerId: $p) { id } }', { p: partner.id }, brand.key));
  });
  afterAll(async () => {
    await s?.stop();
  });

  it('records condition by the brand and its authorised partner as history; the passport shows the latest', async () => {
    const id = await soldBattery();
    const first = ok(await s.gql<any>(CONDITION, { i: { passportId: id, condition: condition(10) } }, brand.key)).recordBatteryCondition;
    expect(first).toMatchObject({ type: 'BATTERY_CONDITION', actorId: brand.id });
    const second = ok(await s.gql<any>(CONDITION, { i: { passportId: id, condition: condition(20) } }, partner.key)).recordBatteryCondition;
    expect(second).toMatchObject({ type: 'BATTERY_CONDITION', actorId: partner.id, seq: first.seq + 1 });

    const h = await history(id);
    expect(h.history.edges.filter((e) => e.node.type === 'BATTERY_CONDITION').map((e) => e.node.payload.condition.numberOfFullCycles.numberOfFullCyclesValue)).toEqual([10, 20]);
    expect(h.historyVerification.valid).toBe(true);
    const pass = (await batteryPass(s, id, brand.key))!;
    expect(pass.performance.batteryCondition.numberOfFullCycles.numberOfFullCyclesValue).toBe(20);
    expect(oracleValidators().performance(pass.performance)).toBe(true);
  });

  it('refuses condition from another partner, another brand, a recycler and anonymous callers, writing nothing', async () => {
    const id = await soldBattery();
    const before = (await history(id)).history.edges.length;
    for (const key of [strangerPartner.key, otherBrand.key, recycler.key]) {
      expect(code(await s.gql(CONDITION, { i: { passportId: id, condition: condition(1) } }, key))).toBe('FORBIDDEN');
    }
    expect(code(await s.gql(CONDITION, { i: { passportId: id, condition: condition(1) } }))).toMatch(/UNAUTHENTICATED|FORBIDDEN/);
    expect((await history(id)).history.edges.length).toBe(before);
  });

  it('refuses a condition that breaks the Performance schema, naming the pointer', async () => {
    const id = await soldBattery();
    const bad = condition(5);
    bad.stateOfCharge.stateOfChargeValue = 'full';
    const r = await s.gql(CONDITION, { i: { passportId: id, condition: bad } }, brand.key);
    expect(code(r)).toBe('BAD_USER_INPUT');
    expect(r.errors![0]!.extensions).toMatchObject({ pointer: '/stateOfCharge/stateOfChargeValue', rule: 'type' });
    const missing = condition(5);
    delete missing.capacityFade;
    expect((await s.gql(CONDITION, { i: { passportId: id, condition: missing } }, brand.key)).errors![0]!.extensions).toMatchObject({ pointer: '/capacityFade', rule: 'required' });
  });

  it('repurposes by its own brand: a new passport under its own battery model, linked both ways, the original status changed and its history kept', async () => {
    const id = await soldBattery();
    ok(await s.gql(CONDITION, { i: { passportId: id, condition: condition(900) } }, brand.key));
    const r = ok(await s.gql<any>(REPURPOSE, { i: { passportId: id, newStatus: 'REPURPOSED', gtin: remanGtin, reason: 'home storage' } }, brand.key)).repurposeBattery;
    expect(r.status).toBe('REPURPOSED');
    expect(r.original).toMatchObject({ id, brandId: brand.id });
    expect(r.successor).toMatchObject({ gtin: remanGtin, brandId: brand.id, status: 'SIGNED' });
    const next = r.successor.id as string;

    expect((await batteryPass(s, id, brand.key))!.generalProductInformation.batteryStatus).toBe('Repurposed');
    const successorPass = (await batteryPass(s, next, brand.key))!;
    expect(successorPass.generalProductInformation).toMatchObject({ batteryStatus: 'Repurposed', batteryCategory: 'stationary' });
    expect(successorPass.generalProductInformation.operatorInformation.contactName).toBe('Second Life Storage');

    const links = async (pid: string, key: string) => ok(await s.gql<any>(LINKS, { id: pid }, key)).passport;
    expect(await links(id, regulator.key)).toMatchObject({ batterySuccessor: { id: next }, batteryPredecessor: null });
    expect(await links(next, recycler.key)).toMatchObject({ batteryPredecessor: { id }, batterySuccessor: null });
    expect(code(await s.gql(LINKS, { id }))).toBe('FORBIDDEN');

    const h = await history(id);
    expect(h.historyVerification.valid).toBe(true);
    expect(h.history.edges.at(-1)!.node).toMatchObject({ type: 'BATTERY_STATUS_CHANGED', actorId: brand.id, payload: { from: 'ORIGINAL', to: 'REPURPOSED', successorPassportId: next } });
    expect(h.history.edges.some((e) => e.node.type === 'BATTERY_CONDITION')).toBe(true);
    expect((await history(next, brand.key)).history.edges.at(-1)!.node.payload).toMatchObject({ predecessorPassportId: id });

    // Once only; and a second try does not mint another battery.
    expect(code(await s.gql(REPURPOSE, { i: { passportId: id, newStatus: 'REMANUFACTURED', gtin: remanGtin } }, brand.key))).toBe('CONFLICT');
  });

  it('refuses repurposing by another brand, without the operator\'s own battery model or prefix, minting nothing', async () => {
    const id = await soldBattery();
    // Another brand, even with a battery model of its own, may not take over this brand's battery.
    expect(code(await s.gql(REPURPOSE, { i: { passportId: id, newStatus: 'REPURPOSED', gtin: secondLifeGtin } }, repurposer.key))).toBe('FORBIDDEN');
    expect(code(await s.gql(REPURPOSE, { i: { passportId: id, newStatus: 'REPURPOSED' } }, brand.key))).toBe('BAD_USER_INPUT');
    expect(code(await s.gql(REPURPOSE, { i: { passportId: id, newStatus: 'REPURPOSED', gtin: secondLifeGtin } }, brand.key))).toBe('BAD_USER_INPUT');
    // An authorised partner without a GS1 company prefix of its own cannot place a new battery on the market.
    const noPrefix = await s.gql(REPURPOSE, { i: { passportId: id, newStatus: 'REPURPOSED', gtin: secondLifeGtin } }, partner.key);
    expect(noPrefix.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'gs1CompanyPrefixes' });
    expect(code(await s.gql(REPURPOSE, { i: { passportId: id, newStatus: 'ORIGINAL' } }, brand.key))).toBe('BAD_USER_INPUT');
    expect(ok(await s.gql<any>(LINKS, { id }, brand.key)).passport.batterySuccessor).toBeNull();

    // A battery whose passport takes no status change (here: minted, never signed) is refused before anything is minted.
    const unsigned = ok(await s.gql<any>('mutation($i: MintInput!) { mintPassports(input: $i) { passports { id } } }', { i: { gtin, quantity: 1, idempotencyKey: 'unsigned-1' } }, brand.key))
      .mintPassports.passports[0].id;
    const count = async () => ok(await s.gql<any>('query($g: String!) { passports(first: 100, filter: { gtin: $g }) { edges { node { id } } } }', { g: remanGtin }, brand.key)).passports.edges.length;
    const before = await count();
    expect(code(await s.gql(REPURPOSE, { i: { passportId: unsigned, newStatus: 'REPURPOSED', gtin: remanGtin } }, brand.key))).toBe('CONFLICT');
    expect(await count()).toBe(before);
  });

  it('re-use keeps the passport (brand or authorised partner); waste follows end of life; recycling ends the passport (Art. 77(8))', async () => {
    const id = await soldBattery();
    expect(code(await s.gql(REPURPOSE, { i: { passportId: id, newStatus: 'REUSED' } }, strangerPartner.key))).toBe('FORBIDDEN');
    const reused = ok(await s.gql<any>(REPURPOSE, { i: { passportId: id, newStatus: 'REUSED' } }, partner.key)).repurposeBattery;
    expect(reused).toMatchObject({ status: 'REUSED', successor: null });
    expect((await batteryPass(s, id, brand.key))!.generalProductInformation.batteryStatus).toBe('Reused');

    expect(code(await s.gql(REPURPOSE, { i: { passportId: id, newStatus: 'WASTE' } }, brand.key))).toBe('FORBIDDEN');
    const waste = ok(await s.gql<any>(REPURPOSE, { i: { passportId: id, newStatus: 'WASTE' } }, recycler.key)).repurposeBattery;
    expect(waste.original.status).toBe('END_OF_LIFE');
    expect((await batteryPass(s, id, recycler.key))!.generalProductInformation.batteryStatus).toBe('Waste');

    ok(await s.gql(RECYCLE, { i: { passportId: id } }, recycler.key));
    expect(await batteryPass(s, id, brand.key)).toBeNull();
    expect(await batteryPass(s, id, regulator.key)).toBeNull();
    expect((await history(id)).historyVerification.valid).toBe(true);
  });

  it('takes waste through the usual end-of-life mutation too', async () => {
    const id = await soldBattery();
    ok(await s.gql(EOL, { id }, recycler.key));
    expect((await batteryPass(s, id, brand.key))!.generalProductInformation.batteryStatus).toBe('Waste');
  });
});
