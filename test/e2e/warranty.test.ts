import type { EntityManager } from '@mikro-orm/postgresql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawQuery } from '../../src/db/raw.js';
import { WARRANTY_RISK_THRESHOLD } from '../../src/modules/warranty/warranty.scoring.js';
import { DecideWarrantyClaimDocument, FileWarrantyClaimDocument, MyWarrantyClaimsDocument, WarrantyClaimsDocument } from '../documents/ownership.js';
import { assertionFor, authenticator, brandWithModel, claimUnit, codeOf, type Owner, reasonOf, registerOwner, sell, transferUnit } from '../support/owners.js';
import { startTestServer, type TestServer } from '../support/server.js';

type Brand = Awaited<ReturnType<typeof brandWithModel>>;
type Unit = { id: string; serial: string; claimCode: string };

let s: TestServer;
let brand: Brand;
let otherBrand: Brand;
let regulator: { id: string; key: string };
let retailer: { id: string; key: string };
let recycler: { id: string; key: string };
let alice: Owner;
let bob: Owner;
let carol: Owner;

const DAY = 86_400_000;
const sql = <R = Record<string, unknown>>(text: string, params: unknown[] = []) => rawQuery<R>(s.db.orm.em.fork() as EntityManager, text, params);

beforeAll(async () => {
  s = await startTestServer();
  brand = await brandWithModel(s, { prefix: '0614141', item: '99001', warrantyMonths: 24, authorisedMarkets: ['DE', 'FR'] });
  otherBrand = await brandWithModel(s, { prefix: '0700000', item: '99002' });
  regulator = await s.org('REGULATOR');
  retailer = await s.org('RETAILER');
  recycler = await s.org('RECYCLER');
  alice = await registerOwner(s, undefined, 'Alice Example');
  bob = await registerOwner(s, undefined, 'Bob Example');
  carol = await registerOwner(s, undefined, 'Carol Example');
});
afterAll(async () => {
  await s?.stop();
});

/** A unit sold `soldDaysAgo` days ago and owned by `owner` for `ownedDays` days. */
async function owned(owner: Owner, opts: { soldDaysAgo?: number; ownedDays?: number; of?: Brand } = {}): Promise<Unit> {
  const [unit] = await (opts.of ?? brand).mint(1);
  await sell(s, unit!.id, new Date(Date.now() - (opts.soldDaysAgo ?? 100) * DAY));
  await claimUnit(s, owner, unit!);
  await sql(`update ownership set started_at = $2 where passport_id = $1 and ended_at is null`, [unit!.id, new Date(Date.now() - (opts.ownedDays ?? 90) * DAY).toISOString()]);
  return unit!;
}

async function file(owner: Owner, passportId: string, issue = 'The battery drains within an hour') {
  const { assertion } = await assertionFor(s, owner, 'WARRANTY_CLAIM', passportId);
  return s.gql(FileWarrantyClaimDocument, { input: { passportId, issue }, assertion }, owner.token);
}

async function filed(owner: Owner, passportId: string, issue?: string) {
  const r = await file(owner, passportId, issue);
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  return r.data!.fileWarrantyClaim;
}

async function warrantyAlerts(key: string) {
  const r = await s.gql<{ fraudAlerts: { edges: { node: { kind: string; severity: string; passportId: string; evidence: Record<string, unknown> } }[] } }>(
    '{ fraudAlerts(filter: { kind: WARRANTY_FRAUD_RISK }) { edges { node { kind severity passportId evidence } } } }',
    {},
    key,
  );
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  return r.data!.fraudAlerts.edges.map((e) => e.node);
}

async function history(passportId: string) {
  const r = await s.gql<{ passport: { history: { edges: { node: { type: string; actorId: string | null; payload: Record<string, unknown> } }[] } } }>(
    'query($id: ID!) { passport(id: $id) { history { edges { node { type actorId payload } } } } }',
    { id: passportId },
    brand.key,
  );
  return r.data!.passport.history.edges.map((e) => e.node);
}

async function scan(unit: Unit, where: { latitude: number; longitude: number; country: string }, minutesAgo: number) {
  const at = new Date(Date.now() - minutesAgo * 60_000).toISOString();
  const r = await s.gql('mutation($i: ScanInput!) { verifyScan(input: $i) { verdict } }', { i: { gtin: brand.gtin, serial: unit.serial, ...where, at } }, retailer.key);
  if (r.errors) throw new Error(JSON.stringify(r.errors));
}

