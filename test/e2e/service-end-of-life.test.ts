import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gtinCheckDigit } from '../../src/gs1/index.js';
import { historyService } from '../../src/modules/history/history.service.js';
import { LifecycleEvent } from '../../src/modules/history/lifecycle-event.entity.js';
import { Passport } from '../../src/modules/passports/passport.entity.js';
import { ServiceAuthorization, ServiceRecord } from '../../src/modules/service/service.entity.js';
import { startTestServer, type GqlResponse, type TestServer } from '../support/server.js';

type Org = { id: string; key: string };

let s: TestServer;
let brand: Org;
let otherBrand: Org;
let partner: Org;
let strangerPartner: Org;
let recycler: Org;
let retailer: Org;
let regulator: Org;
let gtin: string;
let otherGtin: string;
let batchNo = 0;

const em = () => s.db.orm.em.fork() as EntityManager;
const code = (r: GqlResponse<unknown>) => r.errors?.[0]?.extensions?.code;

function gtinFor(prefix: string, item: string): string {
  const body = `${prefix}${item}`.slice(0, 12).padStart(12, '0');
  return (body + gtinCheckDigit(body)).padStart(14, '0');
}

async function model(key: string, g: string): Promise<void> {
  const r = await s.gql('mutation($i: ProductModelInput!) { createProductModel(input: $i) { id } }', { i: { gtin: g, name: `Model ${g}`, warrantyMonths: 24 } }, key);
  if (r.errors) throw new Error(JSON.stringify(r.errors));
}

/** Mints and signs `quantity` units of a model. */
async function units(quantity: number, key = brand.key, g = gtin, manufacturedAt?: string): Promise<string[]> {
  const r = await s.gql<{ mintPassports: { id: string; passports: { id: string }[] } }>(
    'mutation($i: MintInput!) { mintPassports(input: $i) { id passports { id } } }',
    { i: { gtin: g, quantity, idempotencyKey: `sel-${batchNo++}`, ...(manufacturedAt ? { manufacturedAt } : {}) } },
    key,
  );
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  const sign = await s.gql('mutation($b: ID!) { signPassports(input: { batchId: $b }) { signed } }', { b: r.data!.mintPassports.id }, key);
  if (sign.errors) throw new Error(JSON.stringify(sign.errors));
  return r.data!.mintPassports.passports.map((p) => p.id);
}

/** Sells a unit through a retail_selling CUSTODY event (the custody mutation is its own feature). */
async function sell(id: string): Promise<void> {
  await historyService.appendEvent(em(), { passportId: id, type: 'CUSTODY', actorId: retailer.id, payload: { bizStep: 'retail_selling' } });
}

async function soldUnit(): Promise<string> {
  const [id] = await units(1);
  await sell(id!);
  return id!;
}

async function status(id: string): Promise<string> {
  return (await em().findOneOrFail(Passport, { id })).status;
}

async function counts() {
  const e = em();
  return { events: await e.count(LifecycleEvent, {}), records: await e.count(ServiceRecord, {}), authorizations: await e.count(ServiceAuthorization, {}) };
}

const AUTHORISE = 'mutation($p: ID!) { authoriseServicePartner(partnerId: $p) { id brandId partnerId active createdAt revokedAt partner { id kind } } }';
const REVOKE_PARTNER = 'mutation($p: ID!) { revokeServicePartner(partnerId: $p) { id active revokedAt } }';
const PARTNERS = 'query($all: Boolean) { servicePartners(includeRevoked: $all) { partnerId active } }';
const RECORD = 'mutation($i: ServiceRecordInput!) { recordService(input: $i) { id passportId partnerId workDone parts performedAt eventSeq createdAt } }';
const TAMPER = 'mutation($i: TamperReportInput!) { reportTamper(input: $i) { id passportId seq type actorId payload prevHash hash } }';
const EOL = 'mutation($id: ID!, $r: String!) { declareEndOfLife(passportId: $id, reason: $r) { id status } }';
const RECYCLE = 'mutation($i: RecyclingInput!) { recordRecycling(input: $i) { id status } }';
const REVOKE = 'mutation($id: ID!, $r: RevocationReason!, $n: String) { revokePassport(passportId: $id, reason: $r, note: $n) { id status } }';
const HISTORY = 'query($id: ID!) { passport(id: $id) { history { edges { node { seq type actorId payload } } } } }';

type RecordResult = { recordService: { id: string; passportId: string; partnerId: string; workDone: string; parts: Record<string, unknown>[]; performedAt: string; eventSeq: number } };
type HistoryResult = { passport: { history: { edges: { node: { seq: number; type: string; actorId: string | null; payload: Record<string, any> } }[] } } };

