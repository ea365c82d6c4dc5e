import type { EntityManager } from '@mikro-orm/postgresql';
import DataLoader from 'dataloader';
import { ApiKey, type IApiKey, type IOrganization, Organization } from './organization.entity.js';
import type { Context } from '../../context/request-context.js';

export function createOrganizationLoaders(em: EntityManager) {
  return {
    organizationById: new DataLoader<string, IOrganization | undefined>(async (ids) => {
      const rows = await em.find(Organization, { id: { $in: [...ids] } });
      const byId = new Map(rows.map((o) => [o.id, o]));
      return ids.map((id) => byId.get(id));
    }),
    apiKeysByOrganization: new DataLoader<string, IApiKey[]>(async (orgIds) => {
      const rows = await em.find(ApiKey, { organization: { $in: [...orgIds] } }, { orderBy: { createdAt: 'asc' } });
      return orgIds.map((id) => rows.filter((k) => k.organization.id === id));
    }),
  };
}

/** This request's organization loaders. */
export const organizationLoaders = (ctx: Context) => ctx.loaders(createOrganizationLoaders);
