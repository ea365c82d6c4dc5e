import { readFileSync } from 'node:fs';
import Ajv04Module from 'ajv-draft-04';
import addFormatsModule from 'ajv-formats';
import type { ErrorObject, ValidateFunction } from 'ajv';

// Both are CommonJS: the default import is `module.exports` (the class / plugin), which also carries itself
// as `.default`; TypeScript types the namespace under NodeNext, so `.default` is right for both.
const Ajv04 = Ajv04Module.default;
const addFormats = addFormatsModule.default;

/** The seven aspects of a battery passport (Battery Pass 1.2.0), in the key order of `Passport.batteryPass`. */
export const ASPECTS = ['generalProductInformation', 'carbonFootprint', 'circularity', 'materialComposition', 'performance', 'labeling', 'supplyChainDueDiligence'] as const;
export type Aspect = (typeof ASPECTS)[number];

/** The consortium's schema file of each aspect (shipped copies, see schemas/README.md). */
export const SCHEMA_FILES: Readonly<Record<Aspect, string>> = {
  generalProductInformation: 'GeneralProductInformation-schema.json',
  carbonFootprint: 'CarbonFootprintForBatteries-schema.json',
  circularity: 'Circularity-schema.json',
  materialComposition: 'MaterialComposition-schema.json',
  performance: 'PerformanceAndDurability-schema.json',
  labeling: 'Labeling-schema.json',
  supplyChainDueDiligence: 'SupplyChainDueDiligence-schema.json',
};

type JsonSchema = { properties: Record<string, unknown>; required?: string[]; [k: string]: unknown };

const schemas = new Map<Aspect, JsonSchema>(
  ASPECTS.map((a) => [a, JSON.parse(readFileSync(new URL(`./schemas/${SCHEMA_FILES[a]}`, import.meta.url), 'utf8')) as JsonSchema]),
);

// strict: false because the SAMM generator adds its own keywords (x-samm-aspect-model-urn).
const ajv = new Ajv04({ allErrors: true, strict: false });
addFormats(ajv);

const compiled = new Map<string, ValidateFunction>();

/**
 * A validator for `aspect` that requires exactly `required` of its top-level attributes (all others it
 * defines are optional), the rest of the consortium's schema unchanged. Compiled once per shape.
 */
function validatorFor(aspect: Aspect, required: readonly string[]): ValidateFunction {
  const key = `${aspect}:${required.join(',')}`;
  let v = compiled.get(key);
  if (!v) {
    const schema = schemas.get(aspect)!;
    v = ajv.compile({ ...schema, required: [...required] });
    compiled.set(key, v);
  }
  return v;
}

/** The top-level attributes the consortium's schema of `aspect` defines and requires. */
export function aspectAttributes(aspect: Aspect): { defined: string[]; required: string[] } {
  const s = schemas.get(aspect)!;
  return { defined: Object.keys(s.properties), required: [...(s.required ?? [])] };
}

export type SchemaProblem = { pointer: string; rule: string; message: string };

function problemOf(e: ErrorObject, base: string): SchemaProblem {
  const missing = e.keyword === 'required' ? `/${String((e.params as { missingProperty?: string }).missingProperty)}` : '';
  return { pointer: `${base}${e.instancePath}${missing}`, rule: e.keyword, message: e.message ?? e.keyword };
}

/**
 * Validates one aspect document against its schema with `required` as the top-level required list
 * (default: the schema's own). Answers the problems, each with the JSON pointer under `base`; none when valid.
 */
export function validateAspect(aspect: Aspect, doc: unknown, base: string, required?: readonly string[]): SchemaProblem[] {
  const v = validatorFor(aspect, required ?? aspectAttributes(aspect).required);
  if (v(doc)) return [];
  return (v.errors ?? []).map((e) => problemOf(e, base));
}
