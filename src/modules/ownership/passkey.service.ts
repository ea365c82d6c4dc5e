import { randomBytes, randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
} from '@simplewebauthn/server';
import { isUuid } from '../../db/ids.js';
import { rawQuery } from '../../db/raw.js';
import { BadInputError, ConflictError, ForbiddenError, NotFoundError, UnauthenticatedError } from '../../errors/app-error.js';
import type { AppServices } from '../../context/services.js';
import type { Viewer } from '../../context/viewer.js';
import { ACCOUNT_PURPOSES, type AssertionPurpose, ASSERTION_PURPOSES, type ChallengePurpose } from './owner.entity.js';
import { ownerSessionService } from './owner-session.service.js';
import { ForeignCredentialError, PasskeyRefusedError } from './ownership.errors.js';
import type { RequestContext } from '../../context/request-context.js';
import { type ParsedAssertion, parseAssertion, refusalOf, registrationSchema, shapeError } from './webauthn-input.js';

export { parseAssertion, type ParsedAssertion } from './webauthn-input.js';

/** COSE algorithms accepted for new passkeys: EdDSA, ES256, RS256 (what browsers and platform authenticators make). */
const SUPPORTED_ALGORITHMS = [-8, -7, -257];
/** At most this many passkeys per account (each is listed in every challenge's allowCredentials). */
export const MAX_PASSKEYS_PER_OWNER = 20;

type OwnerViewer = Extract<Viewer, { kind: 'OWNER' }>;

// -------------------------------------------------------------------------------------------------
// Challenges
// -------------------------------------------------------------------------------------------------

type ChallengeRow = {
  id: string;
  challenge: string;
  purpose: ChallengePurpose;
  passport_id: string | null;
  owner_id: string | null;
  pending_owner_id: string | null;
  user_handle: string | null;
  display_name: string | null;
  expires_at: string | Date;
};

async function storeChallenge(
  em: EntityManager,
  services: AppServices,
  row: { challenge: string; purpose: ChallengePurpose; passportId?: string | null; ownerId?: string | null; pendingOwnerId?: string; userHandle?: string; displayName?: string },
): Promise<{ id: string; expiresAt: Date }> {
  const id = randomUUID();
  const now = new Date();
  const expiresAt = new Date(now.getTime() + services.config.webauthn.challengeTtlSeconds * 1000);
  // Expired challenges are useless; clear a bounded batch now and then instead of running a sweeper.
  await rawQuery(em, `delete from webauthn_challenge where id in (select id from webauthn_challenge where expires_at < $1 limit 100)`, [new Date(now.getTime() - 3_600_000).toISOString()]);
  await rawQuery(
    em,
    `insert into webauthn_challenge (id, challenge, purpose, passport_id, owner_id, pending_owner_id, user_handle, display_name, expires_at, created_at)
     values ($1, $2, $3::webauthn_challenge_purpose, $4, $5, $6, $7, $8, $9, $10)`,
    [id, row.challenge, row.purpose, row.passportId ?? null, row.ownerId ?? null, row.pendingOwnerId ?? null, row.userHandle ?? null, row.displayName ?? null, expiresAt.toISOString(), now.toISOString()],
  );
  return { id, expiresAt };
}

/**
 * Takes a challenge out of the database: single use, atomically (`delete … returning`). Of two
 * concurrent answers to one challenge, the second waits for the first's transaction and finds nothing;
 * if the first rolls back (its act failed), the challenge is still there to be answered.
 */
async function consumeChallenge(tx: EntityManager, where: { challenge: string } | { id: string }): Promise<ChallengeRow> {
  const [row] =
    'id' in where
      ? await rawQuery<ChallengeRow>(tx, `delete from webauthn_challenge where id = $1 returning *`, [where.id])
      : await rawQuery<ChallengeRow>(tx, `delete from webauthn_challenge where challenge = $1 returning *`, [where.challenge]);
  if (!row) throw new PasskeyRefusedError('CHALLENGE_NOT_FOUND', 'unknown or already used challenge; ask for a new one');
  if (new Date(row.expires_at).getTime() <= Date.now()) throw new PasskeyRefusedError('CHALLENGE_EXPIRED', 'the challenge has expired; ask for a new one');
  return row;
}

