import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { RateLimiterRes } from 'rate-limiter-flexible';
import { derivedSecretKey } from '../../crypto/master-key.js';
import { isUuid } from '../../db/ids.js';
import { rawQuery } from '../../db/raw.js';
import { AppError, BadInputError, ConflictError, NotFoundError, RateLimitedError, UnauthenticatedError } from '../../errors/app-error.js';
import type { Viewer } from '../../context/viewer.js';
import { historyService } from '../history/history.service.js';
import { canMove } from '../history/state-machine.js';
import { ClaimCodes, formatCode80, normaliseCode } from '../passports/identity.js';
import type { PassportStatus } from '../passports/passport.entity.js';
import { NotTheOwnerError } from './ownership.errors.js';
import { parseAssertion, passkeyService } from './passkey.service.js';
import type { RequestContext } from '../../context/request-context.js';

/** Wrong claim codes one unit takes per hour: the tenth is answered RATE_LIMITED, and so is every attempt after it. */
export const CLAIM_CODE_ATTEMPTS_PER_HOUR = 10;

type OwnerViewer = Extract<Viewer, { kind: 'OWNER' }>;

/** A unit as locked for an ownership change. */
export type LockedUnit = {
  id: string;
  gtin: string;
  brand_id: string;
  model_id: string;
  batch_id: string;
  status: PassportStatus;
  signature: string | null;
  kid: string | null;
  claim_code_hash: string;
};

/** One ownership period, as the API shows it. */
export type OwnershipRecord = { id: string; passportId: string; ownerId: string; since: Date; until: Date | null; acquiredVia: 'CLAIM' | 'TRANSFER' };

type OwnershipRow = { id: string; passport_id: string; owner_id: string; started_at: string | Date; ended_at: string | Date | null; acquired_via: 'CLAIM' | 'TRANSFER' };

export const toOwnership = (r: OwnershipRow): OwnershipRecord => ({
  id: r.id,
  passportId: r.passport_id,
  ownerId: r.owner_id,
  since: new Date(r.started_at),
  until: r.ended_at === null ? null : new Date(r.ended_at),
  acquiredVia: r.acquired_via,
});

export type TransferOfferRecord = { id: string; passportId: string; code: string; expiresAt: Date };

class WrongClaimCodeError extends AppError {
  constructor(attemptsLeft: number) {
    super('BAD_USER_INPUT', 'The claim code does not match this unit', { field: 'claimCode', reason: 'WRONG_CLAIM_CODE', attemptsLeft });
  }
}

export function requireOwner(viewer: Viewer): OwnerViewer {
  if (viewer.kind !== 'OWNER') throw new UnauthenticatedError('Sign in with a passkey: an owner session token is required');
  return viewer;
}

/** Locks the unit's row for the rest of the transaction: ownership changes of one unit queue. */
export async function lockUnit(tx: EntityManager, passportId: string): Promise<LockedUnit> {
  const [row] = isUuid(passportId)
    ? await rawQuery<LockedUnit>(
        tx,
        `select id, gtin, brand_id, model_id, batch_id, status, signature, kid, claim_code_hash from passport where id = $1 for update`,
        [passportId],
      )
    : [];
  if (!row) throw new NotFoundError('Passport', passportId);
  return row;
}

/** The open ownership of a unit (its current owner), if any. */
export async function currentOwnership(em: EntityManager, passportId: string): Promise<OwnershipRecord | undefined> {
  const [row] = await rawQuery<OwnershipRow>(em, `select * from ownership where passport_id = $1 and ended_at is null`, [passportId]);
  return row ? toOwnership(row) : undefined;
}

/** Transfer codes: 80 random bits as 16 Crockford base32 characters; only a keyed hash is stored. */
export const transferCodes = {
  generate(): string {
    return formatCode80(randomBytes(10));
  },
  /** Keyed hash of a code as a person types it (case, spaces and dashes ignored; I/L→1, O→0). */
  hash(masterKey: Uint8Array, code: string): string {
    return createHmac('sha256', derivedSecretKey(masterKey, 'transfer-code-hash')).update(normaliseCode(code)).digest('hex');
  },
};

