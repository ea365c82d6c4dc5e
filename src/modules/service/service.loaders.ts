import type { EntityManager } from '@mikro-orm/postgresql';
import DataLoader from 'dataloader';
import { type IServiceRecord, ServiceRecord } from './service.entity.js';
import type { Context } from '../../context/request-context.js';

/** Per-request loaders of the service feature. */
export function createServiceLoaders(em: EntityManager) {
  return {
    /** Service records of many passports in one query, each unit's in history order. */
    serviceRecordsByPassport: new DataLoader<string, IServiceRecord[]>(async (passportIds) => {
      const rows = await em.find(ServiceRecord, { passport: { $in: [...passportIds] } }, { orderBy: { passport: 'asc', eventSeq: 'asc' } });
      const byPassport = new Map<string, IServiceRecord[]>(passportIds.map((id) => [id, []]));
      for (const r of rows) byPassport.get(r.passport.id)?.push(r);
      return passportIds.map((id) => byPassport.get(id) ?? []);
    }),
  };
}

/** This request's service loaders. */
export const serviceLoaders = (ctx: Context) => ctx.loaders(createServiceLoaders);
