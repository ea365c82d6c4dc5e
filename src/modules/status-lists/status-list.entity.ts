import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { Organization } from '../organizations/organization.entity.js';

/**
 * One W3C Bitstring Status List of a brand (purpose `revocation`): which positions are taken by units
 * (`allocated`, never published) and which are set (`bits`, published as the list credential).
 * `version` grows with every change to `bits`: the ETag, and the key of the signed credential cache.
 */
export const StatusList = defineEntity({
  name: 'StatusList',
  tableName: 'status_list',
  indexes: [{ properties: ['brand', 'purpose', 'createdAt'] }],
  properties: {
    id: p.uuid().primary(),
    brand: () => p.manyToOne(Organization).ref(),
    purpose: p.string().length(20),
    size: p.integer(),
    allocatedCount: p.integer().default(0),
    allocated: p.blob(),
    bits: p.blob(),
    version: p.integer().default(1),
    createdAt: p.datetime(),
    updatedAt: p.datetime(),
  },
});
export type IStatusList = InferEntity<typeof StatusList>;
