import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { batteryPass, code, createModel, gtinFor, mintSigned, ok, type Org, sell } from '../support/battery-fixtures.js';
import { exampleCondition, modelData, oracleValidators } from '../support/battery-pass.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { describeVectors } from '../unit/vectors.js';

const run = promisify(execFile);
let s: TestServer;
let dir: string;
let brand: Org;
let otherBrand: Org;
/** Authorised by `brand`, with its own prefix, battery model and key. */
let partner: Org;
let partnerKid: string;
/** A second authorised partner, for the races. */
let rival: Org;
let stranger: Org;
let noKey: Org;
let noPrefix: Org;
let recycler: Org;
let regulator: Org;
let retailer: Org;
let gtin: string;
const GTINS: Record<string, string> = {};

const REPURPOSE = `mutation($i: RepurposeBatteryInput!) { repurposeBattery(input: $i) {
  status original { id brandId } successor { id gtin serial sgtinUri digitalLink brandId status signature { kid } } } }`;
const LINKS = 'query($id: ID!) { passport(id: $id) { batteryPredecessor { id } batterySuccessor { id brandId } } }';
const HISTORY = 'query($id: ID!) { passport(id: $id) { history { edges { node { seq type actorId payload } } } historyVerification { valid } } }';
const CONDITION = 'mutation($i: BatteryConditionInput!) { recordBatteryCondition(input: $i) { seq actorId } }';
const COUNT = 'query($g: String!) { passports(first: 100, filter: { gtin: $g }) { edges { node { id } } } }';

async function operator(prefix: string, item: string, opts: { key?: boolean; authorised?: boolean } = {}): Promise<Org> {
  const org = await s.org('SERVICE_PARTNER', { gs1CompanyPrefixes: [prefix] });
  GTINS[org.id] = gtinFor(prefix, item);
  const data = modelData();
  data.generalProductInformation.operatorInformation = { ...data.generalProductInformation.operatorInformation, contactName: `Operator ${prefix}` };
  ok(await createModel(s, org.key, GTINS[org.id]!, { category: 'STATIONARY_STORAGE', data }));
  if (opts.key !== false) ok(await s.gql('mutation { rotateSigningKey { kid } }', {}, org.key));
  if (opts.authorised !== false) ok(await s.gql('mutation($p: ID!) { authoriseServicePartner(partnerId: $p) { id } }', { p: org.id }, brand.key));
  return org;
}

async function soldBattery(): Promise<string> {
  const [id] = await mintSigned(s, brand.key, gtin);
  await sell(s, id!, retailer.id);
  return id!;
}

const repurpose = (passportId: string, by: Org, extra: Record<string, unknown> = {}) =>
  s.gql<any>(REPURPOSE, { i: { passportId, newStatus: 'REPURPOSED', gtin: GTINS[by.id] ?? gtinFor('4000001', '00001'), ...extra } }, by.key);

async function history(id: string, key: string) {
  return ok(await s.gql<any>(HISTORY, { id }, key)).passport;
}

/** Units of a GTIN, counted by the platform (whoever minted them). */
async function unitsOf(g: string): Promise<number> {
  return ok(await s.gql<any>(COUNT, { g }, s.platformKey)).passports.edges.length;
}

async function dppVerify(...args: string[]): Promise<number> {
  try {
    await run(process.execPath, ['dist/src/cli/dpp.js', 'verify', ...args]);
    return 0;
  } catch (e) {
    return (e as { code: number }).code;
  }
}