async function history(id: string) {
  const r = await s.gql<HistoryResult>(HISTORY, { id }, brand.key);
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  return r.data!.passport.history.edges.map((e) => e.node);
}

async function endOfLife(id: string): Promise<void> {
  const r = await s.gql(EOL, { id, r: 'worn out' }, recycler.key);
  if (r.errors) throw new Error(JSON.stringify(r.errors));
}

async function recycled(): Promise<string> {
  const id = await soldUnit();
  await endOfLife(id);
  const r = await s.gql(RECYCLE, { i: { passportId: id } }, recycler.key);
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  return id;
}

beforeAll(async () => {
  s = await startTestServer();
  brand = await s.org('BRAND', { gs1CompanyPrefixes: ['0614141'] });
  otherBrand = await s.org('BRAND', { gs1CompanyPrefixes: ['0700000'] });
  partner = await s.org('SERVICE_PARTNER');
  strangerPartner = await s.org('SERVICE_PARTNER');
  recycler = await s.org('RECYCLER');
  retailer = await s.org('RETAILER');
  regulator = await s.org('REGULATOR');
  gtin = gtinFor('0614141', '77001');
  otherGtin = gtinFor('0700000', '77002');
  await model(brand.key, gtin);
  await model(otherBrand.key, otherGtin);
  const a = await s.gql(AUTHORISE, { p: partner.id }, brand.key);
  if (a.errors) throw new Error(JSON.stringify(a.errors));
});
afterAll(async () => {
  await s?.stop();
});

describe('service partner authorisations', () => {
  it('authorises a SERVICE_PARTNER idempotently and lists it', async () => {
    const before = await counts();
    const again = await s.gql<{ authoriseServicePartner: Record<string, any> }>(AUTHORISE, { p: partner.id }, brand.key);
    expect(again.errors).toBeUndefined();
    expect(again.data!.authoriseServicePartner).toMatchObject({ brandId: brand.id, partnerId: partner.id, active: true, revokedAt: null, partner: { id: partner.id, kind: 'SERVICE_PARTNER' } });
    expect((await counts()).authorizations).toBe(before.authorizations);
    const list = await s.gql<{ servicePartners: { partnerId: string; active: boolean }[] }>(PARTNERS, {}, brand.key);
    expect(list.data!.servicePartners).toEqual([{ partnerId: partner.id, active: true }]);
    expect((await s.gql<{ servicePartners: unknown[] }>(PARTNERS, {}, otherBrand.key)).data!.servicePartners).toEqual([]);
  });

  it('makes one row when the same partner is authorised five times at once (race)', async () => {
    const p = await s.org('SERVICE_PARTNER');
    const results = await Promise.all(Array.from({ length: 5 }, () => s.gql<{ authoriseServicePartner: { id: string } }>(AUTHORISE, { p: p.id }, brand.key)));
    expect(results.map((r) => r.errors)).toEqual(Array(5).fill(undefined));
    expect(new Set(results.map((r) => r.data!.authoriseServicePartner.id)).size).toBe(1);
    expect(await em().count(ServiceAuthorization, { brand: brand.id, partner: p.id })).toBe(1);
  });

  it.each([
    ['a RETAILER organisation', () => retailer.id],
    ['another BRAND', () => otherBrand.id],
    ['an unknown id', () => randomUUID()],
    ['a malformed id', () => 'not-an-id'],
  ])('refuses to authorise %s (BAD_USER_INPUT), writing nothing', async (_what, id) => {
    const before = await counts();
    const r = await s.gql(AUTHORISE, { p: id() }, brand.key);
    expect(code(r)).toBe('BAD_USER_INPUT');
    expect(r.errors![0]!.message).toContain('partnerId');
    expect(await counts()).toEqual(before);
  });

  it('lets only brands manage partners', async () => {
    expect(code(await s.gql(AUTHORISE, { p: partner.id }, partner.key))).toBe('FORBIDDEN');
    expect(code(await s.gql(AUTHORISE, { p: partner.id }, regulator.key))).toBe('FORBIDDEN');
    expect(code(await s.gql(AUTHORISE, { p: partner.id }))).toBe('UNAUTHENTICATED');
    expect(code(await s.gql(PARTNERS, {}, partner.key))).toBe('FORBIDDEN');
    expect(code(await s.gql(REVOKE_PARTNER, { p: strangerPartner.id }, brand.key))).toBe('NOT_FOUND');
  });

  it('refuses service after revocation, idempotently, and accepts it again after re-authorisation', async () => {
    const p = await s.org('SERVICE_PARTNER');
    await s.gql(AUTHORISE, { p: p.id }, brand.key);
    const unit = await soldUnit();
    expect(code(await s.gql(RECORD, { i: { passportId: unit, workDone: 'Battery check' } }, p.key))).toBeUndefined();

    const revoked = await s.gql<{ revokeServicePartner: { active: boolean; revokedAt: string } }>(REVOKE_PARTNER, { p: p.id }, brand.key);
    expect(revoked.data!.revokeServicePartner.active).toBe(false);
    const twice = await s.gql<{ revokeServicePartner: { revokedAt: string } }>(REVOKE_PARTNER, { p: p.id }, brand.key);
    expect(twice.data!.revokeServicePartner.revokedAt).toBe(revoked.data!.revokeServicePartner.revokedAt);
    expect((await s.gql<{ servicePartners: { partnerId: string }[] }>(PARTNERS, {}, brand.key)).data!.servicePartners.map((x) => x.partnerId)).not.toContain(p.id);
    expect((await s.gql<{ servicePartners: { partnerId: string; active: boolean }[] }>(PARTNERS, { all: true }, brand.key)).data!.servicePartners).toContainEqual({ partnerId: p.id, active: false });

    const before = await counts();
    const refused = await s.gql(RECORD, { i: { passportId: unit, workDone: 'Screen replaced' } }, p.key);
    expect(code(refused)).toBe('FORBIDDEN');
    expect(await counts()).toEqual(before);

    const renewed = await s.gql<{ authoriseServicePartner: { active: boolean; revokedAt: string | null } }>(AUTHORISE, { p: p.id }, brand.key);
    expect(renewed.data!.authoriseServicePartner).toMatchObject({ active: true, revokedAt: null });
    expect(code(await s.gql(RECORD, { i: { passportId: unit, workDone: 'Screen replaced' } }, p.key))).toBeUndefined();
  });
});

