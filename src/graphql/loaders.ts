import type { EntityManager } from '@mikro-orm/postgresql';
import { createCustodyLoaders } from '../modules/custody/custody.loaders.js';
import { createOrganizationLoaders } from '../modules/organizations/organization.loaders.js';
import { createOwnershipLoaders } from '../modules/ownership/ownership.loaders.js';
import { createPassportLoaders } from '../modules/passports/passport.loaders.js';
import { createProductModelLoaders } from '../modules/product-models/product-model.loaders.js';
import { createServiceLoaders } from '../modules/service/service.loaders.js';

/** Per-request DataLoaders of every feature; created with the context, never at module level. */
export function createLoaders(em: EntityManager) {
  return { ...createOrganizationLoaders(em), ...createProductModelLoaders(em), ...createPassportLoaders(em), ...createCustodyLoaders(em), ...createServiceLoaders(em), ...createOwnershipLoaders(em) };
}
export type Loaders = ReturnType<typeof createLoaders>;
