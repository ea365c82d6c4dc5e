import { LockMode, UniqueConstraintViolationException } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { canonicalBytes, fromBase64Url, sha256, toBase64Url } from '../../crypto/index.js';
import { isUuid } from '../../db/ids.js';
import { BadInputError, ForbiddenError, NotFoundError, UnauthenticatedError } from '../../errors/app-error.js';
import type { AppServices } from '../../context/services.js';
import type { Viewer } from '../../context/viewer.js';
import { OPERATOR_KINDS, Organization } from '../organizations/organization.entity.js';
import { setRevokedBits } from '../status-lists/status-list.service.js';
import { type ISigningKey, SigningKey, type SigningKeyStatus } from './signing-key.entity.js';
import type { RequestContext } from '../../context/request-context.js';
import type { KeyStore } from './key-store.js';

/** Kinds that may list every brand's keys (public data; the list shows statuses and revocation reasons). */
const LIST_ALL_KINDS = new Set(['PLATFORM', 'REGULATOR', 'CUSTOMS']);
/** A unique violation on the one-ACTIVE-key index means another request won a race; try again this often. */
const MAX_ATTEMPTS = 3;

/** What a verifier needs to know about a key; never the private key reference. */
export type PublicSigningKey = {
  kid: string;
  brandId: string;
  status: SigningKeyStatus;
  algorithm: string;
  /** Raw 32-byte Ed25519 public key. */
  publicKey: Uint8Array;
  createdAt: Date;
  retiredAt: Date | null;
  revokedAt: Date | null;
  revocationReason: string | null;
};

/** Signs with one brand's ACTIVE key; `kid` goes beside every signature it makes. */
export type Signer = { kid: string; sign(messages: readonly Uint8Array[]): Promise<Uint8Array[]> };

/** RFC 7638 JWK thumbprint of an Ed25519 public key: base64url SHA-256 of `{"crv","kty","x"}` in JCS order. */
export function kidFor(publicKey: Uint8Array): string {
  return toBase64Url(sha256(canonicalBytes({ crv: 'Ed25519', kty: 'OKP', x: toBase64Url(publicKey) })));
}

function toPublic(k: ISigningKey): PublicSigningKey {
  return {
    kid: k.kid,
    brandId: k.brand.id,
    status: k.status,
    algorithm: k.algorithm,
    publicKey: fromBase64Url(k.publicKey),
    createdAt: k.createdAt,
    retiredAt: k.retiredAt ?? null,
    revokedAt: k.revokedAt ?? null,
    revocationReason: k.revocationReason ?? null,
  };
}

/**
 * The organisation a viewer manages keys for: its own, and only as a BRAND or a SERVICE_PARTNER (which signs the
 * batteries it repurposes or remanufactures). Nobody manages another organisation's keys, not even the platform.
 */
function brandOf(viewer: Viewer): string {
  if (viewer.kind !== 'ORGANIZATION') throw new UnauthenticatedError();
  if (!OPERATOR_KINDS.has(viewer.orgKind)) throw new ForbiddenError('Only a BRAND or SERVICE_PARTNER organisation manages signing keys, its own');
  return viewer.organizationId;
}

function isUniqueViolation(e: unknown): boolean {
  return e instanceof UniqueConstraintViolationException;
}

async function newKeyRow(services: Pick<AppServices, 'keyStore'>) {
  const { publicKey, privateKeyRef } = await services.keyStore.generate();
  return { kid: kidFor(publicKey), publicKey: toBase64Url(publicKey), privateKeyRef, keyStore: services.keyStore.name };
}

async function findActive(em: EntityManager, brandId: string): Promise<ISigningKey | null> {
  return em.findOne(SigningKey, { brand: brandId, status: 'ACTIVE' }, { refresh: true });
}

/**
 * Brands' Ed25519 signing keys: the ACTIVE one signs, RETIRED ones still verify what they signed,
 * REVOKED ones verify nothing. Knows nothing of GraphQL.
 *
 * Races: a partial unique index allows one ACTIVE key per brand. Rotation and revocation lock the
 * brand's organisation row, so they run one at a time per brand; the lazy first key of
 * {@link activeSigner} does not lock and relies on the index instead (the loser re-reads).
 */