describe('recordService', () => {
  it('records a repair with a serialised part and a plain part: one SERVICED event, one record with its seq', async () => {
    const unit = await soldUnit();
    const [part] = await units(1);
    const before = await counts();
    const r = await s.gql<RecordResult>(
      RECORD,
      {
        i: {
          passportId: unit,
          workDone: '  Replaced the motor and two screws  ',
          parts: [
            { passportId: part, description: 'Motor assembly' },
            { gtin: gtin.slice(1), description: 'Screw M3', quantity: 2 },
          ],
        },
      },
      partner.key,
    );
    expect(r.errors).toBeUndefined();
    const rec = r.data!.recordService;
    expect(rec).toMatchObject({ passportId: unit, partnerId: partner.id, workDone: 'Replaced the motor and two screws' });
    expect(rec.parts).toEqual([
      { passportId: part, gtin, description: 'Motor assembly', quantity: 1 },
      { gtin, description: 'Screw M3', quantity: 2 },
    ]);
    expect(Math.abs(new Date(rec.performedAt).getTime() - Date.now())).toBeLessThan(60_000);
    expect(await counts()).toEqual({ ...before, events: before.events + 1, records: before.records + 1 });

    const events = await history(unit);
    const last = events.at(-1)!;
    expect(last).toMatchObject({ seq: rec.eventSeq, type: 'SERVICED', actorId: partner.id });
    expect(last.payload).toEqual({ serviceRecordId: rec.id, partnerId: partner.id, workDone: rec.workDone, parts: rec.parts });
    expect(await status(unit)).toBe('SOLD');
    expect((await historyService.verifyHistory(em(), unit)).valid).toBe(true);
  });

  it('keeps a given performedAt as the event time', async () => {
    const [unit] = await units(1, brand.key, gtin, new Date(Date.now() - 2 * 86_400_000).toISOString());
    await sell(unit!);
    const performedAt = new Date(Date.now() - 3_600_000).toISOString();
    const r = await s.gql<RecordResult>(RECORD, { i: { passportId: unit, workDone: 'Cleaned', performedAt } }, partner.key);
    expect(r.data!.recordService.performedAt).toBe(performedAt);
    const stored = await em().findOneOrFail(LifecycleEvent, { passport: unit, seq: r.data!.recordService.eventSeq });
    expect(stored.occurredAt.toISOString()).toBe(performedAt);
  });

  it('refuses a partner without an authorisation from the unit\'s brand (FORBIDDEN), and non-partners', async () => {
    const unit = await soldUnit();
    const before = await counts();
    expect(code(await s.gql(RECORD, { i: { passportId: unit, workDone: 'x' } }, strangerPartner.key))).toBe('FORBIDDEN');
    // Authorised by one brand is not authorised by another.
    const [foreign] = await units(1, otherBrand.key, otherGtin);
    await sell(foreign!);
    const mid = await counts();
    expect(code(await s.gql(RECORD, { i: { passportId: foreign, workDone: 'x' } }, partner.key))).toBe('FORBIDDEN');
    expect(code(await s.gql(RECORD, { i: { passportId: unit, workDone: 'x' } }, brand.key))).toBe('FORBIDDEN');
    expect(code(await s.gql(RECORD, { i: { passportId: unit, workDone: 'x' } }, recycler.key))).toBe('FORBIDDEN');
    expect(code(await s.gql(RECORD, { i: { passportId: unit, workDone: 'x' } }))).toBe('UNAUTHENTICATED');
    expect((await counts()).records).toBe(before.records);
    expect(await counts()).toEqual(mid);
  });

  it('refuses a unit whose status takes no service (SIGNED, RECYCLED) with CONFLICT', async () => {
    const [signed] = await units(1);
    const gone = await recycled();
    const before = await counts();
    expect(code(await s.gql(RECORD, { i: { passportId: signed, workDone: 'x' } }, partner.key))).toBe('CONFLICT');
    expect(code(await s.gql(RECORD, { i: { passportId: gone, workDone: 'x' } }, partner.key))).toBe('CONFLICT');
    expect(await counts()).toEqual(before);
  });

  describe('parts that are refused (BAD_USER_INPUT naming the part, nothing written)', () => {
    const cases: [string, () => Promise<string>][] = [
      ['a recycled unit', () => recycled()],
      ['an end-of-life unit', async () => {
        const id = await soldUnit();
        await endOfLife(id);
        return id;
      }],
      ['a revoked unit', async () => {
        const [id] = await units(1);
        const r = await s.gql(REVOKE, { id, r: 'STOLEN' }, brand.key);
        if (r.errors) throw new Error(JSON.stringify(r.errors));
        return id!;
      }],
      ['a unit of another brand', async () => (await units(1, otherBrand.key, otherGtin))[0]!],
      ['an unknown passport', async () => randomUUID()],
      ['a malformed id', async () => 'part-123'],
    ];
    it.each(cases)('%s', async (_what, makePart) => {
      const unit = await soldUnit();
      const part = await makePart();
      const before = await counts();
      const r = await s.gql(RECORD, { i: { passportId: unit, workDone: 'Motor', parts: [{ description: 'Screw', quantity: 4 }, { passportId: part, description: 'Motor' }] } }, partner.key);
      expect(code(r)).toBe('BAD_USER_INPUT');
      expect(r.errors![0]!.message).toContain('parts[1].passportId');
      expect(await counts()).toEqual(before);
    });

    it('the unit itself', async () => {
      const unit = await soldUnit();
      const before = await counts();
      const r = await s.gql(RECORD, { i: { passportId: unit, workDone: 'Motor', parts: [{ passportId: unit, description: 'Itself' }] } }, partner.key);
      expect(code(r)).toBe('BAD_USER_INPUT');
      expect(r.errors![0]!.message).toContain('parts[0].passportId');
      expect(await counts()).toEqual(before);
    });
  });

  describe('bad input', () => {
    let unit: string;
    let part: string;
    beforeAll(async () => {
      unit = await soldUnit();
      [part] = (await units(1)) as [string];
    });

    const cases: [string, (u: string, p: string) => Record<string, unknown>, string][] = [
      ['empty workDone', () => ({ workDone: '   ' }), 'workDone'],
      ['workDone over 2000', () => ({ workDone: 'x'.repeat(2001) }), 'workDone'],
      ['performedAt in the future', () => ({ performedAt: new Date(Date.now() + 86_400_000).toISOString() }), 'performedAt'],
      ['performedAt before manufacture', () => ({ performedAt: '2001-01-01T00:00:00Z' }), 'performedAt'],
      ['performedAt not a date', () => ({ performedAt: 'yesterday' }), ''],
      ['51 parts', () => ({ parts: Array.from({ length: 51 }, () => ({ description: 'Screw' })) }), 'parts'],
      ['quantity 0', () => ({ parts: [{ description: 'Screw', quantity: 0 }] }), 'parts[0].quantity'],
      ['quantity 1001', () => ({ parts: [{ description: 'Screw', quantity: 1001 }] }), 'parts[0].quantity'],
      ['a serialised part with quantity 2', (_u, p) => ({ parts: [{ passportId: p, description: 'Motor', quantity: 2 }] }), 'parts[0].quantity'],
      ['the same part twice', (_u, p) => ({ parts: [{ passportId: p, description: 'Motor' }, { passportId: p, description: 'Motor' }] }), 'parts[1].passportId'],
      ['a bad part GTIN', () => ({ parts: [{ gtin: '4006381333932', description: 'Screw' }] }), 'parts[0].gtin'],
      ['a part GTIN unlike its passport', (_u, p) => ({ parts: [{ passportId: p, gtin: otherGtin, description: 'Motor' }] }), 'parts[0].gtin'],
      ['an empty part description', () => ({ parts: [{ description: '' }] }), 'parts[0].description'],
      ['a NUL in workDone', () => ({ workDone: 'a\u0000b' }), 'workDone'],
    ];
    it.each(cases)('refuses %s with BAD_USER_INPUT, writing nothing', async (_what, patch, field) => {
      const before = await counts();
      const r = await s.gql(RECORD, { i: { passportId: unit, workDone: 'Fixed', ...patch(unit, part) } }, partner.key);
      expect(code(r)).toBe('BAD_USER_INPUT');
      expect(r.errors![0]!.message).toContain(field);
      expect(await counts()).toEqual(before);
    });

    it('answers NOT_FOUND for an unknown or malformed unit id', async () => {
      const before = await counts();
      expect(code(await s.gql(RECORD, { i: { passportId: randomUUID(), workDone: 'x' } }, partner.key))).toBe('NOT_FOUND');
      expect(code(await s.gql(RECORD, { i: { passportId: 'nope', workDone: 'x' } }, partner.key))).toBe('NOT_FOUND');
      expect(await counts()).toEqual(before);
    });
  });

  it('keeps one chain when two repairs of one unit are recorded at once (race)', async () => {
    const unit = await soldUnit();
    const results = await Promise.all([1, 2, 3].map((n) => s.gql<RecordResult>(RECORD, { i: { passportId: unit, workDone: `Repair ${n}` } }, partner.key)));
    expect(results.map((r) => r.errors)).toEqual([undefined, undefined, undefined]);
    expect(new Set(results.map((r) => r.data!.recordService.eventSeq)).size).toBe(3);
    expect(await em().count(ServiceRecord, { passport: unit })).toBe(3);
    expect((await historyService.verifyHistory(em(), unit)).valid).toBe(true);
  });
});

