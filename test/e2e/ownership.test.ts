import type { EntityManager } from '@mikro-orm/postgresql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawQuery } from '../../src/db/raw.js';
import { CLAIM_CODE_ATTEMPTS_PER_HOUR } from '../../src/modules/ownership/ownership.service.js';
import {
  AcceptOwnershipTransferDocument,
  BeginPasskeyAuthenticationDocument,
  CancelOwnershipTransferDocument,
  ClaimOwnershipDocument,
  MeOwnerDocument,
  MyPassportsDocument,
  OfferOwnershipTransferDocument,
  PassportOwnerViewDocument,
  PassportOwnershipDocument,
} from '../documents/ownership.js';
import { assertionFor, brandWithModel, codeOf, type Owner, reasonOf, registerOwner, sell } from '../support/owners.js';
import { startTestServer, type TestServer } from '../support/server.js';
import type { Overrides } from '../support/soft-authenticator.js';

type Unit = { id: string; claimCode: string };

let s: TestServer;
let brand: Awaited<ReturnType<typeof brandWithModel>>;
let otherBrand: { id: string; key: string };
let regulator: { id: string; key: string };
let retailer: { id: string; key: string };
let alice: Owner;
let bob: Owner;
let carol: Owner;

const sql = <R = Record<string, unknown>>(text: string, params: unknown[] = []) => rawQuery<R>(s.db.orm.em.fork() as EntityManager, text, params);

beforeAll(async () => {
  s = await startTestServer();
  brand = await brandWithModel(s, { prefix: '0614141', item: '88001' });
  otherBrand = await s.org('BRAND', { gs1CompanyPrefixes: ['0700000'] });
  regulator = await s.org('REGULATOR');
  retailer = await s.org('RETAILER');
  alice = await registerOwner(s, undefined, 'Alice Example');
  bob = await registerOwner(s, undefined, 'Bob Example');
  carol = await registerOwner(s, undefined, 'Carol Example');
});
afterAll(async () => {
  await s?.stop();
});

async function soldUnit(): Promise<Unit> {
  const [unit] = await brand.mint(1);
  await sell(s, unit!.id);
  return unit!;
}

async function claim(owner: Owner, unit: Unit, code = unit.claimCode, o: Overrides = {}) {
  const { assertion } = await assertionFor(s, owner, 'CLAIM_OWNERSHIP', unit.id, o);
  return s.gql(ClaimOwnershipDocument, { passportId: unit.id, claimCode: code, assertion }, owner.token);
}

async function ownedBy(owner: Owner): Promise<Unit> {
  const unit = await soldUnit();
  const r = await claim(owner, unit);
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  return unit;
}

async function offer(owner: Owner, passportId: string) {
  const { assertion } = await assertionFor(s, owner, 'OFFER_TRANSFER', passportId);
  return s.gql(OfferOwnershipTransferDocument, { passportId, assertion }, owner.token);
}

async function offerCode(owner: Owner, passportId: string): Promise<string> {
  const r = await offer(owner, passportId);
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  return r.data!.offerOwnershipTransfer.code;
}

async function accept(owner: Owner, code: string, passportId: string, o: Overrides = {}) {
  const { assertion } = await assertionFor(s, owner, 'ACCEPT_TRANSFER', passportId, o);
  return s.gql(AcceptOwnershipTransferDocument, { code, assertion }, owner.token);
}

async function history(passportId: string, key = brand.key) {
  const r = await s.gql<{ passport: { history: { edges: { node: { seq: number; type: string; actorId: string | null; payload: Record<string, unknown> } }[] } } }>(
    'query($id: ID!) { passport(id: $id) { history { edges { node { seq type actorId payload } } } } }',
    { id: passportId },
    key,
  );
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  return r.data!.passport.history.edges.map((e) => e.node);
}

async function status(id: string): Promise<string> {
  const [row] = await sql<{ status: string }>('select status from passport where id = $1', [id]);
  return row!.status;
}

const openOwnerships = (id: string) => sql<{ owner_id: string }>('select owner_id from ownership where passport_id = $1 and ended_at is null', [id]);