describeVectors('repurposing and remanufacturing by a service partner with its own GS1 prefix (Art. 77(7), 77(8))', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dpp-repurpose-'));
    s = await startTestServer();
    brand = await s.org('BRAND', { gs1CompanyPrefixes: ['0614141'] });
    otherBrand = await s.org('BRAND', { gs1CompanyPrefixes: ['0750000'] });
    recycler = await s.org('RECYCLER');
    regulator = await s.org('REGULATOR');
    retailer = await s.org('RETAILER');
    gtin = gtinFor('0614141', '41001');
    ok(await createModel(s, brand.key, gtin, { category: 'EV', data: modelData() }));
    GTINS[otherBrand.id] = gtinFor('0750000', '41002');
    ok(await createModel(s, otherBrand.key, GTINS[otherBrand.id]!, { category: 'STATIONARY_STORAGE', data: modelData() }));
    partner = await operator('4098765', '00021');
    partnerKid = ok(await s.gql<any>('{ signingKeys { kid } }', {}, partner.key)).signingKeys[0].kid;
    rival = await operator('4098766', '00022');
    stranger = await operator('4098767', '00023', { authorised: false });
    noKey = await operator('4098768', '00024', { key: false });
    noPrefix = await s.org('SERVICE_PARTNER');
    ok(await s.gql('mutation($p: ID!) { authoriseServicePartner(partnerId: $p) { id } }', { p: noPrefix.id }, brand.key));
  });
  afterAll(async () => {
    await s?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('mints the new passport under the partner: its prefix, a fresh random serial, its key, linked both ways; the original keeps its history', async () => {
    const id = await soldBattery();
    ok(await s.gql(CONDITION, { i: { passportId: id, condition: exampleCondition() } }, brand.key));
    const before = (await history(id, brand.key)).history.edges.length;
    const r = ok(await repurpose(id, partner, { reason: 'home storage' })).repurposeBattery;
    expect(r).toMatchObject({ status: 'REPURPOSED', original: { id, brandId: brand.id } });
    const next = r.successor;
    expect(next).toMatchObject({ gtin: GTINS[partner.id], brandId: partner.id, status: 'SIGNED', signature: { kid: partnerKid } });
    expect(next.sgtinUri.startsWith('urn:epc:id:sgtin:4098765.')).toBe(true);
    expect(next.serial).toMatch(/^[0-9A-HJKMNP-TV-Z]{16}$/);

    // Linked both ways, for everyone but the public.
    expect(ok(await s.gql<any>(LINKS, { id }, brand.key)).passport).toEqual({ batteryPredecessor: null, batterySuccessor: { id: next.id, brandId: partner.id } });
    expect(ok(await s.gql<any>(LINKS, { id: next.id }, partner.key)).passport).toEqual({ batteryPredecessor: { id }, batterySuccessor: null });
    expect(ok(await s.gql<any>(LINKS, { id }, regulator.key)).passport.batterySuccessor).toEqual({ id: next.id, brandId: partner.id });
    expect(code(await s.gql(LINKS, { id }))).toBe('FORBIDDEN');
    expect(code(await s.gql(LINKS, { id: next.id }, retailer.key))).toBe('FORBIDDEN');

    // The original: status changed, its history (the condition record included) still readable by its brand and authorities.
    expect((await batteryPass(s, id, brand.key))!.generalProductInformation.batteryStatus).toBe('Repurposed');
    for (const key of [brand.key, regulator.key]) {
      const h = await history(id, key);
      expect(h.historyVerification.valid).toBe(true);
      expect(h.history.edges.length).toBe(before + 1);
      expect(h.history.edges.some((e: any) => e.node.type === 'BATTERY_CONDITION')).toBe(true);
      expect(h.history.edges.at(-1).node).toMatchObject({ type: 'BATTERY_STATUS_CHANGED', actorId: partner.id, payload: { from: 'ORIGINAL', to: 'REPURPOSED', successorPassportId: next.id, reason: 'home storage' } });
    }
    // The partner did not read the original's history before and does not now; the brand keeps its full battery pass.
    expect(code(await s.gql(HISTORY, { id }, partner.key))).toBe('FORBIDDEN');
    expect((await batteryPass(s, id, brand.key))!.performance.batteryCondition).toBeDefined();

    // The new passport's own history: minted and signed by the partner, then the status change with the link back.
    const nh = await history(next.id, partner.key);
    expect(nh.historyVerification.valid).toBe(true);
    expect(nh.history.edges.map((e: any) => [e.node.type, e.node.actorId])).toEqual([
      ['MINTED', partner.id],
      ['SIGNED', partner.id],
      ['BATTERY_STATUS_CHANGED', partner.id],
    ]);
    expect(nh.history.edges[1].node.payload.kid).toBe(partnerKid);
    expect(nh.history.edges[2].node.payload).toMatchObject({ to: 'REPURPOSED', predecessorPassportId: id });

    // The partner lists its battery; a filter naming the brand is refused.
    expect(ok(await s.gql<any>(COUNT, { g: GTINS[partner.id] }, partner.key)).passports.edges.map((e: any) => e.node.id)).toContain(next.id);
    expect(code(await s.gql('query($b: ID!) { passports(filter: { brandId: $b }) { edges { node { id } } } }', { b: brand.id }, partner.key))).toBe('FORBIDDEN');
  });

  it('makes the partner the economic operator of the new battery; the original brand sees only its public part', async () => {
    const id = await soldBattery();
    const next = ok(await repurpose(id, partner)).repurposeBattery.successor.id as string;
    await sell(s, next, retailer.id);
    // The partner records the new battery's condition; the original brand no longer may.
    expect(ok(await s.gql<any>(CONDITION, { i: { passportId: next, condition: exampleCondition() } }, partner.key)).recordBatteryCondition.actorId).toBe(partner.id);
    expect(code(await s.gql(CONDITION, { i: { passportId: next, condition: exampleCondition() } }, brand.key))).toBe('FORBIDDEN');

    const full = (await batteryPass(s, next, partner.key))!;
    const validators = oracleValidators();
    for (const [aspect, value] of Object.entries(full)) expect(validators[aspect as keyof typeof validators](value), aspect).toBe(true);
    expect(full.generalProductInformation).toMatchObject({ batteryStatus: 'Repurposed', batteryCategory: 'stationary', operatorInformation: { contactName: 'Operator 4098765' } });

    // The original brand: the public part (Annex XIII point 1) of the new battery, exactly what anonymous callers read.
    const seenByBrand = (await batteryPass(s, next, brand.key))!;
    expect(seenByBrand).toEqual(await batteryPass(s, next));
    expect(seenByBrand.generalProductInformation.batteryStatus).toBeUndefined();
    expect(seenByBrand.performance.batteryCondition?.stateOfCertifiedEnergy).toBeUndefined();
    expect(code(await s.gql(HISTORY, { id: next }, brand.key))).toBe('FORBIDDEN');
    expect(code(await s.gql(LINKS, { id: next }, brand.key))).toBe('FORBIDDEN');
    // Labels for the new battery: its operator prints them, the original brand does not.
    const label = 'query($id: ID!) { passport(id: $id) { labelUrl } }';
    const url = ok(await s.gql<any>(label, { id: next }, partner.key)).passport.labelUrl as string;
    expect(code(await s.gql(label, { id: next }, brand.key))).toBe('FORBIDDEN');
    const svg = await fetch(url.replace(/^https?:\/\/[^/]+/, s.url), { headers: { authorization: `Bearer ${partner.key}` } });
    expect(svg.status).toBe(200);
    expect((await fetch(url.replace(/^https?:\/\/[^/]+/, s.url), { headers: { authorization: `Bearer ${brand.key}` } })).status).toBe(403);
  });

  it('issues credentials as the partner, verifiable offline with the published JWKS (and not without the partner\'s key)', async () => {
    const id = await soldBattery();
    const next = ok(await repurpose(id, partner)).repurposeBattery.successor;
    const vc = ok(await s.gql<any>('query($id: ID!) { passport(id: $id) { verifiableCredential } }', { id: next.id }, partner.key)).passport.verifiableCredential;
    expect(vc.issuer).toMatch(new RegExp(`:brands:${partner.id}$`));
    expect(vc.proof.verificationMethod).toBe(`${vc.issuer}#${partnerKid}`);
    expect(vc.credentialSubject.identitySignature.kid).toBe(partnerKid);
    expect(vc.credentialSubject.batteryPass.generalProductInformation.batteryCategory).toBe('stationary');

    const jwks = (await (await fetch(`${s.url}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] };
    expect(jwks.keys.map((k) => k.kid)).toContain(partnerKid);
    const keys = join(dir, 'jwks.json');
    const withoutPartner = join(dir, 'jwks-without-partner.json');
    const credential = join(dir, 'credential.json');
    writeFileSync(keys, JSON.stringify(jwks));
    writeFileSync(withoutPartner, JSON.stringify({ keys: jwks.keys.filter((k) => k.kid !== partnerKid) }));
    writeFileSync(credential, JSON.stringify(vc));
    expect(await dppVerify(next.digitalLink, '--keys', keys)).toBe(0);
    expect(await dppVerify(credential, '--keys', keys)).toBe(0);
    expect(await dppVerify(next.digitalLink, '--keys', withoutPartner)).toBe(1);
    expect(await dppVerify(credential, '--keys', withoutPartner)).toBe(1);
  });

  it('refuses an unauthorised partner, a partner without prefix or key, a retailer, another brand, writing nothing', async () => {
    const id = await soldBattery();
    const original = (await history(id, brand.key)).history.edges.length;
    const counts = async () => Promise.all(Object.values(GTINS).map(unitsOf));
    const before = await counts();
    const refusals: [Org | undefined, string, Record<string, unknown>?][] = [
      [stranger, 'FORBIDDEN'],
      [otherBrand, 'FORBIDDEN'],
      [retailer, 'FORBIDDEN'],
      [recycler, 'FORBIDDEN'],
      [regulator, 'FORBIDDEN'],
      [noPrefix, 'BAD_USER_INPUT', { field: 'gs1CompanyPrefixes' }],
      [noKey, 'BAD_USER_INPUT', { field: 'signingKey' }],
    ];
    for (const [org, expected, extensions] of refusals) {
      const r = await repurpose(id, org!);
      expect(r.errors?.[0]?.extensions, `${expected} for ${org!.id}`).toMatchObject({ code: expected, ...extensions });
    }
    expect(code(await s.gql(REPURPOSE, { i: { passportId: id, newStatus: 'REPURPOSED', gtin: GTINS[partner.id] } }))).toMatch(/UNAUTHENTICATED|FORBIDDEN/);
    // The partner's own model only; a missing or malformed GTIN names the field.
    for (const g of [gtin, GTINS[rival.id], null, '123']) {
      expect((await repurpose(id, partner, { gtin: g })).errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'gtin' });
    }
    // A revoked authorisation is no authorisation.
    const revoked = await operator('4098769', '00025');
    ok(await s.gql('mutation($p: ID!) { revokeServicePartner(partnerId: $p) { id } }', { p: revoked.id }, brand.key));
    expect(code(await repurpose(id, revoked))).toBe('FORBIDDEN');

    expect(await counts()).toEqual([...before, 0]);
    expect((await history(id, brand.key)).history.edges.length).toBe(original);
    expect(ok(await s.gql<any>(LINKS, { id }, brand.key)).passport.batterySuccessor).toBeNull();
    expect((await batteryPass(s, id, brand.key))!.generalProductInformation.batteryStatus).toBe('Original');
  });

  it('lets one of two concurrent repurposes of a battery win: one new passport, one status change', async () => {
    const originals = await Promise.all([soldBattery(), soldBattery(), soldBattery()]);
    const gtins = [GTINS[partner.id]!, GTINS[rival.id]!];
    const before = await Promise.all(gtins.map(unitsOf));
    for (const id of originals) {
      // Two partners, and the same partner twice: exactly one request wins each battery.
      const results = await Promise.all([repurpose(id, partner), repurpose(id, rival), repurpose(id, partner, { newStatus: 'REMANUFACTURED' })]);
      const winners = results.filter((r) => !r.errors);
      expect(winners).toHaveLength(1);
      expect(results.filter((r) => r.errors).map(code)).toEqual(['CONFLICT', 'CONFLICT']);
      const winner = winners[0]!.data.repurposeBattery.successor;
      expect(ok(await s.gql<any>(LINKS, { id }, brand.key)).passport.batterySuccessor.id).toBe(winner.id);
      const h = await history(id, brand.key);
      expect(h.history.edges.filter((e: any) => e.node.type === 'BATTERY_STATUS_CHANGED')).toHaveLength(1);
      expect(h.historyVerification.valid).toBe(true);
    }
    const after = await Promise.all(gtins.map(unitsOf));
    expect(after[0]! - before[0]! + after[1]! - before[1]!).toBe(originals.length);
  });

  it('takes the new battery to waste and recycling; its passport, and its original\'s, then cease to exist (Art. 77(8))', async () => {
    const id = await soldBattery();
    const next = ok(await repurpose(id, partner)).repurposeBattery.successor;
    const resolve = async (link: string, key?: string) =>
      (await fetch(`${s.url}${new URL(link).pathname}?linkType=batteryPass`, { headers: { accept: 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) } })).status;
    const originalLink = ok(await s.gql<any>('query($id: ID!) { passport(id: $id) { digitalLink } }', { id }, brand.key)).passport.digitalLink;
    expect(await resolve(next.digitalLink, partner.key)).toBe(200);
    expect(await resolve(originalLink, brand.key)).toBe(200);

    // WASTE is end of life, by a recycler (the waste management operator); not by the operator itself.
    expect(code(await s.gql(REPURPOSE, { i: { passportId: next.id, newStatus: 'WASTE' } }, partner.key))).toBe('FORBIDDEN');
    const waste = ok(await s.gql<any>(REPURPOSE, { i: { passportId: next.id, newStatus: 'WASTE' } }, recycler.key)).repurposeBattery;
    expect(waste).toMatchObject({ status: 'WASTE', successor: null });
    expect((await batteryPass(s, next.id, partner.key))!.generalProductInformation.batteryStatus).toBe('Waste');
    expect(await batteryPass(s, id, brand.key)).not.toBeNull();

    ok(await s.gql('mutation($i: RecyclingInput!) { recordRecycling(input: $i) { id status } }', { i: { passportId: next.id } }, recycler.key));
    for (const unit of [next.id, id]) {
      for (const key of [partner.key, brand.key, recycler.key, regulator.key, undefined]) expect(await batteryPass(s, unit, key)).toBeNull();
    }
    expect(await resolve(next.digitalLink, partner.key)).toBe(410);
    expect(await resolve(originalLink, brand.key)).toBe(410);
    const vc = ok(await s.gql<any>('query($id: ID!) { passport(id: $id) { verifiableCredential } }', { id }, brand.key)).passport.verifiableCredential;
    expect(vc.credentialSubject.batteryPass).toBeUndefined();
    // The records of what happened stay with those who could read them.
    const nh = await history(next.id, partner.key);
    expect(nh.historyVerification.valid).toBe(true);
    expect(nh.history.edges.map((e: any) => e.node.type).slice(-2)).toEqual(['END_OF_LIFE', 'RECYCLED']);
    expect((await history(id, brand.key)).historyVerification.valid).toBe(true);
    expect(ok(await s.gql<any>(LINKS, { id: next.id }, partner.key)).passport.batteryPredecessor).toEqual({ id });
  });
});