describe('Passport.serviceRecords', () => {
  let unit: string;
  let recordId: string;
  const QUERY = 'query($id: ID!) { passport(id: $id) { id serviceRecords { id partnerId workDone parts eventSeq } } }';

  beforeAll(async () => {
    unit = await soldUnit();
    const r = await s.gql<RecordResult>(RECORD, { i: { passportId: unit, workDone: 'Seal replaced' } }, partner.key);
    recordId = r.data!.recordService.id;
  });

  it.each([
    ['the owning brand', () => brand.key],
    ['a REGULATOR', () => regulator.key],
    ['a RECYCLER', () => recycler.key],
    ['a SERVICE_PARTNER', () => strangerPartner.key],
    ['the PLATFORM', () => s.platformKey],
  ])('shows the service records to %s', async (_who, key) => {
    const r = await s.gql<{ passport: { serviceRecords: { id: string; workDone: string }[] } }>(QUERY, { id: unit }, key());
    expect(r.errors).toBeUndefined();
    expect(r.data!.passport.serviceRecords).toEqual([expect.objectContaining({ id: recordId, partnerId: partner.id, workDone: 'Seal replaced' })]);
  });

  it.each([
    ['a RETAILER', () => retailer.key],
    ['another brand', () => otherBrand.key],
    ['an anonymous caller', () => undefined],
  ])('refuses them to %s', async (_who, key) => {
    const r = await s.gql<{ passport: { serviceRecords?: unknown } | null }>(QUERY, { id: unit }, key());
    expect(r.data?.passport?.serviceRecords).toBeUndefined();
    // Whoever may not read the passport at all gets null; whoever may read it but not this field, FORBIDDEN.
    if (r.errors) expect(r.errors.map((e) => e.extensions?.code)).toContain('FORBIDDEN');
    if (key() === retailer.key) expect(code(r)).toBe('FORBIDDEN');
  });

  it('loads the records of a whole page of passports', async () => {
    const r = await s.gql<{ passports: { edges: { node: { id: string; serviceRecords: { id: string }[] } }[] } }>(
      'query($g: String!) { passports(filter: { gtin: $g }, first: 500) { edges { node { id serviceRecords { id } } } } }',
      { g: gtin },
      brand.key,
    );
    expect(r.errors).toBeUndefined();
    const nodes = r.data!.passports.edges.map((e) => e.node);
    expect(nodes.find((n) => n.id === unit)!.serviceRecords).toEqual([{ id: recordId }]);
    const stored = await em().count(ServiceRecord, { passport: { brand: brand.id } });
    expect(nodes.reduce((n, p) => n + p.serviceRecords.length, 0)).toBe(stored);
  });
});