describe('claiming a unit', () => {
  it('claims a sold unit with its claim code (typed loosely) and a CLAIM_OWNERSHIP assertion; the history names no one', async () => {
    const unit = await soldUnit();
    const r = await claim(alice, unit, unit.claimCode.toLowerCase().replace(/-/g, ' '));
    expect(r.errors).toBeUndefined();
    expect(r.data!.claimOwnership).toMatchObject({ passportId: unit.id, ownerId: alice.ownerId, until: null, acquiredVia: 'CLAIM' });
    expect(await status(unit.id)).toBe('OWNED');

    const events = await history(unit.id);
    expect(events.at(-1)).toEqual({ seq: events.length, type: 'OWNERSHIP_CLAIMED', actorId: null, payload: { via: 'CLAIM_CODE' } });
    const text = JSON.stringify(events);
    for (const personal of [alice.ownerId, 'Alice', unit.claimCode]) expect(text).not.toContain(personal);

    const mine = await s.gql(MyPassportsDocument, {}, alice.token);
    expect(mine.errors).toBeUndefined();
    const listed = mine.data!.myPassports.find((p) => p.id === unit.id)!;
    expect(listed).toMatchObject({ status: 'OWNED', currentOwnership: { ownerId: alice.ownerId }, warrantyClaims: [] });
    expect(listed.history.edges.map((e) => e.node.type)).toEqual(['MINTED', 'SIGNED', 'CUSTODY', 'OWNERSHIP_CLAIMED']);
  });

  it('refuses a unit that is not sold yet (CONFLICT), writing nothing', async () => {
    const [unit] = await brand.mint(1);
    const r = await claim(alice, unit!);
    expect([codeOf(r), reasonOf(r)]).toEqual(['CONFLICT', 'NOT_SOLD']);
    expect(await status(unit!.id)).toBe('SIGNED');
    expect(await openOwnerships(unit!.id)).toEqual([]);
  });

  it('refuses a second claim of an owned unit, even with the right code', async () => {
    const unit = await ownedBy(alice);
    for (const who of [bob, alice]) {
      const r = await claim(who, unit);
      expect([codeOf(r), reasonOf(r)]).toEqual(['CONFLICT', 'ALREADY_OWNED']);
    }
    expect(await openOwnerships(unit.id)).toEqual([{ owner_id: alice.ownerId }]);
  });

  it('lets exactly one of two owners claiming at once win', async () => {
    const unit = await soldUnit();
    const [a, b] = [await assertionFor(s, alice, 'CLAIM_OWNERSHIP', unit.id), await assertionFor(s, bob, 'CLAIM_OWNERSHIP', unit.id)];
    const results = await Promise.all([
      s.gql(ClaimOwnershipDocument, { passportId: unit.id, claimCode: unit.claimCode, assertion: a.assertion }, alice.token),
      s.gql(ClaimOwnershipDocument, { passportId: unit.id, claimCode: unit.claimCode, assertion: b.assertion }, bob.token),
    ]);
    expect(results.filter((r) => !r.errors)).toHaveLength(1);
    expect(results.filter((r) => reasonOf(r) === 'ALREADY_OWNED')).toHaveLength(1);
    expect(await openOwnerships(unit.id)).toHaveLength(1);
    expect((await history(unit.id)).filter((e) => e.type === 'OWNERSHIP_CLAIMED')).toHaveLength(1);
  });

  it('refuses assertions for another act, another unit, another account or another session, and stale or unverified ones', async () => {
    const unit = await soldUnit();
    const other = await soldUnit();
    const send = (assertion: unknown, token = alice.token) => s.gql(ClaimOwnershipDocument, { passportId: unit.id, claimCode: unit.claimCode, assertion }, token);

    const wrongAct = await send((await assertionFor(s, alice, 'OFFER_TRANSFER', unit.id)).assertion);
    expect([codeOf(wrongAct), reasonOf(wrongAct)]).toEqual(['UNAUTHENTICATED', 'WRONG_PURPOSE']);
    expect(reasonOf(await send((await assertionFor(s, alice, 'WARRANTY_CLAIM', unit.id)).assertion))).toBe('WRONG_PURPOSE');
    expect(reasonOf(await send((await assertionFor(s, alice, 'CLAIM_OWNERSHIP', other.id)).assertion))).toBe('WRONG_PASSPORT');

    // A challenge issued to Alice, answered with Bob's passkey: valid WebAuthn, wrong account.
    const begin = await s.gql(BeginPasskeyAuthenticationDocument, { purpose: 'CLAIM_OWNERSHIP', passportId: unit.id }, alice.token);
    const foreign = bob.auth.get(begin.data!.beginPasskeyAuthentication.options as never, { credentialId: bob.auth.credentials[0]!.id.toString('base64url') });
    const r = await send(foreign);
    expect([codeOf(r), reasonOf(r)]).toEqual(['FORBIDDEN', 'CREDENTIAL_OF_ANOTHER_OWNER']);
    // Bob's own challenge and assertion, sent from Alice's session.
    expect(reasonOf(await send((await assertionFor(s, bob, 'CLAIM_OWNERSHIP', unit.id)).assertion))).toBe('WRONG_SESSION');

    const expired = await assertionFor(s, alice, 'CLAIM_OWNERSHIP', unit.id);
    await sql(`update webauthn_challenge set expires_at = now() - interval '1 second' where id = $1`, [expired.sessionId]);
    expect(reasonOf(await send(expired.assertion))).toBe('CHALLENGE_EXPIRED');
    expect(reasonOf(await send((await assertionFor(s, alice, 'CLAIM_OWNERSHIP', unit.id, { uv: false })).assertion))).toBe('USER_VERIFICATION_REQUIRED');
    expect(reasonOf(await send((await assertionFor(s, alice, 'CLAIM_OWNERSHIP', unit.id, { origin: 'https://phish.example' })).assertion))).toBe('WRONG_ORIGIN');
    expect(reasonOf(await send((await assertionFor(s, alice, 'CLAIM_OWNERSHIP', unit.id, { rpId: 'phish.example' })).assertion))).toBe('WRONG_RP_ID');

    expect(await status(unit.id)).toBe('SOLD');
    expect(await openOwnerships(unit.id)).toEqual([]);

    const good = await assertionFor(s, alice, 'CLAIM_OWNERSHIP', unit.id);
    expect((await send(good.assertion)).errors).toBeUndefined();
    const replay = await send(good.assertion);
    expect([codeOf(replay), reasonOf(replay)]).toEqual(['UNAUTHENTICATED', 'CHALLENGE_NOT_FOUND']);
  });

  it(`answers the ${CLAIM_CODE_ATTEMPTS_PER_HOUR}th wrong claim code for a unit within an hour RATE_LIMITED, and every attempt after it`, async () => {
    const unit = await soldUnit();
    for (let i = 1; i < CLAIM_CODE_ATTEMPTS_PER_HOUR; i++) {
      const r = await claim(alice, unit, 'AAAA-BBBB-CCCC-DDDD');
      expect([codeOf(r), reasonOf(r), r.errors?.[0]?.extensions?.attemptsLeft]).toEqual(['BAD_USER_INPUT', 'WRONG_CLAIM_CODE', CLAIM_CODE_ATTEMPTS_PER_HOUR - i]);
    }
    const tenth = await claim(bob, unit, 'AAAA-BBBB-CCCC-DDDE');
    expect(codeOf(tenth)).toBe('RATE_LIMITED');
    expect(tenth.errors?.[0]?.extensions?.retryAfterSeconds).toBeGreaterThan(3000);
    const right = await claim(alice, unit);
    expect(codeOf(right)).toBe('RATE_LIMITED');
    expect(await openOwnerships(unit.id)).toEqual([]);

    // Per unit: another unit is claimed as usual.
    const next = await soldUnit();
    expect((await claim(alice, next)).errors).toBeUndefined();
  });

  it('lets no more than the budget of guesses be compared when they arrive at once', async () => {
    const unit = await soldUnit();
    const prepared = [];
    for (let i = 0; i < CLAIM_CODE_ATTEMPTS_PER_HOUR + 2; i++) prepared.push(await assertionFor(s, carol, 'CLAIM_OWNERSHIP', unit.id));
    const results = await Promise.all(prepared.map((p, i) => s.gql(ClaimOwnershipDocument, { passportId: unit.id, claimCode: `ZZZZ-ZZZZ-ZZZZ-${String(i).padStart(4, '0')}`, assertion: p.assertion }, carol.token)));
    expect(results.filter((r) => reasonOf(r) === 'WRONG_CLAIM_CODE')).toHaveLength(CLAIM_CODE_ATTEMPTS_PER_HOUR - 1);
    expect(results.filter((r) => codeOf(r) === 'RATE_LIMITED')).toHaveLength(3);
  });

  it('does not count refused requests that never compared a code, and refuses bad input and the wrong callers', async () => {
    const unit = await soldUnit();
    for (let i = 0; i < CLAIM_CODE_ATTEMPTS_PER_HOUR + 2; i++) {
      const r = await claim(alice, unit, unit.claimCode, { uv: false });
      expect(reasonOf(r)).toBe('USER_VERIFICATION_REQUIRED');
    }
    const { assertion } = await assertionFor(s, alice, 'CLAIM_OWNERSHIP', unit.id);
    expect(codeOf(await s.gql(ClaimOwnershipDocument, { passportId: unit.id, claimCode: '', assertion }, alice.token))).toBe('BAD_USER_INPUT');
    expect(codeOf(await s.gql(ClaimOwnershipDocument, { passportId: unit.id, claimCode: unit.claimCode, assertion: { id: 'x' } }, alice.token))).toBe('BAD_USER_INPUT');
    expect(codeOf(await s.gql(ClaimOwnershipDocument, { passportId: 'not-an-id', claimCode: unit.claimCode, assertion }, alice.token))).toBe('NOT_FOUND');
    expect(codeOf(await s.gql(ClaimOwnershipDocument, { passportId: unit.id, claimCode: unit.claimCode, assertion }))).toBe('UNAUTHENTICATED');
    expect(codeOf(await s.gql(ClaimOwnershipDocument, { passportId: unit.id, claimCode: unit.claimCode, assertion }, brand.key))).toBe('FORBIDDEN');
    expect((await s.gql(ClaimOwnershipDocument, { passportId: unit.id, claimCode: unit.claimCode, assertion }, alice.token)).errors).toBeUndefined();
  });
});

