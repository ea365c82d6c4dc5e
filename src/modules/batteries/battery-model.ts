import { BadInputError } from '../../errors/app-error.js';
import { BATTERY_CATEGORIES, type BatteryCategory } from './battery.entity.js';
import { ASPECTS, type Aspect, aspectAttributes, type SchemaProblem, validateAspect } from './battery-schemas.js';

/** Largest `battery.data` accepted, as JSON text. */
export const MAX_BATTERY_DATA_BYTES = 256 * 1024;
/** How many schema problems one refusal lists. */
const MAX_PROBLEMS = 5;

/**
 * Attributes filled per unit, at read time, from the unit's own row and history (battery-pass.ts): a model
 * never carries them. Everything else the consortium's schemas define belongs to the model.
 */
export const UNIT_ATTRIBUTES: Readonly<Partial<Record<Aspect, readonly string[]>>> = {
  generalProductInformation: ['productIdentifier', 'batteryPassportIdentifier', 'batteryCategory', 'manufacturingDate', 'batteryStatus', 'puttingIntoService'],
  performance: ['batteryCondition'],
};

/** `EV` → the Battery Pass `batteryCategory`; PORTABLE and SLI batteries have no battery passport (Art. 77(1)). */
export const PASS_CATEGORY: Readonly<Partial<Record<BatteryCategory, string>>> = {
  EV: 'ev',
  LMT: 'lmt',
  INDUSTRIAL: 'industrial',
  STATIONARY_STORAGE: 'stationary',
};

export type BatteryModelInput = { category: string; data: unknown };
export type BatteryModelData = Record<Aspect, Record<string, unknown>>;

function refuse(problems: SchemaProblem[]): never {
  const first = problems[0]!;
  throw new BadInputError(`battery.data${first.pointer}: ${first.message} (rule ${first.rule})`, {
    field: 'battery.data',
    pointer: first.pointer,
    rule: first.rule,
    problems: problems.slice(0, MAX_PROBLEMS),
  });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** The model-level attributes of an aspect: the ones the schema defines and requires, less the per-unit ones. */
export function modelAttributes(aspect: Aspect): { defined: string[]; required: string[] } {
  const unit = new Set(UNIT_ATTRIBUTES[aspect] ?? []);
  const { defined, required } = aspectAttributes(aspect);
  return { defined: defined.filter((a) => !unit.has(a)), required: required.filter((a) => !unit.has(a)) };
}

/**
 * Validates a battery model: the category (one with a passport under Art. 77(1)) and, for each of the seven
 * aspects, the model-level attributes in the Battery Pass 1.2.0 names, against the consortium's schemas.
 * BAD_USER_INPUT names the JSON pointer (under `/`, i.e. `battery.data`) and the rule of the first problems.
 */
export function parseBatteryModel(input: BatteryModelInput): { category: BatteryCategory; data: BatteryModelData } {
  const category = input.category as BatteryCategory;
  if (!BATTERY_CATEGORIES.includes(category)) throw new BadInputError(`battery.category: one of ${BATTERY_CATEGORIES.join(', ')}`, { field: 'battery.category' });
  if (!PASS_CATEGORY[category]) {
    throw new BadInputError(`battery.category: ${category} batteries have no battery passport (Art. 77(1): LMT, EV and industrial batteries)`, {
      field: 'battery.category',
    });
  }
  const data = input.data;
  if (!isObject(data)) refuse([{ pointer: '', rule: 'type', message: 'must be an object with one member per aspect' }]);
  let text: string;
  try {
    text = JSON.stringify(data);
  } catch {
    throw new BadInputError('battery.data: not representable as JSON', { field: 'battery.data' });
  }
  if (Buffer.byteLength(text) > MAX_BATTERY_DATA_BYTES) throw new BadInputError(`battery.data: at most ${MAX_BATTERY_DATA_BYTES} bytes of JSON`, { field: 'battery.data' });
  const unknown = Object.keys(data).find((k) => !(ASPECTS as readonly string[]).includes(k));
  if (unknown !== undefined) refuse([{ pointer: `/${unknown}`, rule: 'additionalProperties', message: `not an aspect; one of ${ASPECTS.join(', ')}` }]);

  const out = {} as BatteryModelData;
  for (const aspect of ASPECTS) {
    const doc = data[aspect];
    if (doc === undefined) refuse([{ pointer: `/${aspect}`, rule: 'required', message: `must have required property '${aspect}'` }]);
    if (!isObject(doc)) refuse([{ pointer: `/${aspect}`, rule: 'type', message: 'must be object' }]);
    const perUnit = (UNIT_ATTRIBUTES[aspect] ?? []).find((a) => Object.hasOwn(doc, a));
    if (perUnit) refuse([{ pointer: `/${aspect}/${perUnit}`, rule: 'perUnit', message: 'is filled per battery by the passport, not given with the model' }]);
    const problems = validateAspect(aspect, doc, `/${aspect}`, modelAttributes(aspect).required);
    if (problems.length > 0) refuse(problems);
    // Round-tripped through JSON text, so what is stored is what jsonb gives back.
    out[aspect] = JSON.parse(JSON.stringify(doc)) as Record<string, unknown>;
  }
  return { category, data: out };
}