describe('reportTamper', () => {
  it('takes an anonymous report, which appears in the history with no actor', async () => {
    const unit = await soldUnit();
    const r = await s.gql<{ reportTamper: Record<string, any> }>(TAMPER, { i: { passportId: unit, description: ' Seal broken ', evidenceUrl: 'https://example.com/photo.jpg' } });
    expect(r.errors).toBeUndefined();
    expect(r.data!.reportTamper).toMatchObject({ passportId: unit, type: 'TAMPER_REPORTED', actorId: null, payload: { description: 'Seal broken', evidenceUrl: 'https://example.com/photo.jpg', reporter: 'ANONYMOUS' } });
    const last = (await history(unit)).at(-1)!;
    expect(last).toMatchObject({ seq: r.data!.reportTamper.seq, type: 'TAMPER_REPORTED', actorId: null });
    expect(await status(unit)).toBe('SOLD');
    expect((await historyService.verifyHistory(em(), unit)).valid).toBe(true);
  });

  it('names the reporting organisation as actor', async () => {
    const unit = await soldUnit();
    const r = await s.gql<{ reportTamper: Record<string, any> }>(TAMPER, { i: { passportId: unit, description: 'Hologram missing' } }, retailer.key);
    expect(r.data!.reportTamper).toMatchObject({ actorId: retailer.id, payload: { description: 'Hologram missing', reporter: 'RETAILER' } });
  });

  it('refuses a report on a RECYCLED or REVOKED unit (CONFLICT), writing nothing', async () => {
    const gone = await recycled();
    const [revoked] = await units(1);
    await s.gql(REVOKE, { id: revoked, r: 'RECALLED' }, brand.key);
    const before = await counts();
    expect(code(await s.gql(TAMPER, { i: { passportId: gone, description: 'x' } }))).toBe('CONFLICT');
    expect(code(await s.gql(TAMPER, { i: { passportId: revoked, description: 'x' } }))).toBe('CONFLICT');
    expect(await counts()).toEqual(before);
  });

  it.each([
    ['an empty description', { description: '' }, 'description'],
    ['a description over 2000', { description: 'x'.repeat(2001) }, 'description'],
    ['an http evidence URL', { evidenceUrl: 'http://example.com/photo.jpg' }, 'evidenceUrl'],
    ['a javascript: evidence URL', { evidenceUrl: 'javascript:alert(1)' }, 'evidenceUrl'],
    ['an evidence URL without host', { evidenceUrl: 'https://' }, 'evidenceUrl'],
  ])('refuses %s with BAD_USER_INPUT, writing nothing', async (_what, patch, field) => {
    const unit = await soldUnit();
    const before = await counts();
    const r = await s.gql(TAMPER, { i: { passportId: unit, description: 'Seal broken', ...patch } });
    expect(code(r)).toBe('BAD_USER_INPUT');
    expect(r.errors![0]!.message).toContain(field);
    expect(await counts()).toEqual(before);
  });

  it('answers NOT_FOUND for an unknown unit', async () => {
    expect(code(await s.gql(TAMPER, { i: { passportId: randomUUID(), description: 'x' } }))).toBe('NOT_FOUND');
    expect(code(await s.gql(TAMPER, { i: { passportId: 'abc', description: 'x' } }))).toBe('NOT_FOUND');
  });
});