describe('transfers', () => {
  it('offers, accepts, and takes every right from the former owner at once; each step is a history event naming no one', async () => {
    const unit = await ownedBy(alice);
    const r = await offer(alice, unit.id);
    expect(r.errors).toBeUndefined();
    const { code, expiresAt, passportId } = r.data!.offerOwnershipTransfer;
    expect(passportId).toBe(unit.id);
    expect(code).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$/);
    expect(new Date(expiresAt as string).getTime() - Date.now()).toBeGreaterThan(3 * 86_400_000 - 60_000);
    expect(JSON.stringify(await sql('select * from transfer_offer where passport_id = $1', [unit.id]))).not.toContain(code);

    const accepted = await accept(bob, code.toLowerCase(), unit.id);
    expect(accepted.errors).toBeUndefined();
    expect(accepted.data!.acceptOwnershipTransfer).toMatchObject({ passportId: unit.id, ownerId: bob.ownerId, acquiredVia: 'TRANSFER' });
    expect(await status(unit.id)).toBe('OWNED');
    expect(await openOwnerships(unit.id)).toEqual([{ owner_id: bob.ownerId }]);

    // Alice: no offer, no history, no ownership view, gone from her passports; her own record keeps the period.
    const again = await offer(alice, unit.id);
    expect([codeOf(again), reasonOf(again)]).toEqual(['FORBIDDEN', 'NOT_THE_OWNER']);
    expect(codeOf(await s.gql(CancelOwnershipTransferDocument, { passportId: unit.id }, alice.token))).toBe('FORBIDDEN');
    for (const field of ['site', 'history { edges { cursor } }', 'warrantyClaims { id }', 'currentOwnership { since }']) {
      const r = await s.gql(`query($id: ID!) { passport(id: $id) { id ${field} } }`, { id: unit.id }, alice.token);
      expect([field, codeOf(r)]).toEqual([field, 'FORBIDDEN']);
    }
    expect(codeOf(await s.gql(PassportOwnershipDocument, { id: unit.id }, alice.token))).toBe('FORBIDDEN');
    expect((await s.gql(MyPassportsDocument, {}, alice.token)).data!.myPassports.map((p) => p.id)).not.toContain(unit.id);
    const record = (await s.gql(MeOwnerDocument, {}, alice.token)).data!.me.owner!.ownerships.find((o) => o.passportId === unit.id)!;
    expect(record).toMatchObject({ ownerId: alice.ownerId, acquiredVia: 'CLAIM', until: expect.any(String) });

    // Bob: the history, one chain.
    const bobView = await s.gql(PassportOwnerViewDocument, { id: unit.id }, bob.token);
    expect(bobView.errors).toBeUndefined();
    const events = bobView.data!.passport!.history.edges.map((e) => e.node);
    const steps = events.filter((e) => e.type === 'OWNERSHIP_TRANSFERRED');
    expect(steps.map((e) => [e.actorId, (e.payload as { step: string }).step])).toEqual([
      [null, 'OFFERED'],
      [null, 'ACCEPTED'],
    ]);
    const text = JSON.stringify(events);
    for (const personal of [alice.ownerId, bob.ownerId, 'Alice', 'Bob', code]) expect(text).not.toContain(personal);
    const verified = await s.gql<{ verifyHistory: { valid: boolean } }>('query($id: ID!) { verifyHistory(passportId: $id) { valid } }', { id: unit.id }, brand.key);
    expect(verified.data!.verifyHistory.valid).toBe(true);
  });

  it('refuses an accept after the offer was cancelled, and cancelling twice', async () => {
    const unit = await ownedBy(alice);
    const code = await offerCode(alice, unit.id);
    expect(codeOf(await s.gql(CancelOwnershipTransferDocument, { passportId: unit.id }, bob.token))).toBe('FORBIDDEN');
    expect((await s.gql(CancelOwnershipTransferDocument, { passportId: unit.id }, alice.token)).data).toEqual({ cancelOwnershipTransfer: true });
    const r = await accept(bob, code, unit.id);
    expect([codeOf(r), reasonOf(r)]).toEqual(['CONFLICT', 'OFFER_CANCELLED']);
    expect(codeOf(await s.gql(CancelOwnershipTransferDocument, { passportId: unit.id }, alice.token))).toBe('NOT_FOUND');
    expect(await openOwnerships(unit.id)).toEqual([{ owner_id: alice.ownerId }]);
    expect((await history(unit.id)).filter((e) => e.type === 'OWNERSHIP_TRANSFERRED').map((e) => e.payload.step)).toEqual(['OFFERED', 'CANCELLED']);
  });

  it('refuses an accept after the offer expired', async () => {
    const unit = await ownedBy(alice);
    const code = await offerCode(alice, unit.id);
    await sql(`update transfer_offer set expires_at = now() - interval '1 second' where passport_id = $1`, [unit.id]);
    const r = await accept(bob, code, unit.id);
    expect([codeOf(r), reasonOf(r)]).toEqual(['CONFLICT', 'OFFER_EXPIRED']);
    expect(await openOwnerships(unit.id)).toEqual([{ owner_id: alice.ownerId }]);
  });

  it('lets a newer offer replace the open one, and refuses unknown, own and used codes', async () => {
    const unit = await ownedBy(alice);
    const first = await offerCode(alice, unit.id);
    const second = await offerCode(alice, unit.id);
    expect(reasonOf(await accept(bob, first, unit.id))).toBe('OFFER_CANCELLED');
    expect(codeOf(await accept(bob, 'AAAA-AAAA-AAAA-AAAA', unit.id))).toBe('NOT_FOUND');
    expect(codeOf(await accept(alice, second, unit.id))).toBe('BAD_USER_INPUT');
    expect((await accept(bob, second, unit.id)).errors).toBeUndefined();
    expect(reasonOf(await accept(carol, second, unit.id))).toBe('OFFER_USED');
  });

  it('binds the accept assertion to the unit the offer is for', async () => {
    const unit = await ownedBy(alice);
    const elsewhere = await ownedBy(carol);
    const code = await offerCode(alice, unit.id);
    const r = await accept(bob, code, elsewhere.id);
    expect([codeOf(r), reasonOf(r)]).toEqual(['UNAUTHENTICATED', 'WRONG_PASSPORT']);
    expect(reasonOf(await accept(bob, code, unit.id, { badSignature: true }))).toBe('BAD_SIGNATURE');
    expect((await accept(bob, code, unit.id)).errors).toBeUndefined();
  });

  it('lets exactly one of two accepts at once win; the history stays one chain', async () => {
    const unit = await ownedBy(alice);
    const code = await offerCode(alice, unit.id);
    const [b, c] = [await assertionFor(s, bob, 'ACCEPT_TRANSFER', unit.id), await assertionFor(s, carol, 'ACCEPT_TRANSFER', unit.id)];
    const results = await Promise.all([
      s.gql(AcceptOwnershipTransferDocument, { code, assertion: b.assertion }, bob.token),
      s.gql(AcceptOwnershipTransferDocument, { code, assertion: c.assertion }, carol.token),
    ]);
    expect(results.filter((r) => !r.errors)).toHaveLength(1);
    const loser = results.find((r) => r.errors)!;
    expect([codeOf(loser), reasonOf(loser)]).toEqual(['CONFLICT', 'OFFER_USED']);
    const winner = results.find((r) => !r.errors)!.data!.acceptOwnershipTransfer.ownerId;
    expect(await openOwnerships(unit.id)).toEqual([{ owner_id: winner }]);
    expect((await history(unit.id)).filter((e) => e.payload.step === 'ACCEPTED')).toHaveLength(1);
    const verified = await s.gql<{ verifyHistory: { valid: boolean } }>('query($id: ID!) { verifyHistory(passportId: $id) { valid } }', { id: unit.id }, brand.key);
    expect(verified.data!.verifyHistory.valid).toBe(true);
  });
});

