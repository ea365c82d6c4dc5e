import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { Organization } from '../organizations/organization.entity.js';

export const SIGNING_KEY_STATUSES = ['ACTIVE', 'RETIRED', 'REVOKED'] as const;
export type SigningKeyStatus = (typeof SIGNING_KEY_STATUSES)[number];

export const SigningKey = defineEntity({
  name: 'SigningKey',
  tableName: 'signing_key',
  // At most one ACTIVE key per brand, whatever races between rotations.
  uniques: [{ name: 'signing_key_one_active_per_brand', properties: ['brand'], where: "status = 'ACTIVE'" }],
  properties: {
    /** Key id as published in JWKS and used in verification method fragments. */
    kid: p.string().length(64).primary(),
    brand: () => p.manyToOne(Organization).ref().index(),
    status: p.enum(SIGNING_KEY_STATUSES).nativeEnumName('signing_key_status'),
    algorithm: p.string().length(16).default('Ed25519'),
    /** Raw 32-byte Ed25519 public key, base64url. */
    publicKey: p.string().length(64),
    /** Where the KeyStore keeps the private key: an opaque reference (encrypted blob, HSM label, KMS ARN). */
    privateKeyRef: p.text(),
    keyStore: p.string().length(32),
    createdAt: p.datetime().onCreate(() => new Date()),
    retiredAt: p.datetime().nullable(),
    revokedAt: p.datetime().nullable(),
    revocationReason: p.string().length(500).nullable(),
  },
});
export type ISigningKey = InferEntity<typeof SigningKey>;
