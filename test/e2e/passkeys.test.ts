import { createHash } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawQuery } from '../../src/db/raw.js';
import { parseAssertion, passkeyService } from '../../src/modules/ownership/passkey.service.js';
import {
  BeginPasskeyAuthenticationDocument,
  BeginPasskeyRegistrationDocument,
  FinishPasskeyAuthenticationDocument,
  FinishPasskeyRegistrationDocument,
  MeOwnerDocument,
  PasskeysDocument,
  RemovePasskeyDocument,
  SignOutDocument,
} from '../documents/ownership.js';
import { authenticator, codeOf, type Owner, reasonOf, registerOwner, signIn } from '../support/owners.js';
import { startTestServer, type TestServer } from '../support/server.js';

let s: TestServer;
let brandKey: string;

const em = () => s.db.orm.em.fork() as EntityManager;
const sql = <R = Record<string, unknown>>(text: string, params: unknown[] = []) => rawQuery<R>(em(), text, params);

beforeAll(async () => {
  s = await startTestServer();
  brandKey = (await s.org('BRAND', { gs1CompanyPrefixes: ['0614141'] })).key;
});
afterAll(async () => {
  await s?.stop();
});

async function beginRegistration(displayName = 'Robin', token?: string) {
  const r = await s.gql(BeginPasskeyRegistrationDocument, { displayName }, token);
  expect(r.errors).toBeUndefined();
  return r.data!.beginPasskeyRegistration as unknown as { sessionId: string; options: never };
}

async function beginSignIn() {
  const r = await s.gql(BeginPasskeyAuthenticationDocument, { purpose: 'SIGN_IN', passportId: null });
  expect(r.errors).toBeUndefined();
  return r.data!.beginPasskeyAuthentication as unknown as { sessionId: string; options: never };
}

