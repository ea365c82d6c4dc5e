import { randomUUID } from 'node:crypto';
import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { Passport } from '../passports/passport.entity.js';
import { Owner } from './owner.entity.js';

export const OWNERSHIP_ACQUISITIONS = ['CLAIM', 'TRANSFER'] as const;

/**
 * Who owns a unit, over time. The open row (no `endedAt`) is the current owner, at most one per unit
 * (partial unique index); every right of an owner is checked against the open row, so a transfer that
 * closes it takes every right away from the former owner at once.
 */
export const Ownership = defineEntity({
  name: 'Ownership',
  tableName: 'ownership',
  indexes: [{ properties: ['passport', 'startedAt'] }],
  uniques: [{ name: 'ownership_one_open_per_passport', properties: ['passport'], where: 'ended_at is null' }],
  properties: {
    id: p.uuid().primary().onCreate(() => randomUUID()),
    passport: () => p.manyToOne(Passport).ref(),
    owner: () => p.manyToOne(Owner).ref().index(),
    acquiredVia: p.enum(OWNERSHIP_ACQUISITIONS).nativeEnumName('ownership_acquisition'),
    startedAt: p.datetime(),
    endedAt: p.datetime().nullable(),
  },
});
export type IOwnership = InferEntity<typeof Ownership>;

export const TRANSFER_OFFER_STATUSES = ['OPEN', 'ACCEPTED', 'CANCELLED'] as const;
export type TransferOfferStatus = (typeof TRANSFER_OFFER_STATUSES)[number];

/** An owner's offer to hand a unit over: a one-time code (only its keyed hash is stored) that expires. */
export const TransferOffer = defineEntity({
  name: 'TransferOffer',
  tableName: 'transfer_offer',
  uniques: [{ name: 'transfer_offer_one_open_per_passport', properties: ['passport'], where: "status = 'OPEN'" }],
  properties: {
    id: p.uuid().primary().onCreate(() => randomUUID()),
    passport: () => p.manyToOne(Passport).ref(),
    /** The ownership that made the offer; the offer dies with it. */
    ownership: () => p.manyToOne(Ownership).ref().index(),
    codeHash: p.string().length(64).unique(),
    status: p.enum(TRANSFER_OFFER_STATUSES).nativeEnumName('transfer_offer_status'),
    expiresAt: p.datetime(),
    createdAt: p.datetime().onCreate(() => new Date()),
    closedAt: p.datetime().nullable(),
    /** The ownership the accepted offer created. */
    acceptedOwnership: () => p.manyToOne(Ownership).ref().nullable(),
  },
});
export type ITransferOffer = InferEntity<typeof TransferOffer>;
