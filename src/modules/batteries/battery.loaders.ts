import type { EntityManager } from '@mikro-orm/postgresql';
import DataLoader from 'dataloader';
import type { Context } from '../../context/request-context.js';
import { type BatteryUnitFacts, loadBatteryFactsMany } from './battery-pass.js';

/** Per-request loaders of the battery module. */
export function createBatteryLoaders(em: EntityManager) {
  return {
    /** A unit's battery facts (null when it is not a battery), one statement for a whole page of passports. */
    factsByPassport: new DataLoader<string, BatteryUnitFacts | null>(async (ids) => {
      const facts = await loadBatteryFactsMany(em, ids);
      return ids.map((id) => facts.get(id) ?? null);
    }),
  };
}

/** This request's battery loaders. */
export const batteryLoaders = (ctx: Context) => ctx.loaders(createBatteryLoaders);
