import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { newId } from '../../crypto/random.js';
import { Organization } from '../organizations/organization.entity.js';
import { Owner } from '../ownership/owner.entity.js';
import { Ownership } from '../ownership/ownership.entity.js';
import { Passport } from '../passports/passport.entity.js';

export const WARRANTY_CLAIM_STATUSES = ['OPEN', 'APPROVED', 'REJECTED'] as const;
export type WarrantyClaimStatus = (typeof WARRANTY_CLAIM_STATUSES)[number];

/** A warranty claim by a unit's owner, with its fraud assessment; decided by the unit's brand. Ids are time-ordered (UUIDv7). */
export const WarrantyClaim = defineEntity({
  name: 'WarrantyClaim',
  tableName: 'warranty_claim',
  indexes: [{ properties: ['brand', 'id'] }, { properties: ['passport'] }, { properties: ['claimant', 'createdAt'] }],
  // One OPEN claim per unit and issue: concurrent duplicates are refused by the database, not by a read-then-write.
  uniques: [{ name: 'warranty_claim_one_open_per_issue', properties: ['passport', 'issueKey'], where: "status = 'OPEN'" }],
  properties: {
    id: p.uuid().primary().onCreate(() => newId()),
    passport: () => p.manyToOne(Passport).ref(),
    /** The unit's brand, who decides. */
    brand: () => p.manyToOne(Organization).ref(),
    claimant: () => p.manyToOne(Owner).ref(),
    ownership: () => p.manyToOne(Ownership).ref(),
    /** Free text a person wrote; blanked (with `redactedAt`) when the claimant erases the account. */
    issue: p.text(),
    redactedAt: p.datetime().nullable(),
    /** SHA-256 of the issue text normalised (case, spacing, punctuation), to find repeated claims. */
    issueKey: p.string().length(64),
    status: p.enum(WARRANTY_CLAIM_STATUSES).nativeEnumName('warranty_claim_status'),
    /** 0 to 100: the sum of the weights of the signals that fired, capped. */
    riskScore: p.double(),
    reasons: p.array().default([]),
    /** The signals with their weights and facts (no personal data). */
    signals: p.json<Record<string, unknown>[]>(),
    /** Sequence number of the WARRANTY_CLAIMED history event; null when the unit's status allows no event (end of life, revoked). */
    eventSeq: p.integer().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    decidedAt: p.datetime().nullable(),
    decidedBy: () => p.manyToOne(Organization).ref().nullable(),
    decisionNote: p.string().length(1000).nullable(),
  },
});
export type IWarrantyClaim = InferEntity<typeof WarrantyClaim>;
