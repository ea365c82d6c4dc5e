import { randomUUID } from 'node:crypto';
import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { Organization } from '../organizations/organization.entity.js';
import { ProductModel } from '../product-models/product-model.entity.js';
import { ManufacturingSite } from '../sites/site.entity.js';

export const PASSPORT_STATUSES = ['MINTED', 'SIGNED', 'IN_SUPPLY_CHAIN', 'SOLD', 'OWNED', 'END_OF_LIFE', 'RECYCLED', 'REVOKED'] as const;
export type PassportStatus = (typeof PASSPORT_STATUSES)[number];
export const CARRIERS = ['QR', 'NFC_SUN', 'QR_AND_NFC'] as const;
export type Carrier = (typeof CARRIERS)[number];

export const MintBatch = defineEntity({
  name: 'MintBatch',
  tableName: 'mint_batch',
  uniques: [{ properties: ['brand', 'idempotencyKey'] }],
  properties: {
    id: p.uuid().primary().onCreate(() => randomUUID()),
    brand: () => p.manyToOne(Organization).ref(),
    model: () => p.manyToOne(ProductModel).ref(),
    gtin: p.string().length(14),
    quantity: p.integer(),
    idempotencyKey: p.string().length(200),
    /** SHA-256 of the canonical request, so a retried key with other input is a CONFLICT. */
    requestHash: p.string().length(64),
    lot: p.string().length(20).nullable(),
    site: p.string().length(200).nullable(),
    /** The registered site the mint named (`MintInput.siteId`): where its units were made, for the whole batch. */
    manufacturingSite: () => p.manyToOne(ManufacturingSite).ref().nullable().deleteRule('no action'),
    carrier: p.enum(CARRIERS).nativeEnumName('carrier'),
    destinationMarkets: p.array().default([]),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});
export type IMintBatch = InferEntity<typeof MintBatch>;

export const Passport = defineEntity({
  name: 'Passport',
  tableName: 'passport',
  // A unit's history is evidence: its passport row is never deleted (end of life and recycling are statuses).
  triggers: [
    {
      name: 'passport_never_deleted',
      timing: 'before',
      events: ['delete'],
      forEach: 'row',
      body: "raise exception 'passport rows are never deleted';",
    },
  ],
  indexes: [{ properties: ['brand', 'createdAt', 'id'] }, { properties: ['batch'] }],
  uniques: [{ properties: ['gtin', 'serial'] }],
  properties: {
    id: p.uuid().primary().onCreate(() => randomUUID()),
    gtin: p.string().length(14),
    serial: p.string().length(20),
    // Copies of the batch's brand and model, for filtering without a join. No foreign key constraint of
    // their own: the batch's constraint covers them (a unit is only ever written with its batch's values),
    // and the two extra checks per row were a fifth of the database's work when minting 100,000 units.
    brand: () => p.manyToOne(Organization).ref().createForeignKeyConstraint(false),
    model: () => p.manyToOne(ProductModel).ref().createForeignKeyConstraint(false),
    batch: () => p.manyToOne(MintBatch).ref(),
    lot: p.string().length(20).nullable(),
    site: p.string().length(200).nullable(),
    manufacturedAt: p.datetime(),
    carrier: p.enum(CARRIERS).nativeEnumName('carrier'),
    destinationMarkets: p.array().default([]),
    status: p.enum(PASSPORT_STATUSES).nativeEnumName('passport_status'),
    /** base64url Ed25519 signature over the JCS identity record; null until signed. */
    signature: p.string().length(100).nullable(),
    kid: p.string().length(64).nullable(),
    signedAt: p.datetime().nullable(),
    /** Hash of the newest lifecycle event (head of the chain) and its sequence number. */
    headHash: p.string().length(64).nullable(),
    headSeq: p.integer().default(0),
    /** HMAC-SHA256 of the claim code printed inside the packaging. */
    claimCodeHash: p.string().length(64),
    /**
     * The unit's entry in its brand's revocation status list (W3C Bitstring Status List); never changes once set.
     * Distinct by construction (drawn under the list's row lock), so no unique index costs every mint.
     */
    statusListId: p.uuid().nullable(),
    statusIndex: p.integer().nullable(),
    /** The highest number among the unit's scans the retention job deleted: its lifetime count survives them. */
    scansPurged: p.integer().default(0),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p.datetime().onCreate(() => new Date()).onUpdate(() => new Date()),
  },
});
export type IPassport = InferEntity<typeof Passport>;
