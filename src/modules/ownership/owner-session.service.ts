import { randomBytes, randomUUID } from 'node:crypto';
import { sha256Hex } from '../../crypto/jcs.js';
import type { EntityManager } from '@mikro-orm/postgresql';
import { rawQuery } from '../../db/raw.js';
import { UnauthenticatedError } from '../../errors/app-error.js';
import type { Viewer } from '../../context/viewer.js';
import { FreshSignInRequiredError } from './ownership.errors.js';

/** Owner session tokens start with this, so a bearer value names its kind (API keys start with `dpp_`). */
export const OWNER_TOKEN_PREFIX = 'dpo_';
/** Adding or removing passkeys needs a session at most this old: a stolen older token cannot take the account over. */
export const FRESH_SIGN_IN_SECONDS = 10 * 60;

/** SHA-256 of a session token, the only form stored; tokens are 256-bit random, so a fast hash is enough. */
export function hashOwnerToken(token: string): string {
  return sha256Hex(token);
}

export function isOwnerToken(bearer: string): boolean {
  return bearer.startsWith(OWNER_TOKEN_PREFIX);
}

type OwnerViewer = Extract<Viewer, { kind: 'OWNER' }>;

/** Consumer sign-in sessions. Knows nothing of GraphQL. */
export const ownerSessionService = {
  /** Opens a session in the caller's transaction; the token is returned here once and never stored. */
  async open(tx: EntityManager, ownerId: string, ttlSeconds: number): Promise<{ token: string; expiresAt: Date }> {
    const token = OWNER_TOKEN_PREFIX + randomBytes(32).toString('base64url');
    const now = new Date();
    const expiresAt = new Date(now.getTime() + ttlSeconds * 1000);
    // The owner's dead sessions (expired or signed out) are of no use to anyone: drop them as a new one opens.
    await rawQuery(tx, `delete from owner_session where owner_id = $1 and (expires_at <= $2 or revoked_at is not null)`, [ownerId, now.toISOString()]);
    await rawQuery(tx, `insert into owner_session (id, owner_id, token_hash, created_at, expires_at) values ($1, $2, $3, $4, $5)`, [
      randomUUID(),
      ownerId,
      hashOwnerToken(token),
      now.toISOString(),
      expiresAt.toISOString(),
    ]);
    return { token, expiresAt };
  },

  /** The owner behind a session token, or undefined when it is unknown, expired or signed out. */
  async authenticate(em: EntityManager, token: string): Promise<OwnerViewer | undefined> {
    if (!isOwnerToken(token) || token.length > 200) return undefined;
    const [row] = await rawQuery<{ id: string; owner_id: string; created_at: string }>(
      em,
      `select id, owner_id, created_at from owner_session where token_hash = $1 and revoked_at is null and expires_at > $2`,
      [hashOwnerToken(token), new Date().toISOString()],
    );
    return row ? { kind: 'OWNER', ownerId: row.owner_id, sessionId: row.id, signedInAt: new Date(row.created_at) } : undefined;
  },

  /** Ends the caller's session at once. */
  async signOut(em: EntityManager, viewer: Viewer): Promise<void> {
    if (viewer.kind !== 'OWNER') throw new UnauthenticatedError();
    await rawQuery(em, `update owner_session set revoked_at = $2 where id = $1 and revoked_at is null`, [viewer.sessionId, new Date().toISOString()]);
  },

  /** Refuses account changes from a session older than {@link FRESH_SIGN_IN_SECONDS}. */
  assertFresh(viewer: OwnerViewer, now = new Date()): void {
    if (now.getTime() - viewer.signedInAt.getTime() > FRESH_SIGN_IN_SECONDS * 1000) throw new FreshSignInRequiredError(FRESH_SIGN_IN_SECONDS / 60);
  },
};
