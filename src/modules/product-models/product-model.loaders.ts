import type { EntityManager } from '@mikro-orm/postgresql';
import DataLoader from 'dataloader';
import { type IProductModel, ProductModel } from './product-model.entity.js';
import type { Context } from '../../context/request-context.js';

export function createProductModelLoaders(em: EntityManager) {
  return {
    productModelById: new DataLoader<string, IProductModel | undefined>(async (ids) => {
      const rows = await em.find(ProductModel, { id: { $in: [...ids] } });
      const byId = new Map(rows.map((m) => [m.id, m]));
      return ids.map((id) => byId.get(id));
    }),
  };
}

/** This request's product model loaders. */
export const productModelLoaders = (ctx: Context) => ctx.loaders(createProductModelLoaders);