const claimCodeHashers = new WeakMap<Uint8Array, ClaimCodes>();
function claimCodesFor(masterKey: Uint8Array): ClaimCodes {
  let codes = claimCodeHashers.get(masterKey);
  if (!codes) claimCodeHashers.set(masterKey, (codes = new ClaimCodes(masterKey)));
  return codes;
}

/** Constant-time comparison of two hex digests. */
function sameDigest(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}

function code(value: string, field: string): string {
  const v = value.trim();
  if (v.length < 1 || v.length > 64) throw new BadInputError(`${field}: 1 to 64 characters`, { field });
  return v;
}

/**
 * Consumer ownership of units: the first claim (claim code + passkey), two-sided transfers (offer with
 * a one-time code, accept, cancel) and the owner's own lists. Every act is one transaction that locks
 * the unit, consumes a passkey challenge bound to that act and unit, and appends a history event that
 * names no person. Knows nothing of GraphQL.
 */
export const ownershipService = {
  /**
   * First ownership of a SOLD unit with no owner: the right claim code (keyed hash, constant-time
   * comparison) and the owner's CLAIM_OWNERSHIP assertion for that unit. Wrong codes are limited per
   * unit ({@link CLAIM_CODE_ATTEMPTS_PER_HOUR} an hour); a point is taken before the code is looked at,
   * so concurrent guesses cannot overshoot, and given back when the code was never compared or was right.
   */
  async claim(ctx: RequestContext, passportId: string, claimCode: string, assertionJson: unknown): Promise<OwnershipRecord> {
    const { em, services, viewer } = ctx;
    const owner = requireOwner(viewer);
    const given = code(claimCode, 'claimCode');
    const assertion = parseAssertion(assertionJson);
    if (!isUuid(passportId)) throw new NotFoundError('Passport', passportId);
    const unitKey = passportId.toLowerCase();
    const limiter = services.claimCodeLimiter;
    let taken: RateLimiterRes;
    try {
      taken = await limiter.consume(unitKey);
    } catch (e) {
      if (e instanceof RateLimiterRes) throw new RateLimitedError(Math.max(1, Math.ceil(e.msBeforeNext / 1000)));
      throw e;
    }
    let wrongCode = false;
    try {
      return await em.transactional(async (t) => {
        const tx = t as EntityManager;
        const unit = await lockUnit(tx, unitKey);
        await passkeyService.verifyAssertion(tx, services, owner, assertion, { purpose: 'CLAIM_OWNERSHIP', passportId: unit.id });
        if (await currentOwnership(tx, unit.id)) throw new ConflictError('This unit already has an owner; ask them for a transfer', { reason: 'ALREADY_OWNED' });
        if (unit.status !== 'SOLD') throw new ConflictError(`Only a sold unit can be claimed (this one is ${unit.status})`, { reason: 'NOT_SOLD', status: unit.status });
        if (!sameDigest(claimCodesFor(services.masterKey).hash(given), unit.claim_code_hash)) {
          wrongCode = true;
          throw new WrongClaimCodeError(Math.max(0, CLAIM_CODE_ATTEMPTS_PER_HOUR - taken.consumedPoints));
        }
        const ownership = await openOwnership(tx, unit.id, owner.ownerId, 'CLAIM');
        await historyService.appendEvent(tx, { passportId: unit.id, type: 'OWNERSHIP_CLAIMED', actorId: null, payload: { via: 'CLAIM_CODE' } });
        return ownership;
      });
    } catch (e) {
      if (wrongCode && taken.consumedPoints >= CLAIM_CODE_ATTEMPTS_PER_HOUR) throw new RateLimitedError(Math.max(1, Math.ceil(taken.msBeforeNext / 1000)));
      throw e;
    } finally {
      if (!wrongCode) await limiter.reward(unitKey, 1).catch(() => undefined);
    }
  },

  /**
   * The current owner offers the unit (OFFER_TRANSFER assertion for it): a one-time code that expires.
   * A newer offer replaces an open one. The code is returned here only.
   */
  async offer(ctx: RequestContext, passportId: string, assertionJson: unknown): Promise<TransferOfferRecord> {
    const { em, services, viewer } = ctx;
    const owner = requireOwner(viewer);
    const assertion = parseAssertion(assertionJson);
    if (!isUuid(passportId)) throw new NotFoundError('Passport', passportId);
    return em.transactional(async (t) => {
      const tx = t as EntityManager;
      const unit = await lockUnit(tx, passportId);
      await passkeyService.verifyAssertion(tx, services, owner, assertion, { purpose: 'OFFER_TRANSFER', passportId: unit.id });
      const current = await currentOwnership(tx, unit.id);
      if (!current || current.ownerId !== owner.ownerId) throw new NotTheOwnerError();
      if (!canMove(unit.status, 'OWNERSHIP_TRANSFERRED')) throw new ConflictError(`A ${unit.status} unit cannot change hands`, { reason: 'NOT_TRANSFERABLE', status: unit.status });
      const now = new Date();
      await rawQuery(tx, `update transfer_offer set status = 'CANCELLED', closed_at = $2 where passport_id = $1 and status = 'OPEN'`, [unit.id, now.toISOString()]);
      const transferCode = transferCodes.generate();
      const id = randomUUID();
      const expiresAt = new Date(now.getTime() + services.config.owners.transferOfferTtlSeconds * 1000);
      await rawQuery(
        tx,
        `insert into transfer_offer (id, passport_id, ownership_id, code_hash, status, expires_at, created_at) values ($1, $2, $3, $4, 'OPEN', $5, $6)`,
        [id, unit.id, current.id, transferCodes.hash(services.masterKey, transferCode), expiresAt.toISOString(), now.toISOString()],
      );
      await historyService.appendEvent(tx, { passportId: unit.id, type: 'OWNERSHIP_TRANSFERRED', actorId: null, payload: { step: 'OFFERED', offerId: id, expiresAt: expiresAt.toISOString() } });
      return { id, passportId: unit.id, code: transferCode, expiresAt };
    });
  },

  /** The current owner withdraws the unit's open offer (its code stops working at once). */
  async cancel(em: EntityManager, viewer: Viewer, passportId: string): Promise<{ offerId: string }> {
    const owner = requireOwner(viewer);
    if (!isUuid(passportId)) throw new NotFoundError('Passport', passportId);
    return em.transactional(async (t) => {
      const tx = t as EntityManager;
      const unit = await lockUnit(tx, passportId);
      const current = await currentOwnership(tx, unit.id);
      if (!current || current.ownerId !== owner.ownerId) throw new NotTheOwnerError();
      const [offer] = await rawQuery<{ id: string }>(
        tx,
        `update transfer_offer set status = 'CANCELLED', closed_at = $2 where passport_id = $1 and status = 'OPEN' returning id`,
        [unit.id, new Date().toISOString()],
      );
      if (!offer) throw new NotFoundError('TransferOffer');
      // A unit that reached end of life meanwhile takes no more ownership events; the cancellation still stands.
      if (canMove(unit.status, 'OWNERSHIP_TRANSFERRED')) {
        await historyService.appendEvent(tx, { passportId: unit.id, type: 'OWNERSHIP_TRANSFERRED', actorId: null, payload: { step: 'CANCELLED', offerId: offer.id } });
      }
      return { offerId: offer.id };
    });
  },

  /**
   * The recipient takes the unit with the one-time code and their ACCEPT_TRANSFER assertion for it. The
   * unit is locked and the offer moves OPEN → ACCEPTED by compare-and-swap, so of concurrent accepts
   * exactly one succeeds; the former owner's ownership closes in the same transaction.
   */
  async accept(ctx: RequestContext, transferCode: string, assertionJson: unknown): Promise<OwnershipRecord> {
    const { em, services, viewer } = ctx;
    const owner = requireOwner(viewer);
    const given = code(transferCode, 'code');
    const assertion = parseAssertion(assertionJson);
    const [found] = await rawQuery<{ id: string; passport_id: string }>(em, `select id, passport_id from transfer_offer where code_hash = $1`, [transferCodes.hash(services.masterKey, given)]);
    if (!found) throw new NotFoundError('TransferOffer');
    return em.transactional(async (t) => {
      const tx = t as EntityManager;
      const unit = await lockUnit(tx, found.passport_id);
      await passkeyService.verifyAssertion(tx, services, owner, assertion, { purpose: 'ACCEPT_TRANSFER', passportId: unit.id });
      const now = new Date();
      const [offer] = await rawQuery<{ id: string; ownership_id: string; status: string; expires_at: string | Date }>(
        tx,
        `select id, ownership_id, status, expires_at from transfer_offer where id = $1`,
        [found.id],
      );
      if (!offer || offer.status === 'CANCELLED') throw new ConflictError('This transfer offer was cancelled', { reason: 'OFFER_CANCELLED' });
      if (offer.status === 'ACCEPTED') throw new ConflictError('This transfer offer was already accepted', { reason: 'OFFER_USED' });
      if (new Date(offer.expires_at).getTime() <= now.getTime()) throw new ConflictError('This transfer offer has expired', { reason: 'OFFER_EXPIRED' });
      const current = await currentOwnership(tx, unit.id);
      if (!current || current.id !== offer.ownership_id) throw new ConflictError('The unit changed hands since this offer was made', { reason: 'OFFER_STALE' });
      if (current.ownerId === owner.ownerId) throw new BadInputError('You already own this unit', { reason: 'OWN_OFFER' });
      if (!canMove(unit.status, 'OWNERSHIP_TRANSFERRED')) throw new ConflictError(`A ${unit.status} unit cannot change hands`, { reason: 'NOT_TRANSFERABLE', status: unit.status });
      const swapped = await rawQuery(
        tx,
        `update transfer_offer set status = 'ACCEPTED', closed_at = $2 where id = $1 and status = 'OPEN' and expires_at > $2 returning id`,
        [offer.id, now.toISOString()],
      );
      if (swapped.length !== 1) throw new ConflictError('This transfer offer was already accepted', { reason: 'OFFER_USED' });
      const closed = await rawQuery(tx, `update ownership set ended_at = $2 where id = $1 and ended_at is null returning id`, [current.id, now.toISOString()]);
      if (closed.length !== 1) throw new ConflictError('The unit changed hands since this offer was made', { reason: 'OFFER_STALE' });
      const ownership = await openOwnership(tx, unit.id, owner.ownerId, 'TRANSFER', now);
      await rawQuery(tx, `update transfer_offer set accepted_ownership_id = $2 where id = $1`, [offer.id, ownership.id]);
      await historyService.appendEvent(tx, { passportId: unit.id, type: 'OWNERSHIP_TRANSFERRED', actorId: null, payload: { step: 'ACCEPTED', offerId: offer.id } });
      return ownership;
    });
  },

  /** Passport ids the owner holds now, most recently acquired first. */
  async currentPassportIds(em: EntityManager, viewer: Viewer): Promise<string[]> {
    const owner = requireOwner(viewer);
    const rows = await rawQuery<{ passport_id: string }>(em, `select passport_id from ownership where owner_id = $1 and ended_at is null order by started_at desc, id`, [owner.ownerId]);
    return rows.map((r) => r.passport_id);
  },

  /** Every ownership period of the owner, current and former, newest first. */
  async ownershipsOf(em: EntityManager, ownerId: string): Promise<OwnershipRecord[]> {
    const rows = await rawQuery<OwnershipRow>(em, `select * from ownership where owner_id = $1 order by started_at desc, id`, [ownerId]);
    return rows.map(toOwnership);
  },
};

async function openOwnership(tx: EntityManager, passportId: string, ownerId: string, via: 'CLAIM' | 'TRANSFER', at = new Date()): Promise<OwnershipRecord> {
  const [row] = await rawQuery<OwnershipRow>(
    tx,
    `insert into ownership (id, passport_id, owner_id, acquired_via, started_at) values ($1, $2, $3, $4::ownership_acquisition, $5) returning *`,
    [randomUUID(), passportId, ownerId, via, at.toISOString()],
  );
  return toOwnership(row!);
}