export const signingKeyService = {
  kidFor,

  /**
   * The operator's ACTIVE signer; creates a brand's first key when it has none (for example after
   * its ACTIVE key was revoked). Safe to call inside a transaction: the insert runs in a savepoint.
   * A service partner's keys are never made for it: it creates them itself (rotateSigningKey).
   * @throws BadInputError for a SERVICE_PARTNER without an ACTIVE key; NotFoundError for any other non-brand.
   */
  async activeSigner(em: EntityManager, services: Pick<AppServices, 'keyStore'>, brandId: string): Promise<Signer> {
    const signerOf = (k: ISigningKey): Signer => {
      const ref = k.privateKeyRef;
      return { kid: k.kid, sign: (messages) => services.keyStore.sign(ref, messages) };
    };
    if (!isUuid(brandId)) throw new NotFoundError('Brand', brandId);
    const existing = await findActive(em, brandId);
    if (existing) return signerOf(existing);

    const brand = await em.findOne(Organization, { id: brandId });
    if (brand?.kind === 'SERVICE_PARTNER') {
      throw new BadInputError('The service partner has no ACTIVE signing key: create one with rotateSigningKey first', { field: 'signingKey' });
    }
    if (!brand || brand.kind !== 'BRAND') throw new NotFoundError('Brand', brandId);
    for (let attempt = 1; ; attempt++) {
      const row = await newKeyRow(services);
      try {
        // clear: only this row is flushed, never the caller's pending changes; a failed insert only rolls back the savepoint.
        const created = await em.transactional(
          async (tx) => {
            const key = tx.create(SigningKey, { ...row, brand: brandId, status: 'ACTIVE' });
            await tx.flush();
            return key;
          },
          { clear: true },
        );
        return signerOf(created);
      } catch (e) {
        if (!isUniqueViolation(e)) throw e;
        // Another request created the brand's key first (the generated key is discarded, never used).
        await services.keyStore.destroy?.(row.privateKeyRef);
        const winner = await findActive(em, brandId);
        if (winner) return signerOf(winner);
        if (attempt >= MAX_ATTEMPTS) throw e;
      }
    }
  },

  /**
   * Retires the viewer brand's ACTIVE key (if any) and makes a new one ACTIVE, in one transaction
   * under a lock on the brand's organisation row. RETIRED keys stay published for verification.
   */
  async rotate(ctx: RequestContext): Promise<ISigningKey> {
    const { em, services, viewer } = ctx;
    const brandId = brandOf(viewer);
    for (let attempt = 1; ; attempt++) {
      // Generated outside the lock so a slow key store (HSM, KMS) does not hold it.
      const row = await newKeyRow(services);
      try {
        return await em.transactional(
          async (tx) => {
            const brand = await tx.findOne(Organization, { id: brandId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
            if (!brand) throw new NotFoundError('Brand', brandId);
            const current = await tx.findOne(SigningKey, { brand: brandId, status: 'ACTIVE' });
            if (current) {
              current.status = 'RETIRED';
              current.retiredAt = new Date();
              await tx.flush(); // before the insert: the one-ACTIVE index checks each statement
            }
            const key = tx.create(SigningKey, { ...row, brand: brandId, status: 'ACTIVE' });
            await tx.flush();
            return key;
          },
          { clear: true },
        );
      } catch (e) {
        // Only a concurrent lazy creation by activeSigner (which takes no lock) can get here; retry.
        if (!isUniqueViolation(e)) throw e;
        await services.keyStore.destroy?.(row.privateKeyRef); // never committed
        if (attempt >= MAX_ATTEMPTS) throw e;
      }
    }
  },

  /**
   * Revokes one of the viewer brand's keys: it no longer verifies anything and is no longer
   * published. Revoking the ACTIVE key leaves the brand without one until the next signature or
   * rotation. Idempotent: a second call keeps the first time and reason.
   * @throws NotFoundError for an unknown kid or another brand's kid (kids do not leak).
   * With `keyStore`, the private key is then destroyed where the store holds it (a token); a second call retries that.
   */
  async revoke(em: EntityManager, viewer: Viewer, kid: string, reason: string, keyStore?: Pick<KeyStore, 'destroy'>): Promise<ISigningKey> {
    const brandId = brandOf(viewer);
    const text = reason.trim();
    if (text.length < 1 || text.length > 500) throw new BadInputError('reason: must be 1 to 500 characters', { field: 'reason' });
    if (kid.length > 64) throw new NotFoundError('SigningKey', kid);
    const revoked = await em.transactional(
      async (tx) => {
        // The same lock as rotate: a rotation must not turn a key revoked meanwhile back into RETIRED.
        await tx.findOne(Organization, { id: brandId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
        const key = await tx.findOne(SigningKey, { kid, brand: brandId });
        if (!key) throw new NotFoundError('SigningKey', kid);
        if (key.status !== 'REVOKED') {
          key.status = 'REVOKED';
          key.revokedAt = new Date();
          key.revocationReason = text;
          await tx.flush();
          // Every unit the key signed is revoked in the brand's status lists, in this transaction.
          await setRevokedBits(tx, { kid });
        }
        return key;
      },
      { clear: true },
    );
    // After the commit: a key destroyed for a revocation that then rolled back would leave the brand unable to sign.
    await keyStore?.destroy?.(revoked.privateKeyRef);
    return revoked;
  },

  /** A brand or service partner sees its own keys; the platform, regulators and customs see everyone's. Newest first. */
  async list(em: EntityManager, viewer: Viewer): Promise<ISigningKey[]> {
    if (viewer.kind !== 'ORGANIZATION') throw new UnauthenticatedError();
    const orderBy = { createdAt: 'desc', kid: 'asc' } as const;
    if (OPERATOR_KINDS.has(viewer.orgKind)) return em.find(SigningKey, { brand: viewer.organizationId }, { orderBy });
    if (LIST_ALL_KINDS.has(viewer.orgKind)) return em.find(SigningKey, {}, { orderBy });
    throw new ForbiddenError(`An organisation of kind ${viewer.orgKind} may not list signing keys`);
  },

  /** Keys by kid, whatever their status, for verification; unknown kids are absent from the map. */
  async keysByKid(em: EntityManager, kids: readonly string[]): Promise<Map<string, PublicSigningKey>> {
    const wanted = [...new Set(kids)].filter((k) => typeof k === 'string' && k.length > 0 && k.length <= 64);
    if (!wanted.length) return new Map();
    const rows = await em.find(SigningKey, { kid: { $in: wanted } });
    return new Map(rows.map((k) => [k.kid, toPublic(k)]));
  },

  /**
   * Every ACTIVE or RETIRED key (of one brand, or of all), oldest first: what JWKS and DID documents
   * publish. REVOKED keys are left out, so offline verifiers reject what they signed.
   */
  async publishedKeys(em: EntityManager, brandId?: string): Promise<PublicSigningKey[]> {
    if (brandId !== undefined && !isUuid(brandId)) return [];
    const rows = await em.find(
      SigningKey,
      { status: { $in: ['ACTIVE', 'RETIRED'] }, ...(brandId !== undefined ? { brand: brandId } : {}) },
      { orderBy: { createdAt: 'asc', kid: 'asc' } },
    );
    return rows.map(toPublic);
  },
};