function validDisplayName(value: string): string {
  const name = value.normalize('NFC').trim();
  if (name.length < 1 || name.length > 64 || /[\u0000-\u001f\u007f]/.test(name)) throw new BadInputError('displayName: 1 to 64 characters, no control characters', { field: 'displayName' });
  return name;
}

type CredentialRow = {
  id: string;
  owner_id: string;
  credential_id: string;
  public_key: string;
  counter: string | number;
  transports: string[];
  webauthn_user_id: string;
};

async function allowCredentialsOf(em: EntityManager, ownerId: string): Promise<{ id: string; transports: string[] }[]> {
  const rows = await rawQuery<{ credential_id: string; transports: string[] }>(em, `select credential_id, transports from passkey_credential where owner_id = $1 order by created_at`, [ownerId]);
  return rows.map((r) => ({ id: r.credential_id, transports: r.transports }));
}

export type PasskeyChallenge = { sessionId: string; options: PublicKeyCredentialCreationOptionsJSON | PublicKeyCredentialRequestOptionsJSON; expiresAt: Date };
export type VerifiedAssertion = { ownerId: string; credentialId: string; challengeId: string; passportId: string | null };

/**
 * Passkeys (WebAuthn, through @simplewebauthn/server): registration, sign-in, and the assertions that
 * authorise acts on a unit. What the library leaves to its caller is done here: challenges are stored,
 * single-use and bound to purpose, unit and account; the credential must belong to the signed-in owner;
 * the signature counter is stored and moved by compare-and-swap. Knows nothing of GraphQL.
 */
