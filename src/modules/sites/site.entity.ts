import { randomUUID } from 'node:crypto';
import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { Organization } from '../organizations/organization.entity.js';

/**
 * A brand's manufacturing site, registered once and never changed (a plant that moves is a new site): units minted
 * there name it (`MintInput.siteId`), and a battery's `manufacturingPlace` is its postal address.
 */
export const ManufacturingSite = defineEntity({
  name: 'ManufacturingSite',
  tableName: 'manufacturing_site',
  // One brand, one site per identifier and per GLN; the indexes decide between concurrent registrations.
  uniques: [{ properties: ['brand', 'identifier'] }, { properties: ['brand', 'gln'] }],
  properties: {
    id: p.uuid().primary().onCreate(() => randomUUID()),
    brand: () => p.manyToOne(Organization).ref(),
    /** The brand's own code for the site (e.g. its plant number); what `MintInput.site` reads for its units. */
    identifier: p.string().length(64),
    name: p.string().length(200).nullable(),
    /** GS1 Global Location Number of the site, when it has one. */
    gln: p.string().length(13).nullable(),
    streetAddress: p.string().length(200),
    postalCode: p.string().length(20),
    locality: p.string().length(100),
    /** ISO 3166-1 alpha-2. */
    country: p.string().length(2),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});
export type IManufacturingSite = InferEntity<typeof ManufacturingSite>;