describe('end of life and recycling', () => {
  it('lets a RECYCLER declare end of life and then record recycling with recovered materials', async () => {
    const unit = await soldUnit();
    const eol = await s.gql<{ declareEndOfLife: { id: string; status: string } }>(EOL, { id: unit, r: 'Frame cracked' }, recycler.key);
    expect(eol.errors).toBeUndefined();
    expect(eol.data!.declareEndOfLife).toEqual({ id: unit, status: 'END_OF_LIFE' });
    const materials = [
      { material: 'aluminium', massKg: 1.25, recoveryRate: 92.5 },
      { material: 'copper', massKg: 0 },
    ];
    const rec = await s.gql<{ recordRecycling: { id: string; status: string } }>(RECYCLE, { i: { passportId: unit, facility: 'Plant North', recoveredMaterials: materials } }, recycler.key);
    expect(rec.errors).toBeUndefined();
    expect(rec.data!.recordRecycling).toEqual({ id: unit, status: 'RECYCLED' });
    const [eolEvent, recycledEvent] = (await history(unit)).slice(-2);
    expect(eolEvent).toMatchObject({ type: 'END_OF_LIFE', actorId: recycler.id, payload: { reason: 'Frame cracked' } });
    expect(recycledEvent).toMatchObject({ type: 'RECYCLED', actorId: recycler.id, payload: { facility: 'Plant North', recoveredMaterials: materials } });
    expect(await status(unit)).toBe('RECYCLED');
  });

  it('refuses recycling before end of life, and a second end of life (CONFLICT), writing nothing', async () => {
    const unit = await soldUnit();
    const before = await counts();
    expect(code(await s.gql(RECYCLE, { i: { passportId: unit } }, recycler.key))).toBe('CONFLICT');
    expect(await counts()).toEqual(before);
    await endOfLife(unit);
    const mid = await counts();
    expect(code(await s.gql(EOL, { id: unit, r: 'again' }, recycler.key))).toBe('CONFLICT');
    expect(await counts()).toEqual(mid);
  });

  it('lets only recyclers declare end of life or record recycling', async () => {
    const unit = await soldUnit();
    const before = await counts();
    expect(code(await s.gql(EOL, { id: unit, r: 'x' }, retailer.key))).toBe('FORBIDDEN');
    expect(code(await s.gql(EOL, { id: unit, r: 'x' }, brand.key))).toBe('FORBIDDEN');
    expect(code(await s.gql(EOL, { id: unit, r: 'x' }))).toBe('UNAUTHENTICATED');
    expect(code(await s.gql(RECYCLE, { i: { passportId: unit } }, partner.key))).toBe('FORBIDDEN');
    expect(await counts()).toEqual(before);
    expect(await status(unit)).toBe('SOLD');
  });

  it.each([
    ['empty', '', 'reason'],
    ['over 500 characters', 'x'.repeat(501), 'reason'],
  ])('refuses end of life with a reason %s (BAD_USER_INPUT), writing nothing', async (_what, reason, field) => {
    const unit = await soldUnit();
    const before = await counts();
    const r = await s.gql(EOL, { id: unit, r: reason }, recycler.key);
    expect(code(r)).toBe('BAD_USER_INPUT');
    expect(r.errors![0]!.message).toContain(field);
    expect(await counts()).toEqual(before);
  });

  describe('bad recycling input', () => {
    let unit: string;
    beforeAll(async () => {
      unit = await soldUnit();
      await endOfLife(unit);
    });

    it.each([
      ['facility', { facility: 'f'.repeat(201) }],
      ['recoveredMaterials', { recoveredMaterials: { material: 'steel', massKg: 1 } }],
      ['recoveredMaterials', { recoveredMaterials: 'steel' }],
      ['recoveredMaterials[0].massKg', { recoveredMaterials: [{ material: 'steel', massKg: -1 }] }],
      ['recoveredMaterials[0].massKg', { recoveredMaterials: [{ material: 'steel', massKg: '3' }] }],
      ['recoveredMaterials[0].massKg', { recoveredMaterials: [{ material: 'steel' }] }],
      ['recoveredMaterials[1].material', { recoveredMaterials: [{ material: 'steel', massKg: 1 }, { material: '', massKg: 1 }] }],
      ['recoveredMaterials[0].recoveryRate', { recoveredMaterials: [{ material: 'steel', massKg: 1, recoveryRate: 101 }] }],
      ['recoveredMaterials[0].recoveryRate', { recoveredMaterials: [{ material: 'steel', massKg: 1, recoveryRate: -0.5 }] }],
      ['recoveredMaterials[0]', { recoveredMaterials: [{ material: 'steel', massKg: 1, purity: 99 }] }],
      ['recoveredMaterials', { recoveredMaterials: Array.from({ length: 101 }, () => ({ material: 'steel', massKg: 1 })) }],
    ])('refuses bad %s (case %#) with BAD_USER_INPUT naming it, writing nothing', async (path, patch) => {
      const before = await counts();
      const r = await s.gql(RECYCLE, { i: { passportId: unit, ...patch } }, recycler.key);
      expect(code(r)).toBe('BAD_USER_INPUT');
      expect(r.errors![0]!.message).toContain(path);
      expect(await counts()).toEqual(before);
      expect(await status(unit)).toBe('END_OF_LIFE');
    });

    it('answers NOT_FOUND for an unknown unit', async () => {
      expect(code(await s.gql(RECYCLE, { i: { passportId: randomUUID() } }, recycler.key))).toBe('NOT_FOUND');
      expect(code(await s.gql(EOL, { id: 'xyz', r: 'x' }, recycler.key))).toBe('NOT_FOUND');
    });
  });

  it('recycles a unit once when two recyclings arrive at the same time (race)', async () => {
    const unit = await soldUnit();
    await endOfLife(unit);
    const results = await Promise.all([1, 2].map((n) => s.gql(RECYCLE, { i: { passportId: unit, facility: `Plant ${n}` } }, recycler.key)));
    expect(results.map(code).sort()).toEqual(['CONFLICT', undefined]);
    expect(await em().count(LifecycleEvent, { passport: unit, type: 'RECYCLED' })).toBe(1);
    expect(await status(unit)).toBe('RECYCLED');
    expect((await historyService.verifyHistory(em(), unit)).valid).toBe(true);
  });
});