export const passkeyService = {
  /**
   * Options for `navigator.credentials.create()`. Anonymous callers get a new account on finish; a
   * signed-in owner (recently signed in) adds a passkey to theirs, `displayName` then naming the passkey.
   */
  async beginRegistration(ctx: RequestContext, displayName: string): Promise<PasskeyChallenge> {
    const { em, services, viewer } = ctx;
    if (viewer.kind === 'ORGANIZATION') throw new ForbiddenError('Organisations do not hold passkeys; owners do');
    const name = validDisplayName(displayName);
    const { rpId, rpName } = services.webauthn;
    const timeout = services.config.webauthn.challengeTtlSeconds * 1000;
    const authenticatorSelection = { residentKey: 'required', requireResidentKey: true, userVerification: 'required' } as const;
    if (viewer.kind === 'OWNER') {
      ownerSessionService.assertFresh(viewer);
      const [owner] = await rawQuery<{ display_name: string; webauthn_user_id: string }>(em, `select display_name, webauthn_user_id from owner where id = $1`, [viewer.ownerId]);
      if (!owner) throw new UnauthenticatedError();
      const existing = await allowCredentialsOf(em, viewer.ownerId);
      if (existing.length >= MAX_PASSKEYS_PER_OWNER) throw new ConflictError(`At most ${MAX_PASSKEYS_PER_OWNER} passkeys per account`);
      const options = await generateRegistrationOptions({
        rpName,
        rpID: rpId,
        userName: owner.display_name,
        userDisplayName: owner.display_name,
        userID: Buffer.from(owner.webauthn_user_id, 'base64url'),
        timeout,
        attestationType: 'none',
        excludeCredentials: existing,
        authenticatorSelection,
        supportedAlgorithmIDs: SUPPORTED_ALGORITHMS,
      });
      const stored = await storeChallenge(em, services, { challenge: options.challenge, purpose: 'ADD_PASSKEY', ownerId: viewer.ownerId, displayName: name });
      return { sessionId: stored.id, options, expiresAt: stored.expiresAt };
    }
    const userHandle = randomBytes(32);
    const options = await generateRegistrationOptions({
      rpName,
      rpID: rpId,
      userName: name,
      userDisplayName: name,
      userID: userHandle,
      timeout,
      attestationType: 'none',
      authenticatorSelection,
      supportedAlgorithmIDs: SUPPORTED_ALGORITHMS,
    });
    const stored = await storeChallenge(em, services, {
      challenge: options.challenge,
      purpose: 'REGISTER',
      pendingOwnerId: randomUUID(),
      userHandle: userHandle.toString('base64url'),
      displayName: name,
    });
    return { sessionId: stored.id, options, expiresAt: stored.expiresAt };
  },

  /**
   * Verifies the attestation (user verification required, "none" attestation accepted) and stores the
   * passkey with its counter and backup flags; creates the account on first registration. Answers a new
   * owner session. One transaction.
   */
  async finishRegistration(ctx: RequestContext, sessionId: string, value: unknown): Promise<{ ownerId: string; token: string; expiresAt: Date }> {
    const { em, services, viewer } = ctx;
    if (viewer.kind === 'ORGANIZATION') throw new ForbiddenError('Organisations do not hold passkeys; owners do');
    const parsed = registrationSchema.safeParse(value);
    if (!parsed.success) throw shapeError('response', parsed.error);
    const response = parsed.data as unknown as RegistrationResponseJSON;
    if (!isUuid(sessionId)) throw new PasskeyRefusedError('CHALLENGE_NOT_FOUND', 'unknown or already used registration session');
    return em.transactional(async (tx) => {
      const row = await consumeChallenge(tx as EntityManager, { id: sessionId });
      if (row.purpose !== 'REGISTER' && row.purpose !== 'ADD_PASSKEY') throw new PasskeyRefusedError('WRONG_PURPOSE', `this session is for ${row.purpose}, not a registration`);
      if (row.purpose === 'ADD_PASSKEY' && (viewer.kind !== 'OWNER' || viewer.ownerId !== row.owner_id)) {
        throw new PasskeyRefusedError('WRONG_SESSION', 'this passkey is being added to another account; sign in as its owner');
      }
      let verification;
      try {
        verification = await verifyRegistrationResponse({
          response,
          expectedChallenge: row.challenge,
          expectedOrigin: services.webauthn.origins,
          expectedRPID: services.webauthn.rpId,
          requireUserPresence: true,
          requireUserVerification: true,
          supportedAlgorithmIDs: SUPPORTED_ALGORITHMS,
        });
      } catch (e) {
        throw refusalOf(e);
      }
      if (!verification.verified) throw new PasskeyRefusedError('BAD_SIGNATURE', 'the attestation does not verify');
      const info = verification.registrationInfo;
      const [taken] = await rawQuery(tx as EntityManager, `select 1 from passkey_credential where credential_id = $1`, [info.credential.id]);
      if (taken) throw new ConflictError('This passkey is already registered');

      const ownerId = row.purpose === 'ADD_PASSKEY' ? row.owner_id! : row.pending_owner_id!;
      const now = new Date().toISOString();
      if (row.purpose === 'REGISTER') {
        await rawQuery(tx as EntityManager, `insert into owner (id, display_name, webauthn_user_id, created_at) values ($1, $2, $3, $4)`, [ownerId, row.display_name, row.user_handle, now]);
      }
      const [{ n } = { n: 0 }] = await rawQuery<{ n: number }>(tx as EntityManager, `select count(*)::int as n from passkey_credential where owner_id = $1`, [ownerId]);
      await rawQuery(
        tx as EntityManager,
        `insert into passkey_credential (id, owner_id, credential_id, public_key, counter, transports, backup_eligible, backed_up, aaguid, name, created_at)
         values ($1, $2, $3, $4, $5, $6::text[], $7, $8, $9, $10, $11)`,
        [
          randomUUID(),
          ownerId,
          info.credential.id,
          Buffer.from(info.credential.publicKey).toString('base64url'),
          info.credential.counter,
          (response.response.transports ?? []).slice(0, 10),
          info.credentialDeviceType === 'multiDevice',
          info.credentialBackedUp,
          info.aaguid,
          row.purpose === 'REGISTER' ? `Passkey 1` : (row.display_name ?? `Passkey ${n + 1}`),
          now,
        ],
      );
      const session = await ownerSessionService.open(tx as EntityManager, ownerId, services.config.owners.sessionTtlSeconds);
      return { ownerId, ...session };
    });
  },

  /**
   * Options for `navigator.credentials.get()`, with a challenge bound to `purpose` and (for every purpose
   * but SIGN_IN) to the unit and to the signed-in owner.
   */
  async beginAuthentication(ctx: RequestContext, purpose: AssertionPurpose, passportId: string | null | undefined): Promise<PasskeyChallenge> {
    const { em, services, viewer } = ctx;
    if (!ASSERTION_PURPOSES.includes(purpose)) throw new BadInputError(`purpose: one of ${ASSERTION_PURPOSES.join(', ')}`, { field: 'purpose' });
    if (viewer.kind === 'ORGANIZATION') throw new ForbiddenError('Organisations do not hold passkeys; owners do');
    let boundPassport: string | null = null;
    if (ACCOUNT_PURPOSES.includes(purpose)) {
      if (passportId) throw new BadInputError(`passportId: ${purpose} is not about a unit; leave it out`, { field: 'passportId' });
      if (purpose === 'DELETE_ACCOUNT' && viewer.kind !== 'OWNER') throw new UnauthenticatedError('Sign in with a passkey first: DELETE_ACCOUNT needs an owner session');
    } else {
      if (viewer.kind !== 'OWNER') throw new UnauthenticatedError(`Sign in with a passkey first: ${purpose} needs an owner session`);
      if (!passportId) throw new BadInputError(`passportId: required for ${purpose}`, { field: 'passportId' });
      const [exists] = isUuid(passportId) ? await rawQuery(em, `select 1 from passport where id = $1`, [passportId]) : [];
      if (!exists) throw new NotFoundError('Passport', passportId);
      boundPassport = passportId.toLowerCase();
    }
    const ownerId = viewer.kind === 'OWNER' ? viewer.ownerId : null;
    const options = await generateAuthenticationOptions({
      rpID: services.webauthn.rpId,
      allowCredentials: ownerId ? await allowCredentialsOf(em, ownerId) : [],
      userVerification: 'required',
      timeout: services.config.webauthn.challengeTtlSeconds * 1000,
    });
    // A SIGN_IN challenge stays unbound to an owner even from a session: it is how one signs in afresh.
    const stored = await storeChallenge(em, services, { challenge: options.challenge, purpose, passportId: boundPassport, ownerId: purpose === 'SIGN_IN' ? null : ownerId });
    return { sessionId: stored.id, options, expiresAt: stored.expiresAt };
  },

  /**
   * Checks an assertion inside the caller's transaction and consumes its challenge: the challenge must be
   * live and issued for `purpose` (and `passportId`, and the caller); the credential must be known and, for
   * a signed-in caller, theirs; @simplewebauthn/server checks origin, RP ID, flags (UP and UV required),
   * signature and counter; the stored counter then moves by compare-and-swap, so of two concurrent
   * assertions at most one passes even when the authenticator's counter stays 0 (the challenge is
   * single-use) or moves (the swap fails for the second).
   */
  async verifyAssertion(
    tx: EntityManager,
    services: AppServices,
    viewer: Viewer,
    assertion: ParsedAssertion,
    expected: { purpose: AssertionPurpose; passportId: string | null; sessionId?: string },
  ): Promise<VerifiedAssertion> {
    const row = await consumeChallenge(tx, { challenge: assertion.challenge });
    if (expected.sessionId !== undefined && row.id !== expected.sessionId) throw new PasskeyRefusedError('CHALLENGE_NOT_FOUND', 'the assertion answers another session');
    if (row.purpose !== expected.purpose) throw new PasskeyRefusedError('WRONG_PURPOSE', `the challenge was issued for ${row.purpose}, not ${expected.purpose}`);
    if ((row.passport_id ?? null) !== (expected.passportId?.toLowerCase() ?? null)) throw new PasskeyRefusedError('WRONG_PASSPORT', 'the challenge was issued for another unit');
    const callerOwner = viewer.kind === 'OWNER' ? viewer.ownerId : null;
    if (row.owner_id && row.owner_id !== callerOwner) throw new PasskeyRefusedError('WRONG_SESSION', 'the challenge was issued to another signed-in owner');

    const [cred] = await rawQuery<CredentialRow>(
      tx,
      `select c.id, c.owner_id, c.credential_id, c.public_key, c.counter, c.transports, o.webauthn_user_id
       from passkey_credential c join owner o on o.id = c.owner_id where c.credential_id = $1`,
      [assertion.response.id],
    );
    if (!cred) throw new PasskeyRefusedError('UNKNOWN_CREDENTIAL', 'this passkey is not registered (or was removed)');
    if (callerOwner && cred.owner_id !== callerOwner) throw new ForeignCredentialError();
    const userHandle = assertion.response.response.userHandle;
    if (userHandle && userHandle.replace(/=+$/, '') !== cred.webauthn_user_id) throw new PasskeyRefusedError('USER_HANDLE_MISMATCH', 'the user handle does not match the passkey');

    const storedCounter = Number(cred.counter);
    let verification;
    try {
      verification = await verifyAuthenticationResponse({
        response: assertion.response,
        expectedChallenge: row.challenge,
        expectedOrigin: services.webauthn.origins,
        expectedRPID: services.webauthn.rpId,
        credential: { id: cred.credential_id, publicKey: Buffer.from(cred.public_key, 'base64url'), counter: storedCounter, transports: cred.transports },
        requireUserVerification: true,
      });
    } catch (e) {
      throw refusalOf(e);
    }
    if (!verification.verified) throw new PasskeyRefusedError('BAD_SIGNATURE', 'the signature does not verify');
    const info = verification.authenticationInfo;
    // Compare-and-swap: a concurrent assertion that moved the counter first makes this one fail.
    const swapped = await rawQuery(
      tx,
      `update passkey_credential set counter = $3, backed_up = $4, last_used_at = $5 where id = $1 and counter = $2 returning id`,
      [cred.id, storedCounter, info.newCounter, info.credentialBackedUp, new Date().toISOString()],
    );
    if (swapped.length !== 1) throw new PasskeyRefusedError('COUNTER_REGRESSION', 'the signature counter moved concurrently; this assertion is stale');
    return { ownerId: cred.owner_id, credentialId: cred.id, challengeId: row.id, passportId: row.passport_id };
  },

  /** SIGN_IN: a discoverable-credential assertion for `sessionId` answers a new owner session. */
  async finishAuthentication(ctx: RequestContext, sessionId: string, value: unknown): Promise<{ ownerId: string; token: string; expiresAt: Date }> {
    const { em, services, viewer } = ctx;
    if (viewer.kind === 'ORGANIZATION') throw new ForbiddenError('Organisations do not hold passkeys; owners do');
    const assertion = parseAssertion(value);
    if (!isUuid(sessionId)) throw new PasskeyRefusedError('CHALLENGE_NOT_FOUND', 'unknown or already used session');
    return em.transactional(async (tx) => {
      // Signing in as someone else from a session is signing in afresh: the caller's session does not bind it.
      const verified = await passkeyService.verifyAssertion(tx as EntityManager, services, { kind: 'ANONYMOUS' }, assertion, { purpose: 'SIGN_IN', passportId: null, sessionId: sessionId.toLowerCase() });
      const session = await ownerSessionService.open(tx as EntityManager, verified.ownerId, services.config.owners.sessionTtlSeconds);
      return { ownerId: verified.ownerId, ...session };
    });
  },

  /** The owner's passkeys, oldest first. */
  async list(em: EntityManager, viewer: OwnerViewer) {
    return rawQuery<PasskeyRow>(em, `select ${PASSKEY_COLUMNS} from passkey_credential where owner_id = $1 order by created_at, id`, [viewer.ownerId]);
  },

  /**
   * Removes one of the owner's passkeys (never the last one; needs a recent sign-in). The owner's row is
   * locked, so two concurrent removals cannot leave the account with none.
   */
  async remove(em: EntityManager, viewer: OwnerViewer, id: string) {
    ownerSessionService.assertFresh(viewer);
    if (!isUuid(id)) throw new NotFoundError('Passkey', id);
    return em.transactional(async (tx) => {
      await rawQuery(tx as EntityManager, `select id from owner where id = $1 for update`, [viewer.ownerId]);
      const rows = await rawQuery<{ id: string }>(tx as EntityManager, `select id from passkey_credential where owner_id = $1`, [viewer.ownerId]);
      if (!rows.some((r) => r.id === id.toLowerCase())) throw new NotFoundError('Passkey', id);
      if (rows.length === 1) throw new ConflictError('This is your only passkey; add another before removing it', { reason: 'LAST_PASSKEY' });
      await rawQuery(tx as EntityManager, `delete from passkey_credential where id = $1 and owner_id = $2`, [id, viewer.ownerId]);
      return passkeyService.list(tx as EntityManager, viewer);
    });
  },
};

const PASSKEY_COLUMNS = 'id, name, transports, backup_eligible, backed_up, counter, aaguid, created_at, last_used_at';
export type PasskeyRow = {
  id: string;
  name: string;
  transports: string[];
  backup_eligible: boolean;
  backed_up: boolean;
  counter: string | number;
  aaguid: string;
  created_at: string | Date;
  last_used_at: string | Date | null;
};