describe('registration', () => {
  it('creates an owner account from a passkey and answers a session token (only its hash is stored)', async () => {
    const auth = authenticator(s, { backupEligible: true, backedUp: true });
    const begin = await beginRegistration('Robin Example');
    const options = begin.options as unknown as Record<string, any>;
    expect(options).toMatchObject({
      rp: { id: 'localhost' },
      user: { name: 'Robin Example', displayName: 'Robin Example' },
      attestation: 'none',
      authenticatorSelection: { residentKey: 'required', requireResidentKey: true, userVerification: 'required' },
    });
    expect(options.challenge).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(options.pubKeyCredParams.map((p: { alg: number }) => p.alg)).toEqual([-8, -7, -257]);

    const finish = await s.gql(FinishPasskeyRegistrationDocument, { sessionId: begin.sessionId, response: auth.create(options as never) });
    expect(finish.errors).toBeUndefined();
    const { ownerId, token } = finish.data!.finishPasskeyRegistration;
    expect(token).toMatch(/^dpo_[A-Za-z0-9_-]{43}$/);

    const me = await s.gql(MeOwnerDocument, {}, token);
    expect(me.errors).toBeUndefined();
    expect(me.data!.me).toMatchObject({ kind: 'OWNER', apiKeyId: null, organization: null, owner: { id: ownerId, displayName: 'Robin Example', passports: [], ownerships: [], warrantyClaims: [] } });
    expect(me.data!.me.owner!.passkeys).toEqual([{ id: expect.any(String), name: 'Passkey 1', signCount: 0, backupEligible: true, backedUp: true, transports: ['internal', 'hybrid'] }]);

    const sessions = await sql<{ token_hash: string }>('select token_hash from owner_session where owner_id = $1', [ownerId]);
    expect(sessions).toEqual([{ token_hash: createHash('sha256').update(token).digest('hex') }]);
    const everything = JSON.stringify(await sql('select * from owner_session'));
    expect(everything).not.toContain(token);
  });

  it('accepts Ed25519 passkeys and single-device ones (BE and BS clear)', async () => {
    const owner = await registerOwner(s, authenticator(s, { algorithm: 'EdDSA' }));
    const keys = await s.gql(PasskeysDocument, {}, owner.token);
    expect(keys.data!.passkeys).toMatchObject([{ backupEligible: false, backedUp: false, signCount: 0 }]);
    const again = await signIn(s, owner.auth);
    expect(again.errors).toBeUndefined();
  });

  it.each([
    ['a wrong origin', { origin: 'https://evil.example' }, 'WRONG_ORIGIN'],
    ['a wrong RP ID', { rpId: 'evil.example' }, 'WRONG_RP_ID'],
    ['no user verification', { uv: false }, 'USER_VERIFICATION_REQUIRED'],
    ['no user presence', { up: false }, 'USER_PRESENCE_REQUIRED'],
    ['an authentication ceremony type', { type: 'webauthn.get' }, 'WRONG_CEREMONY'],
    ['another challenge', { challenge: Buffer.alloc(32, 7).toString('base64url') }, 'WRONG_CHALLENGE'],
  ])('refuses a registration with %s (UNAUTHENTICATED), creating nothing', async (_what, overrides, reason) => {
    const before = await sql<{ n: number }>('select count(*)::int as n from owner');
    const begin = await beginRegistration();
    const r = await s.gql(FinishPasskeyRegistrationDocument, { sessionId: begin.sessionId, response: authenticator(s).create(begin.options, overrides) });
    expect(codeOf(r)).toBe('UNAUTHENTICATED');
    expect(reasonOf(r)).toBe(reason);
    expect(await sql('select count(*)::int as n from owner')).toEqual(before);
  });

  it('uses a registration session once, refuses an expired one, and refuses malformed responses as bad input', async () => {
    const auth = authenticator(s);
    const begin = await beginRegistration();
    const response = auth.create(begin.options);
    expect((await s.gql(FinishPasskeyRegistrationDocument, { sessionId: begin.sessionId, response })).errors).toBeUndefined();
    const replay = await s.gql(FinishPasskeyRegistrationDocument, { sessionId: begin.sessionId, response });
    expect([codeOf(replay), reasonOf(replay)]).toEqual(['UNAUTHENTICATED', 'CHALLENGE_NOT_FOUND']);

    const late = await beginRegistration();
    await sql(`update webauthn_challenge set expires_at = now() - interval '1 second' where id = $1`, [late.sessionId]);
    const expired = await s.gql(FinishPasskeyRegistrationDocument, { sessionId: late.sessionId, response: authenticator(s).create(late.options) });
    expect([codeOf(expired), reasonOf(expired)]).toEqual(['UNAUTHENTICATED', 'CHALLENGE_EXPIRED']);

    const fresh = await beginRegistration();
    for (const bad of [{}, 'text', { id: 'x', rawId: 'x', type: 'public-key', response: { clientDataJSON: '!!', attestationObject: 'AA' } }]) {
      const r = await s.gql(FinishPasskeyRegistrationDocument, { sessionId: fresh.sessionId, response: bad });
      expect(codeOf(r)).toBe('BAD_USER_INPUT');
    }
    const garbage = await s.gql(FinishPasskeyRegistrationDocument, { sessionId: fresh.sessionId, response: { id: 'AA', rawId: 'AA', type: 'public-key', response: { clientDataJSON: 'AA', attestationObject: 'AA' } } });
    expect(codeOf(garbage)).toBe('UNAUTHENTICATED');
    const notAnId = await s.gql(FinishPasskeyRegistrationDocument, { sessionId: 'nope', response: auth.create(fresh.options) });
    expect(reasonOf(notAnId)).toBe('CHALLENGE_NOT_FOUND');
    expect(codeOf(await s.gql(BeginPasskeyRegistrationDocument, { displayName: '  ' }))).toBe('BAD_USER_INPUT');
    expect(codeOf(await s.gql(BeginPasskeyRegistrationDocument, { displayName: 'x'.repeat(65) }))).toBe('BAD_USER_INPUT');
  });

  it('refuses passkeys for organisations (FORBIDDEN)', async () => {
    expect(codeOf(await s.gql(BeginPasskeyRegistrationDocument, { displayName: 'Acme' }, brandKey))).toBe('FORBIDDEN');
    expect(codeOf(await s.gql(BeginPasskeyAuthenticationDocument, { purpose: 'SIGN_IN' }, brandKey))).toBe('FORBIDDEN');
  });
});