describe('revokePassport', () => {
  it('lets the brand revoke its own unit, with reason and note in the history', async () => {
    const unit = await soldUnit();
    const r = await s.gql<{ revokePassport: { id: string; status: string } }>(REVOKE, { id: unit, r: 'STOLEN', n: 'Reported stolen from store 12' }, brand.key);
    expect(r.errors).toBeUndefined();
    expect(r.data!.revokePassport).toEqual({ id: unit, status: 'REVOKED' });
    expect((await history(unit)).at(-1)).toMatchObject({ type: 'REVOKED', actorId: brand.id, payload: { reason: 'STOLEN', note: 'Reported stolen from store 12' } });
    expect(code(await s.gql(REVOKE, { id: unit, r: 'RECALLED' }, brand.key))).toBe('CONFLICT');
  });

  it('answers NOT_FOUND for another brand\'s unit and refuses non-brands, writing nothing', async () => {
    const unit = await soldUnit();
    const before = await counts();
    expect(code(await s.gql(REVOKE, { id: unit, r: 'STOLEN' }, otherBrand.key))).toBe('NOT_FOUND');
    expect(code(await s.gql(REVOKE, { id: randomUUID(), r: 'STOLEN' }, brand.key))).toBe('NOT_FOUND');
    expect(code(await s.gql(REVOKE, { id: unit, r: 'STOLEN' }, recycler.key))).toBe('FORBIDDEN');
    expect(code(await s.gql(REVOKE, { id: unit, r: 'STOLEN' }, regulator.key))).toBe('FORBIDDEN');
    expect(await counts()).toEqual(before);
    expect(await status(unit)).toBe('SOLD');
  });

  it('cannot revoke a recycled unit (CONFLICT)', async () => {
    const gone = await recycled();
    const before = await counts();
    expect(code(await s.gql(REVOKE, { id: gone, r: 'RECALLED' }, brand.key))).toBe('CONFLICT');
    expect(await counts()).toEqual(before);
  });

  it('revokes an unsigned MINTED unit and an END_OF_LIFE one', async () => {
    const r = await s.gql<{ mintPassports: { passports: { id: string }[] } }>('mutation($i: MintInput!) { mintPassports(input: $i) { passports { id } } }', { i: { gtin, quantity: 1, idempotencyKey: `sel-${batchNo++}` } }, brand.key);
    const minted = r.data!.mintPassports.passports[0]!.id;
    expect((await s.gql<{ revokePassport: { status: string } }>(REVOKE, { id: minted, r: 'COUNTERFEIT_SUSPECTED' }, brand.key)).data!.revokePassport.status).toBe('REVOKED');
    const unit = await soldUnit();
    await endOfLife(unit);
    expect((await s.gql<{ revokePassport: { status: string } }>(REVOKE, { id: unit, r: 'RECALLED' }, brand.key)).data!.revokePassport.status).toBe('REVOKED');
  });

  it.each([
    ['RevocationReason', { r: 'LOST' }],
    ['note', { r: 'OTHER' }],
    ['note', { r: 'OTHER', n: '   ' }],
    ['note', { r: 'STOLEN', n: 'n'.repeat(501) }],
  ])('refuses a bad %s (case %#) with BAD_USER_INPUT naming it, writing nothing', async (field, patch) => {
    const unit = await soldUnit();
    const before = await counts();
    const r = await s.gql(REVOKE, { id: unit, ...patch }, brand.key);
    expect(code(r)).toBe('BAD_USER_INPUT');
    expect(r.errors![0]!.message).toContain(field);
    expect(await counts()).toEqual(before);
  });
});
