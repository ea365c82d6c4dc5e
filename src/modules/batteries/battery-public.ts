import type { EntityManager } from '@mikro-orm/postgresql';
import { AUDIENCE_POINTS, filterBatteryPass } from './annex-xiii.js';
import { assembleBatteryPass, type BatteryUnitFacts, loadBatteryFacts } from './battery-pass.js';

/**
 * The public part (Annex XIII point 1) of a unit's battery pass, for the signed credentials and the resolver
 * page; null for a unit that is not a battery, and once the battery (or one later made from it) is recycled (Art. 77(8)).
 */
export function publicBatteryPart(facts: BatteryUnitFacts | null, resolverHost: string): Record<string, Record<string, unknown>> | null {
  if (!facts || facts.ceased) return null;
  return filterBatteryPass(assembleBatteryPass(facts, resolverHost), AUDIENCE_POINTS.PUBLIC);
}

/** {@link publicBatteryPart} of one passport, read in one statement. */
export async function loadPublicBatteryPart(em: EntityManager, passportId: string, resolverHost: string): Promise<Record<string, Record<string, unknown>> | null> {
  return publicBatteryPart(await loadBatteryFacts(em, passportId), resolverHost);
}