describe('who sees an owner', () => {
  let unit: Unit;
  beforeAll(async () => {
    unit = await ownedBy(alice);
  });

  it('shows the owner identity to the owner and the brand, only the fact and date to authorities', async () => {
    for (const key of [alice.token, brand.key]) {
      const r = await s.gql(PassportOwnershipDocument, { id: unit.id }, key);
      expect(r.errors).toBeUndefined();
      expect(r.data!.passport!.currentOwnership).toMatchObject({ passportId: unit.id, ownerId: alice.ownerId, until: null, acquiredVia: 'CLAIM' });
    }
    const before = await sql<{ n: number }>(`select count(*)::int as n from audit_log where passport_id = $1`, [unit.id]);
    const r = await s.gql(PassportOwnershipDocument, { id: unit.id }, regulator.key);
    expect(r.errors).toBeUndefined();
    expect(r.data!.passport!.currentOwnership).toEqual({ passportId: unit.id, ownerId: null, since: expect.any(String), until: null, acquiredVia: 'CLAIM' });
    expect((await sql<{ n: number }>(`select count(*)::int as n from audit_log where passport_id = $1`, [unit.id]))[0]!.n).toBe(before[0]!.n + 1);
  });

  it('shows nothing of the owner to anyone else: other owners, retailers, other brands, anonymous callers', async () => {
    for (const key of [bob.token, retailer.key, otherBrand.key, undefined]) {
      const r = await s.gql(PassportOwnershipDocument, { id: unit.id }, key);
      expect(r.data!.passport).toMatchObject({ id: unit.id, status: 'OWNED', currentOwnership: null });
      expect(codeOf(r)).toBe('FORBIDDEN');
    }
    for (const key of [bob.token, retailer.key, undefined]) {
      const view = await s.gql(PassportOwnerViewDocument, { id: unit.id }, key);
      // history and warrantyClaims are non-null: refused, they take the passport with them.
      expect(view.data!.passport).toBeNull();
      expect(new Set(view.errors!.map((e) => e.extensions?.code))).toEqual(new Set(['FORBIDDEN']));
    }
    const own = await s.gql(PassportOwnerViewDocument, { id: unit.id }, alice.token);
    expect(own.errors).toBeUndefined();
    expect(own.data!.passport!.history.edges.length).toBeGreaterThan(3);
    // No organisation reaches an Owner object at all.
    expect((await s.gql(MeOwnerDocument, {}, brand.key)).data!.me.owner).toBeNull();
    expect(codeOf(await s.gql(MyPassportsDocument, {}, brand.key))).toBe('FORBIDDEN');
    expect(codeOf(await s.gql(MyPassportsDocument, {}))).toBe('UNAUTHENTICATED');
  });
});
