import { randomUUID } from 'node:crypto';
import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { Passport } from '../passports/passport.entity.js';

/**
 * A consumer account. Created by registering a passkey: no password, no e-mail. The display name is
 * personal data and is shown to nobody but the owner (it is also what their authenticator lists).
 */
export const Owner = defineEntity({
  name: 'Owner',
  tableName: 'owner',
  properties: {
    id: p.uuid().primary().onCreate(() => randomUUID()),
    displayName: p.string().length(64),
    /** WebAuthn user handle (base64url of 32 random bytes): never derived from the id or the name. */
    webauthnUserId: p.string().length(64).unique(),
    createdAt: p.datetime().onCreate(() => new Date()),
    /** Set when the owner erased the account (deleteMyAccount): the name and user handle are then blanked. */
    erasedAt: p.datetime().nullable(),
  },
});
export type IOwner = InferEntity<typeof Owner>;

/** A passkey of an owner: what @simplewebauthn/server needs to verify assertions, plus what it does not keep. */
export const PasskeyCredential = defineEntity({
  name: 'PasskeyCredential',
  tableName: 'passkey_credential',
  properties: {
    id: p.uuid().primary().onCreate(() => randomUUID()),
    owner: () => p.manyToOne(Owner).ref().index(),
    /** The WebAuthn credential id, base64url. */
    credentialId: p.text().unique(),
    /** COSE public key, base64url. */
    publicKey: p.text(),
    /** Signature counter last accepted; moved only by compare-and-swap. Authenticators may always report 0. */
    counter: p.bigint('number').default(0),
    transports: p.array().default([]),
    /** BE flag: the credential may be synced (a multi-device passkey). */
    backupEligible: p.boolean(),
    /** BS flag as last seen: the credential is currently backed up. */
    backedUp: p.boolean(),
    aaguid: p.string().length(36),
    /** The owner's name for this passkey, to tell them apart in the list. */
    name: p.string().length(64),
    createdAt: p.datetime().onCreate(() => new Date()),
    lastUsedAt: p.datetime().nullable(),
  },
});
export type IPasskeyCredential = InferEntity<typeof PasskeyCredential>;

/** What a challenge may be answered for; the assertion purposes mirror the GraphQL enum AssertionPurpose. */
export const ASSERTION_PURPOSES = ['SIGN_IN', 'CLAIM_OWNERSHIP', 'OFFER_TRANSFER', 'ACCEPT_TRANSFER', 'WARRANTY_CLAIM', 'DELETE_ACCOUNT'] as const;
/** Purposes about the account, not a unit: no passportId. */
export const ACCOUNT_PURPOSES: readonly AssertionPurpose[] = ['SIGN_IN', 'DELETE_ACCOUNT'];
export type AssertionPurpose = (typeof ASSERTION_PURPOSES)[number];
export const CHALLENGE_PURPOSES = ['REGISTER', 'ADD_PASSKEY', ...ASSERTION_PURPOSES] as const;
export type ChallengePurpose = (typeof CHALLENGE_PURPOSES)[number];

/**
 * One WebAuthn challenge: random, single use (deleted when answered), short-lived, and bound to its
 * purpose, to a unit where the act concerns one, and to the owner it was issued to.
 */
export const WebAuthnChallenge = defineEntity({
  name: 'WebAuthnChallenge',
  tableName: 'webauthn_challenge',
  properties: {
    /** The `sessionId` clients pass back. */
    id: p.uuid().primary().onCreate(() => randomUUID()),
    /** base64url of 32 random bytes, as it appears in clientDataJSON. */
    challenge: p.string().length(64).unique(),
    purpose: p.enum(CHALLENGE_PURPOSES).nativeEnumName('webauthn_challenge_purpose'),
    passport: () => p.manyToOne(Passport).ref().nullable(),
    /** The signed-in owner it was issued to (adding a passkey, acts on a unit); null for registration and sign-in. */
    owner: () => p.manyToOne(Owner).ref().nullable().deleteRule('cascade'),
    /** Registration only: the account the passkey will create. */
    pendingOwnerId: p.uuid().nullable(),
    userHandle: p.string().length(64).nullable(),
    displayName: p.string().length(64).nullable(),
    expiresAt: p.datetime().index(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});
export type IWebAuthnChallenge = InferEntity<typeof WebAuthnChallenge>;

/** A signed-in owner. Only the SHA-256 of the bearer token is stored. */
export const OwnerSession = defineEntity({
  name: 'OwnerSession',
  tableName: 'owner_session',
  properties: {
    id: p.uuid().primary().onCreate(() => randomUUID()),
    owner: () => p.manyToOne(Owner).ref().index().deleteRule('cascade'),
    tokenHash: p.string().length(64).unique(),
    createdAt: p.datetime().onCreate(() => new Date()),
    expiresAt: p.datetime(),
    revokedAt: p.datetime().nullable(),
  },
});
export type IOwnerSession = InferEntity<typeof OwnerSession>;