describe('sign-in and assertions', () => {
  let owner: Owner;
  beforeAll(async () => {
    owner = await registerOwner(s);
  });

  it('signs in with a discoverable passkey (SIGN_IN) and stores the counter', async () => {
    const r = await signIn(s, owner.auth);
    expect(r.errors).toBeUndefined();
    expect(r.data!.finishPasskeyAuthentication.ownerId).toBe(owner.ownerId);
    expect(r.data!.finishPasskeyAuthentication.token).not.toBe(owner.token);
    const keys = await s.gql(PasskeysDocument, {}, r.data!.finishPasskeyAuthentication.token);
    expect(keys.data!.passkeys[0]).toMatchObject({ signCount: owner.auth.credentials[0]!.counter, lastUsedAt: expect.any(String) });
  });

  it('refuses a replayed assertion (the challenge is single use)', async () => {
    const begin = await beginSignIn();
    const assertion = owner.auth.get(begin.options);
    expect((await s.gql(FinishPasskeyAuthenticationDocument, { sessionId: begin.sessionId, assertion })).errors).toBeUndefined();
    const replay = await s.gql(FinishPasskeyAuthenticationDocument, { sessionId: begin.sessionId, assertion });
    expect([codeOf(replay), reasonOf(replay)]).toEqual(['UNAUTHENTICATED', 'CHALLENGE_NOT_FOUND']);
  });

  it('lets exactly one of two identical assertions sent at once through', async () => {
    const begin = await beginSignIn();
    const assertion = owner.auth.get(begin.options);
    const results = await Promise.all([1, 2].map(() => s.gql(FinishPasskeyAuthenticationDocument, { sessionId: begin.sessionId, assertion })));
    expect(results.filter((r) => !r.errors)).toHaveLength(1);
    expect(results.filter((r) => codeOf(r) === 'UNAUTHENTICATED')).toHaveLength(1);
  });

  it('lets one of two assertions with the same counter through (a cloned authenticator): counter compare-and-swap', async () => {
    const [a, b] = [await beginSignIn(), await beginSignIn()];
    const next = owner.auth.credentials[0]!.counter + 1;
    const results = await Promise.all([
      s.gql(FinishPasskeyAuthenticationDocument, { sessionId: a.sessionId, assertion: owner.auth.get(a.options, { counter: next }) }),
      s.gql(FinishPasskeyAuthenticationDocument, { sessionId: b.sessionId, assertion: owner.auth.get(b.options, { counter: next }) }),
    ]);
    owner.auth.credentials[0]!.counter = next;
    expect(results.filter((r) => !r.errors)).toHaveLength(1);
    const loser = results.find((r) => r.errors)!;
    expect([codeOf(loser), reasonOf(loser)]).toEqual(['UNAUTHENTICATED', 'COUNTER_REGRESSION']);
  });

  it('moves the counter by compare-and-swap: an assertion that read the old counter while another was committing fails', async () => {
    const [a, b] = [await beginSignIn(), await beginSignIn()];
    const next = owner.auth.credentials[0]!.counter + 1;
    const first = parseAssertion(owner.auth.get(a.options, { counter: next }));
    const second = parseAssertion(owner.auth.get(b.options, { counter: next }));
    owner.auth.credentials[0]!.counter = next;
    const expected = { purpose: 'SIGN_IN' as const, passportId: null };
    let verified!: () => void;
    let release!: () => void;
    const firstVerified = new Promise<void>((r) => (verified = r));
    const held = new Promise<void>((r) => (release = r));
    // The first transaction has moved the counter and holds the row; the second reads the committed (old)
    // counter, passes the library's check, and its compare-and-swap waits, then finds the counter moved.
    // (On embedded PGlite the one connection serialises them: the second then fails the library's check.)
    const one = em().transactional(async (tx) => {
      await passkeyService.verifyAssertion(tx as EntityManager, s.services, { kind: 'ANONYMOUS' }, first, expected);
      verified();
      await held;
    });
    await firstVerified;
    const two = em().transactional((tx) => passkeyService.verifyAssertion(tx as EntityManager, s.services, { kind: 'ANONYMOUS' }, second, expected));
    // Handled from the start: under load `two` may settle before `one`.
    const refused = expect(two).rejects.toMatchObject({ code: 'UNAUTHENTICATED', reason: 'COUNTER_REGRESSION' });
    setTimeout(release, 300);
    await one;
    await refused;
    expect(await sql('select counter from passkey_credential where owner_id = $1', [owner.ownerId])).toEqual([{ counter: String(next) }]);
  });

  it.each([
    ['a counter that goes back', (c: number) => ({ counter: c - 1 }), 'COUNTER_REGRESSION'],
    ['a counter that stays put', (c: number) => ({ counter: c }), 'COUNTER_REGRESSION'],
    ['a wrong origin', () => ({ origin: 'http://localhost:1' }), 'WRONG_ORIGIN'],
    ['a wrong RP ID', () => ({ rpId: 'example.com' }), 'WRONG_RP_ID'],
    ['no user verification', () => ({ uv: false }), 'USER_VERIFICATION_REQUIRED'],
    ['no user presence', () => ({ up: false }), 'USER_PRESENCE_REQUIRED'],
    ['a bad signature', () => ({ badSignature: true }), 'BAD_SIGNATURE'],
    ['a registration ceremony type', () => ({ type: 'webauthn.create' }), 'WRONG_CEREMONY'],
  ])('refuses %s (UNAUTHENTICATED) and leaves the stored counter alone', async (_what, overrides, reason) => {
    const [{ counter: before }] = await sql<{ counter: string }>('select counter from passkey_credential where owner_id = $1', [owner.ownerId]);
    const r = await signIn(s, owner.auth, overrides(Number(before)));
    expect([codeOf(r), reasonOf(r)]).toEqual(['UNAUTHENTICATED', reason]);
    expect(await sql('select counter from passkey_credential where owner_id = $1', [owner.ownerId])).toEqual([{ counter: before }]);
    owner.auth.credentials[0]!.counter = Number(before);
  });

  it('refuses an expired challenge', async () => {
    const begin = await beginSignIn();
    await sql(`update webauthn_challenge set expires_at = now() - interval '1 second' where id = $1`, [begin.sessionId]);
    const r = await s.gql(FinishPasskeyAuthenticationDocument, { sessionId: begin.sessionId, assertion: owner.auth.get(begin.options) });
    expect([codeOf(r), reasonOf(r)]).toEqual(['UNAUTHENTICATED', 'CHALLENGE_EXPIRED']);
  });

  it('refuses an assertion that answers another session, a wrong user handle, and an unknown passkey', async () => {
    const [a, b] = [await beginSignIn(), await beginSignIn()];
    const crossed = await s.gql(FinishPasskeyAuthenticationDocument, { sessionId: a.sessionId, assertion: owner.auth.get(b.options) });
    expect(reasonOf(crossed)).toBe('CHALLENGE_NOT_FOUND');

    const other = await registerOwner(s);
    const c = await beginSignIn();
    const mixed = owner.auth.get(c.options) as { response: Record<string, string> };
    mixed.response.userHandle = other.auth.credentials[0]!.userHandle.toString('base64url');
    expect(reasonOf(await s.gql(FinishPasskeyAuthenticationDocument, { sessionId: c.sessionId, assertion: mixed }))).toBe('USER_HANDLE_MISMATCH');

    const stranger = authenticator(s);
    stranger.create((await beginRegistration()).options); // made on the device, never registered here
    expect(reasonOf(await signIn(s, stranger))).toBe('UNKNOWN_CREDENTIAL');
  });

  it('works with authenticators whose counter is always 0, the single-use challenge standing in', async () => {
    const zero = await registerOwner(s, authenticator(s, { counterStep: 0, backupEligible: true }));
    for (let i = 0; i < 2; i++) expect((await signIn(s, zero.auth)).errors).toBeUndefined();
    const begin = await beginSignIn();
    const assertion = zero.auth.get(begin.options);
    expect((await s.gql(FinishPasskeyAuthenticationDocument, { sessionId: begin.sessionId, assertion })).errors).toBeUndefined();
    expect(reasonOf(await s.gql(FinishPasskeyAuthenticationDocument, { sessionId: begin.sessionId, assertion }))).toBe('CHALLENGE_NOT_FOUND');
    expect(await sql('select counter from passkey_credential where owner_id = $1', [zero.ownerId])).toEqual([{ counter: '0' }]);
  });

  it('asks an owner session (and a unit) for every act but SIGN_IN', async () => {
    expect(codeOf(await s.gql(BeginPasskeyAuthenticationDocument, { purpose: 'CLAIM_OWNERSHIP', passportId: '00000000-0000-4000-8000-000000000000' }))).toBe('UNAUTHENTICATED');
    expect(codeOf(await s.gql(BeginPasskeyAuthenticationDocument, { purpose: 'CLAIM_OWNERSHIP' }, owner.token))).toBe('BAD_USER_INPUT');
    expect(codeOf(await s.gql(BeginPasskeyAuthenticationDocument, { purpose: 'WARRANTY_CLAIM', passportId: '00000000-0000-4000-8000-000000000000' }, owner.token))).toBe('NOT_FOUND');
    expect(codeOf(await s.gql(BeginPasskeyAuthenticationDocument, { purpose: 'SIGN_IN', passportId: '00000000-0000-4000-8000-000000000000' }))).toBe('BAD_USER_INPUT');
    expect(codeOf(await s.gql('mutation { beginPasskeyAuthentication(purpose: PAY) { sessionId } }'))).toBe('BAD_USER_INPUT');
  });
});

