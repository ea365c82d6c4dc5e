import type { EntityManager } from '@mikro-orm/postgresql';
import { createOrganizationLoaders } from '../modules/organizations/organization.loaders.js';
import { createPassportLoaders } from '../modules/passports/passport.loaders.js';
import { createProductModelLoaders } from '../modules/product-models/product-model.loaders.js';

/** Per-request DataLoaders of every feature; created with the context, never at module level. */
export function createLoaders(em: EntityManager) {
  return { ...createOrganizationLoaders(em), ...createProductModelLoaders(em), ...createPassportLoaders(em) };
}
export type Loaders = ReturnType<typeof createLoaders>;