describe('filing a claim', () => {
  it('files a clean claim: score 0, OPEN, a WARRANTY_CLAIMED event carrying only the claim id, no alert', async () => {
    const unit = await owned(alice);
    const claim = await filed(alice, unit.id, 'The battery drains within an hour');
    expect(claim).toMatchObject({ passportId: unit.id, status: 'OPEN', riskScore: 0, reasons: [], issue: 'The battery drains within an hour', signals: null });
    const last = (await history(unit.id)).at(-1);
    expect(last).toEqual({ type: 'WARRANTY_CLAIMED', actorId: null, payload: { claimId: claim.id } });
    expect(await warrantyAlerts(brand.key)).toEqual([]);

    const mine = await s.gql(MyWarrantyClaimsDocument, {}, alice.token);
    expect(mine.data!.myWarrantyClaims.map((c) => c.id)).toContain(claim.id);
    const onUnit = await s.gql<{ passport: { warrantyClaims: { id: string }[] } }>('query($id: ID!) { passport(id: $id) { warrantyClaims { id } } }', { id: unit.id }, alice.token);
    expect(onUnit.data!.passport.warrantyClaims).toEqual([{ id: claim.id }]);
  });

  it('scores a claim right after registering ownership, outside the warranty, high and raises WARRANTY_FRAUD_RISK (MEDIUM) through the outbox', async () => {
    const unit = await owned(bob, { soldDaysAgo: 3 * 365, ownedDays: 2 });
    const claim = await filed(bob, unit.id);
    expect(claim.reasons).toEqual(['RECENT_OWNERSHIP', 'OUTSIDE_WARRANTY']);
    expect(claim.riskScore).toBe(55);
    expect(claim.riskScore).toBeGreaterThanOrEqual(WARRANTY_RISK_THRESHOLD);

    const alerts = (await warrantyAlerts(brand.key)).filter((a) => a.passportId === unit.id);
    expect(alerts).toEqual([{ kind: 'WARRANTY_FRAUD_RISK', severity: 'MEDIUM', passportId: unit.id, evidence: { claimId: claim.id, riskScore: 55, reasons: ['RECENT_OWNERSHIP', 'OUTSIDE_WARRANTY'] } }]);
    expect(JSON.stringify(alerts)).not.toContain(bob.ownerId);
    expect(await warrantyAlerts(otherBrand.key)).toEqual([]);

    // Durable first, published second: the relay marks the alert's outbox row published.
    const deadline = Date.now() + 5000;
    let rows: { published: boolean }[] = [];
    while (Date.now() < deadline) {
      rows = await sql<{ published: boolean }>(
        `select o.published_at is not null as published from outbox_message o join fraud_alert a on a.id = (o.payload->>'alertId')::uuid where a.passport_id = $1`,
        [unit.id],
      );
      if (rows.length && rows.every((r) => r.published)) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(rows).toEqual([{ published: true }]);
  });

  it('weighs open HIGH alerts, scans outside the markets, earlier and repeated claims', async () => {
    const unit = await owned(alice);
    await scan(unit, { latitude: 52.52, longitude: 13.4, country: 'DE' }, 60);
    await scan(unit, { latitude: 40.71, longitude: -74.0, country: 'US' }, 30); // Berlin → New York in 30 minutes
    const first = await filed(alice, unit.id, 'Screen flickers');
    expect(first.reasons).toEqual(['OPEN_HIGH_ALERTS', 'SCANS_OUTSIDE_MARKETS']);
    expect(first.riskScore).toBe(40);
    expect(first.signals).toBeNull();

    // The same issue again once the first is decided (one OPEN claim per unit and issue).
    expect((await s.gql(DecideWarrantyClaimDocument, { id: first.id, decision: 'REJECTED' }, brand.key)).errors).toBeUndefined();
    const second = await filed(alice, unit.id, 'screen   FLICKERS!');
    expect(second.reasons).toEqual(['OPEN_HIGH_ALERTS', 'SCANS_OUTSIDE_MARKETS', 'EARLIER_CLAIMS', 'REPEATED_ISSUE']);
    expect(second.riskScore).toBe(75);

    // The same issue from the same claimant on another unit.
    const other = await owned(alice);
    const third = await filed(alice, other.id, 'Screen flickers.');
    expect(third.reasons).toEqual(['REPEATED_ISSUE']);

    const listed = await s.gql(WarrantyClaimsDocument, { filter: { passportId: unit.id } }, brand.key);
    expect(listed.data!.warrantyClaims.edges.map((e) => e.node.signals)).toEqual([
      [
        { code: 'OPEN_HIGH_ALERTS', weight: 25, detail: { count: 1, critical: 0 } },
        { code: 'SCANS_OUTSIDE_MARKETS', weight: 15, detail: { countries: ['US'], markets: ['DE', 'FR'] } },
      ],
      expect.any(Array),
    ]);
  });

  it('keeps and scores a claim on an end-of-life unit (no history event: the unit takes none)', async () => {
    const unit = await owned(carol);
    const eol = await s.gql('mutation($id: ID!) { declareEndOfLife(passportId: $id, reason: "worn out") { status } }', { id: unit.id }, recycler.key);
    expect(eol.errors).toBeUndefined();
    const claim = await filed(carol, unit.id, 'Does not turn on');
    expect(claim.reasons).toEqual(['END_OF_LIFE']);
    expect(claim.riskScore).toBe(40);
    expect((await history(unit.id)).at(-1)!.type).toBe('END_OF_LIFE');
    expect(await sql('select event_seq from warranty_claim where id = $1', [claim.id])).toEqual([{ event_seq: null }]);
  });

  it('flags units whose signing key was revoked', async () => {
    const keyed = await brandWithModel(s, { prefix: '0800000', item: '99003' });
    const unit = await owned(carol, { of: keyed });
    const keys = await s.gql<{ signingKeys: { kid: string }[] }>('{ signingKeys { kid } }', {}, keyed.key);
    const revoke = await s.gql('mutation($k: ID!) { revokeSigningKey(kid: $k, reason: "leaked") { status } }', { k: keys.data!.signingKeys[0]!.kid }, keyed.key);
    expect(revoke.errors).toBeUndefined();
    const claim = await filed(carol, unit.id);
    expect(claim.reasons).toEqual(['REVOKED']);
  });

  it('refuses a former owner, a stranger, an assertion for another unit, a replay and bad input, writing nothing', async () => {
    const unit = await owned(alice);
    await transferUnit(s, alice, bob, unit.id);
    const count = async () => (await sql<{ n: number }>('select count(*)::int as n from warranty_claim where passport_id = $1', [unit.id]))[0]!.n;

    const former = await file(alice, unit.id);
    expect([codeOf(former), reasonOf(former)]).toEqual(['FORBIDDEN', 'NOT_THE_OWNER']);
    expect(reasonOf(await file(carol, unit.id))).toBe('NOT_THE_OWNER');

    const elsewhere = await owned(bob);
    const { assertion } = await assertionFor(s, bob, 'WARRANTY_CLAIM', elsewhere.id);
    const crossed = await s.gql(FileWarrantyClaimDocument, { input: { passportId: unit.id, issue: 'Broken' }, assertion }, bob.token);
    expect(reasonOf(crossed)).toBe('WRONG_PASSPORT');
    expect(codeOf(await file(bob, unit.id, '   '))).toBe('BAD_USER_INPUT');
    expect(codeOf(await file(bob, unit.id, 'x'.repeat(2001)))).toBe('BAD_USER_INPUT');
    expect(await count()).toBe(0);

    const good = await assertionFor(s, bob, 'WARRANTY_CLAIM', unit.id);
    expect((await s.gql(FileWarrantyClaimDocument, { input: { passportId: unit.id, issue: 'Broken' }, assertion: good.assertion }, bob.token)).errors).toBeUndefined();
    const replay = await s.gql(FileWarrantyClaimDocument, { input: { passportId: unit.id, issue: 'Broken' }, assertion: good.assertion }, bob.token);
    expect(reasonOf(replay)).toBe('CHALLENGE_NOT_FOUND');
    expect(await count()).toBe(1);

    const input = { passportId: unit.id, issue: 'Broken' };
    expect(codeOf(await s.gql(FileWarrantyClaimDocument, { input, assertion: good.assertion }))).toBe('UNAUTHENTICATED');
    expect(codeOf(await s.gql(FileWarrantyClaimDocument, { input, assertion: good.assertion }, brand.key))).toBe('FORBIDDEN');
  });
});

describe('brands decide claims', () => {
  let unit: Unit;
  let claimId: string;
  beforeAll(async () => {
    unit = await owned(alice);
    claimId = (await filed(alice, unit.id, 'Hinge cracked')).id;
  });

  it('lists its own claims with signals, filtered and paged; another brand sees none', async () => {
    const all = await s.gql(WarrantyClaimsDocument, {}, brand.key);
    expect(all.errors).toBeUndefined();
    const ids = all.data!.warrantyClaims.edges.map((e) => e.node.id);
    expect(ids).toContain(claimId);
    expect(ids).toEqual([...ids].sort());

    const page = await s.gql(WarrantyClaimsDocument, { first: 1 }, brand.key);
    expect(page.data!.warrantyClaims.pageInfo.hasNextPage).toBe(true);
    const next = await s.gql(WarrantyClaimsDocument, { first: 1, after: page.data!.warrantyClaims.pageInfo.endCursor }, brand.key);
    expect(next.data!.warrantyClaims.edges[0]!.node.id).toBe(ids[1]);

    const risky = await s.gql(WarrantyClaimsDocument, { filter: { minRiskScore: 50 } }, brand.key);
    expect(risky.data!.warrantyClaims.edges.every((e) => e.node.riskScore >= 50)).toBe(true);
    expect(risky.data!.warrantyClaims.edges.length).toBeGreaterThan(0);
    const byUnit = await s.gql(WarrantyClaimsDocument, { filter: { passportId: unit.id, status: 'OPEN' } }, brand.key);
    expect(byUnit.data!.warrantyClaims.edges.map((e) => [e.node.id, e.node.signals])).toEqual([[claimId, []]]);

    expect((await s.gql(WarrantyClaimsDocument, {}, otherBrand.key)).data!.warrantyClaims.edges).toEqual([]);
  });

  it('approves or rejects once; other brands, owners and other organisations may not', async () => {
    expect(codeOf(await s.gql(DecideWarrantyClaimDocument, { id: claimId, decision: 'APPROVED' }, otherBrand.key))).toBe('NOT_FOUND');
    expect(codeOf(await s.gql(DecideWarrantyClaimDocument, { id: claimId, decision: 'APPROVED' }, alice.token))).toBe('FORBIDDEN');
    expect(codeOf(await s.gql(DecideWarrantyClaimDocument, { id: claimId, decision: 'APPROVED' }, regulator.key))).toBe('FORBIDDEN');
    const r = await s.gql(DecideWarrantyClaimDocument, { id: claimId, decision: 'APPROVED', note: 'Replacement hinge sent' }, brand.key);
    expect(r.errors).toBeUndefined();
    expect(r.data!.decideWarrantyClaim).toMatchObject({ id: claimId, status: 'APPROVED', decisionNote: 'Replacement hinge sent', decidedAt: expect.any(String) });
    const again = await s.gql(DecideWarrantyClaimDocument, { id: claimId, decision: 'REJECTED' }, brand.key);
    expect([codeOf(again), reasonOf(again)]).toEqual(['CONFLICT', 'ALREADY_DECIDED']);
    const mine = await s.gql(MyWarrantyClaimsDocument, {}, alice.token);
    expect(mine.data!.myWarrantyClaims.find((c) => c.id === claimId)).toMatchObject({ status: 'APPROVED', signals: null });
  });

  it('shows the claims list to brands only, and a unit\'s claims to its brand and its current owner', async () => {
    for (const [key, code] of [[alice.token, 'FORBIDDEN'], [regulator.key, 'FORBIDDEN'], [retailer.key, 'FORBIDDEN'], [undefined, 'UNAUTHENTICATED']] as const) {
      expect(codeOf(await s.gql(WarrantyClaimsDocument, {}, key))).toBe(code);
    }
    const query = 'query($id: ID!) { passport(id: $id) { id warrantyClaims { id status } } }';
    expect((await s.gql<{ passport: { warrantyClaims: { id: string }[] } }>(query, { id: unit.id }, brand.key)).data!.passport.warrantyClaims.map((c) => c.id)).toEqual([claimId]);
    for (const key of [regulator.key, otherBrand.key, bob.token, undefined]) {
      const r = await s.gql(query, { id: unit.id }, key);
      expect([r.data?.passport, codeOf(r)]).toEqual([null, 'FORBIDDEN']);
    }
    // After a transfer the new owner sees only their own claims on the unit; the brand still sees all.
    await transferUnit(s, alice, carol, unit.id);
    expect((await s.gql<{ passport: { warrantyClaims: unknown[] } }>(query, { id: unit.id }, carol.token)).data!.passport.warrantyClaims).toEqual([]);
    expect(codeOf(await s.gql(query, { id: unit.id }, alice.token))).toBe('FORBIDDEN');
  });
});

describe('one open claim per unit and issue', () => {
  const fileWith = (owner: Owner, passportId: string, issue: string, assertion: unknown) =>
    s.gql(FileWarrantyClaimDocument, { input: { passportId, issue }, assertion }, owner.token);
  const conflictOf = (r: Awaited<ReturnType<typeof file>>) => [codeOf(r), reasonOf(r), r.errors?.[0]?.extensions?.claimId];

  it('accepts one of twenty concurrent claims; nineteen get CONFLICT naming it, writing nothing; decided, the issue may be filed again', async () => {
    // An authenticator that never counts, so twenty assertions verify in whatever order the server takes them.
    const dave = await registerOwner(s, authenticator(s, { counterStep: 0 }), 'Dave Example');
    const unit = await owned(dave);
    const assertions: unknown[] = [];
    for (let i = 0; i < 20; i++) assertions.push((await assertionFor(s, dave, 'WARRANTY_CLAIM', unit.id)).assertion);
    const results = await Promise.all(assertions.map((a) => fileWith(dave, unit.id, 'Fan rattles', a)));
    const accepted = results.filter((r) => !r.errors);
    expect(accepted).toHaveLength(1);
    const openId = accepted[0]!.data!.fileWarrantyClaim.id;
    expect(results.filter((r) => r.errors).map(conflictOf)).toEqual(Array.from({ length: 19 }, () => ['CONFLICT', 'OPEN_CLAIM_EXISTS', openId]));
    expect(await sql('select count(*)::int as n from warranty_claim where passport_id = $1', [unit.id])).toEqual([{ n: 1 }]);
    expect((await history(unit.id)).filter((e) => e.type === 'WARRANTY_CLAIMED')).toHaveLength(1);

    // The same issue written differently is the same issue; another issue may be open beside it.
    expect(conflictOf(await file(dave, unit.id, '  fan RATTLES.'))).toEqual(['CONFLICT', 'OPEN_CLAIM_EXISTS', openId]);
    expect((await filed(dave, unit.id, 'Display has dead pixels')).status).toBe('OPEN');

    // Once the brand decides, a new claim for the issue may be filed, and is scored as a repeat.
    expect((await s.gql(DecideWarrantyClaimDocument, { id: openId, decision: 'APPROVED' }, brand.key)).errors).toBeUndefined();
    const again = await filed(dave, unit.id, 'Fan rattles');
    expect(again).toMatchObject({ status: 'OPEN', reasons: expect.arrayContaining(['EARLIER_CLAIMS', 'REPEATED_ISSUE']) });
    expect(again.id).not.toBe(openId);
    expect(conflictOf(await file(dave, unit.id, 'Fan rattles'))).toEqual(['CONFLICT', 'OPEN_CLAIM_EXISTS', again.id]);
  });

  it('answers bad input with BAD_USER_INPUT or NOT_FOUND, not CONFLICT, while a claim is open, writing nothing', async () => {
    const unit = await owned(carol);
    const open = await filed(carol, unit.id, 'Strap snapped');
    const count = async () => (await sql<{ n: number }>('select count(*)::int as n from warranty_claim where passport_id = $1', [unit.id]))[0]!.n;
    for (const issue of ['', '   ', 'x'.repeat(2001), 'Strap\u0007snapped']) {
      const r = await file(carol, unit.id, issue);
      expect([codeOf(r), r.errors?.[0]?.extensions?.field]).toEqual(['BAD_USER_INPUT', 'input.issue']);
      expect(JSON.stringify(r.errors)).not.toMatch(/\bat .*\.(ts|js):\d+/);
    }
    const { assertion } = await assertionFor(s, carol, 'WARRANTY_CLAIM', unit.id);
    expect(codeOf(await fileWith(carol, 'not-a-passport', 'Strap snapped', assertion))).toBe('NOT_FOUND');
    expect(codeOf(await fileWith(carol, unit.id, 'Strap snapped', { nonsense: true }))).toBe('BAD_USER_INPUT');
    expect(await count()).toBe(1);
    expect(conflictOf(await fileWith(carol, unit.id, 'Strap snapped', assertion))).toEqual(['CONFLICT', 'OPEN_CLAIM_EXISTS', open.id]);
    expect(await count()).toBe(1);
  });
});
