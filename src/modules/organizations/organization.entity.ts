import { randomUUID } from 'node:crypto';
import { defineEntity, type InferEntity, p } from '@mikro-orm/core';

export const ORG_KINDS = [
  'PLATFORM',
  'BRAND',
  'RETAILER',
  'DISTRIBUTOR',
  'REGULATOR',
  'CUSTOMS',
  'RECYCLER',
  'SERVICE_PARTNER',
] as const;
export type OrgKind = (typeof ORG_KINDS)[number];

/**
 * Kinds that can be a unit's economic operator, holding GS1 company prefixes and signing keys of their own: brands,
 * and service partners that repurpose or remanufacture batteries (a new battery under their own prefix, Art. 77(7)
 * of Regulation (EU) 2023/1542). `passport.brand_id` names the operator, whichever of the two it is.
 */
export const OPERATOR_KINDS: ReadonlySet<OrgKind> = new Set(['BRAND', 'SERVICE_PARTNER']);

export const Organization = defineEntity({
  name: 'Organization',
  tableName: 'organization',
  properties: {
    id: p.uuid().primary().onCreate(() => randomUUID()),
    name: p.string().length(200),
    kind: p.enum(ORG_KINDS).nativeEnumName('org_kind'),
    gs1CompanyPrefixes: p.array().default([]).fieldName('gs1_company_prefixes'),
    markets: p.array().default([]),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});
export type IOrganization = InferEntity<typeof Organization>;

export const ApiKey = defineEntity({
  name: 'ApiKey',
  tableName: 'api_key',
  properties: {
    id: p.uuid().primary().onCreate(() => randomUUID()),
    organization: () => p.manyToOne(Organization).ref().index(),
    label: p.string().length(200),
    /** SHA-256 (hex) of the secret; keys are 256-bit random, so a fast hash is enough. */
    secretHash: p.string().length(64).unique(),
    /** First characters of the secret, so a person can tell keys apart in a list. */
    hint: p.string().length(16),
    createdAt: p.datetime().onCreate(() => new Date()),
    revokedAt: p.datetime().nullable(),
    lastUsedAt: p.datetime().nullable(),
  },
});
export type IApiKey = InferEntity<typeof ApiKey>;
