import type { EntityManager } from '@mikro-orm/postgresql';
import { rawQuery } from '../../db/raw.js';
import { BadInputError } from '../../errors/app-error.js';

/** The heaviest battery weight accepted, in kg (a large stationary storage battery stays well below). */
export const MAX_BATTERY_MASS_KG = 100_000;

/**
 * `MintInput.batteryMasses` checked: one weight per unit (`quantity` of them), each a positive number of kg up to
 * {@link MAX_BATTERY_MASS_KG}; null when not given. BAD_USER_INPUT names the field and the first bad index.
 */
export function validBatteryMasses(masses: readonly number[] | null | undefined, quantity: number): number[] | null {
  if (masses === null || masses === undefined) return null;
  if (masses.length !== quantity) throw new BadInputError(`batteryMasses: one weight per unit (${quantity}), not ${masses.length}`, { field: 'batteryMasses' });
  const bad = masses.findIndex((m) => typeof m !== 'number' || !Number.isFinite(m) || m <= 0 || m > MAX_BATTERY_MASS_KG);
  if (bad >= 0) throw new BadInputError(`batteryMasses[${bad}]: a weight in kg above 0 and at most ${MAX_BATTERY_MASS_KG}`, { field: 'batteryMasses', index: bad });
  return [...masses];
}

/** BAD_USER_INPUT unless the model is a battery model; in the mint's transaction, before it writes a unit. */
export async function assertBatteryModel(tx: EntityManager, modelId: string): Promise<void> {
  const [model] = await rawQuery(tx, 'select 1 from battery_model where model_id = $1', [modelId]);
  if (!model) throw new BadInputError('batteryMasses: only for a battery model (this model has no battery data)', { field: 'batteryMasses' });
}

/** Stores the weights of freshly minted units in the mint's transaction (`ids` in mint order, as `masses`). */
export async function storeBatteryMasses(tx: EntityManager, ids: readonly string[], masses: readonly number[]): Promise<void> {
  await rawQuery(tx, 'insert into battery_unit_mass (passport_id, mass_kg) select * from unnest($1::uuid[], $2::float8[])', [ids, masses]);
}