describe('sessions and passkey management', () => {
  it('adds a passkey from a recent session, lists and removes them, never the last one', async () => {
    const owner = await registerOwner(s);
    const phone = authenticator(s, { backupEligible: true, backedUp: false });
    const begin = await beginRegistration('My phone', owner.token);
    const options = begin.options as unknown as { user: { name: string; id: string }; excludeCredentials: { id: string }[] };
    expect(options.user.name).toBe('Alex Example');
    expect(options.excludeCredentials.map((c) => c.id)).toEqual([owner.auth.credentials[0]!.id.toString('base64url')]);
    // The user handle is the account's, so the phone's resident key signs in to the same account.
    expect(options.user.id).toBe(owner.auth.credentials[0]!.userHandle.toString('base64url'));

    const anonymousFinish = await s.gql(FinishPasskeyRegistrationDocument, { sessionId: begin.sessionId, response: phone.create(begin.options) });
    expect(reasonOf(anonymousFinish)).toBe('WRONG_SESSION');
    const stranger = await registerOwner(s);
    const again = await beginRegistration('My phone', owner.token);
    expect(reasonOf(await s.gql(FinishPasskeyRegistrationDocument, { sessionId: again.sessionId, response: phone.create(again.options) }, stranger.token))).toBe('WRONG_SESSION');
    const third = await beginRegistration('My phone', owner.token);
    const added = await s.gql(FinishPasskeyRegistrationDocument, { sessionId: third.sessionId, response: phone.create(third.options) }, owner.token);
    expect(added.errors).toBeUndefined();
    expect(added.data!.finishPasskeyRegistration.ownerId).toBe(owner.ownerId);

    const listed = await s.gql(PasskeysDocument, {}, owner.token);
    expect(listed.data!.passkeys.map((k) => [k.name, k.backupEligible, k.backedUp])).toEqual([
      ['Passkey 1', false, false],
      ['My phone', true, false],
    ]);
    const phoneSignIn = await signIn(s, phone, { credentialId: phone.credentials.at(-1)!.id.toString('base64url') });
    expect(phoneSignIn.data?.finishPasskeyAuthentication.ownerId).toBe(owner.ownerId);

    const [laptopKey, phoneKey] = listed.data!.passkeys;
    expect(codeOf(await s.gql(RemovePasskeyDocument, { id: laptopKey!.id }, stranger.token))).toBe('NOT_FOUND');
    const removed = await s.gql(RemovePasskeyDocument, { id: laptopKey!.id }, owner.token);
    expect(removed.data!.removePasskey.map((k) => k.id)).toEqual([phoneKey!.id]);
    const last = await s.gql(RemovePasskeyDocument, { id: phoneKey!.id }, owner.token);
    expect([codeOf(last), reasonOf(last)]).toEqual(['CONFLICT', 'LAST_PASSKEY']);
    expect(reasonOf(await signIn(s, owner.auth))).toBe('UNKNOWN_CREDENTIAL');
  });

  it('refuses passkey changes from a session older than ten minutes (sign in again)', async () => {
    const owner = await registerOwner(s);
    await sql(`update owner_session set created_at = now() - interval '11 minutes' where owner_id = $1`, [owner.ownerId]);
    const r = await s.gql(BeginPasskeyRegistrationDocument, { displayName: 'Tablet' }, owner.token);
    expect([codeOf(r), reasonOf(r)]).toEqual(['FORBIDDEN', 'FRESH_SIGN_IN_REQUIRED']);
    const keys = await s.gql(PasskeysDocument, {}, owner.token);
    expect(reasonOf(await s.gql(RemovePasskeyDocument, { id: keys.data!.passkeys[0]!.id }, owner.token))).toBe('FRESH_SIGN_IN_REQUIRED');
    const fresh = (await signIn(s, owner.auth)).data!.finishPasskeyAuthentication.token;
    expect((await s.gql(BeginPasskeyRegistrationDocument, { displayName: 'Tablet' }, fresh)).errors).toBeUndefined();
  });

  it('ends sessions on sign-out and at expiry; refuses unknown tokens', async () => {
    const owner = await registerOwner(s);
    expect((await s.gql(SignOutDocument, {}, owner.token)).data).toEqual({ signOut: true });
    const after = await s.gql(PasskeysDocument, {}, owner.token);
    expect([after.status, codeOf(after)]).toEqual([401, 'UNAUTHENTICATED']);

    const second = (await signIn(s, owner.auth)).data!.finishPasskeyAuthentication.token;
    await sql(`update owner_session set expires_at = now() - interval '1 second' where owner_id = $1`, [owner.ownerId]);
    expect(codeOf(await s.gql(PasskeysDocument, {}, second))).toBe('UNAUTHENTICATED');
    expect(codeOf(await s.gql(PasskeysDocument, {}, 'dpo_not-a-session'))).toBe('UNAUTHENTICATED');
  });

  it('keeps owners and organisations to their own operations', async () => {
    const owner = await registerOwner(s);
    expect(codeOf(await s.gql('{ fraudAlerts { edges { cursor } } }', {}, owner.token))).toBe('FORBIDDEN');
    expect(codeOf(await s.gql('{ signingKeys { kid } }', {}, owner.token))).toBe('FORBIDDEN');
    expect(codeOf(await s.gql(PasskeysDocument, {}))).toBe('UNAUTHENTICATED');
    expect(codeOf(await s.gql(PasskeysDocument, {}, brandKey))).toBe('FORBIDDEN');
    expect(codeOf(await s.gql(SignOutDocument, {}, brandKey))).toBe('FORBIDDEN');
    const me = await s.gql(MeOwnerDocument, {}, brandKey);
    expect(me.data!.me).toMatchObject({ kind: 'ORGANIZATION', owner: null });
  });
});
