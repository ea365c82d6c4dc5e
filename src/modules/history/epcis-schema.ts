import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { isPlainObject } from './epcis-json.js';
import type { EpcisIssue } from './epcis-types.js';

/**
 * GS1's EPCIS 2.0 JSON schema (draft-07), shipped unchanged in `epcis-schema/` (source and terms in its
 * NOTICE.md). Capture validates every document against it before applying its own rules.
 */
export const EPCIS_SCHEMA_URL = new URL('./epcis-schema/EPCIS-JSON-Schema.json', import.meta.url);

// ajv-formats is CommonJS; under NodeNext (and Node's ESM loader) its function is the `.default` member.
const addFormats = addFormatsModule.default;

let compiled: ValidateFunction | undefined;

/** The compiled validator, built once per process on first use (compiling takes a few tens of milliseconds). */
function validator(): ValidateFunction {
  if (compiled) return compiled;
  // GS1's schema names `required` properties inside anyOf branches that declare no matching `properties`
  // (e.g. transformationID); ajv's strictRequired flags that habit. Every other strict check stays on.
  const ajv = new Ajv({ strict: true, strictRequired: false, allErrors: true });
  addFormats(ajv);
  compiled = ajv.compile(JSON.parse(readFileSync(EPCIS_SCHEMA_URL, 'utf8')) as object);
  return compiled;
}

/** `/epcList/0/x~1y` → `epcList[0].x/y`. */
function pointerToPath(pointer: string): string {
  let out = '';
  for (const raw of pointer.split('/').slice(1)) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    out += /^\d+$/.test(part) ? `[${part}]` : out === '' ? part : `.${part}`;
  }
  return out;
}

const CBV_URN = /^urn:epcglobal:cbv:/i;
/** Keywords of the branches of a propertyNames check (a field name is a string: no other keyword applies). */
const NAME_CHECKS = new Set(['enum', 'format', 'anyOf', 'pattern']);

/** One readable sentence for one ajv error (the schema's anyOf branches are folded by the caller). */
function describe(e: ErrorObject, value: unknown): string {
  switch (e.keyword) {
    case 'required':
      return 'is required';
    case 'enum':
      return `must be one of ${JSON.stringify((e.params as { allowedValues: unknown[] }).allowedValues).slice(0, 300)}`;
    case 'propertyNames':
      return `field name "${String((e.params as { propertyName: string }).propertyName).slice(0, 100)}" is not an EPCIS field; user fields need a namespace (prefix:name or an IRI)`;
    case 'pattern':
      if (typeof value === 'string' && CBV_URN.test(value)) {
        return `the URN form "${value.slice(0, 100)}" is not allowed in EPCIS 2.0 JSON: use the bare CBV term (e.g. "shipping") or a private URI`;
      }
      return `must match ${String((e.params as { pattern: string }).pattern)}`;
    default:
      return e.message ?? 'is not valid';
  }
}

/** The value at a JSON pointer inside `doc`, or undefined. */
function valueAt(doc: unknown, pointer: string): unknown {
  let v: unknown = doc;
  for (const raw of pointer.split('/').slice(1)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(v)) v = v[Number(key)];
    else if (isPlainObject(v)) v = Object.hasOwn(v, key) ? v[key] : undefined;
    else return undefined;
  }
  return v;
}

/**
 * Validates a document against GS1's EPCIS JSON schema; answers its problems as {@link EpcisIssue}s
 * (event index and path inside the event where the problem lies in an event), empty when it is valid.
 * The schema's `if`/`then` wrappers are dropped, and an anyOf's failed branches are folded into one sentence
 * per path, so each problem is listed once.
 */
export function schemaIssues(doc: unknown): EpcisIssue[] {
  const validate = validator();
  if (validate(doc)) return [];
  const byPath = new Map<string, { index?: number; path: string; messages: string[]; anyOf: boolean }>();
  const namesChecked = new Set((validate.errors ?? []).filter((e) => e.keyword === 'propertyNames').map((e) => e.instancePath));
  for (const e of validate.errors ?? []) {
    if (e.keyword === 'if' || e.keyword === 'allOf') continue;
    // Why a field name failed each branch of propertyNames: the propertyNames error itself names the field.
    if (NAME_CHECKS.has(e.keyword) && namesChecked.has(e.instancePath) && e.propertyName === undefined) continue;
    let pointer = e.instancePath;
    if (e.keyword === 'required') pointer = `${pointer}/${String((e.params as { missingProperty: string }).missingProperty)}`;
    // Errors about a field's name (propertyNames) carry the name on the error, or in params for the outer one.
    const name = e.propertyName ?? (e.params as { propertyName?: string }).propertyName;
    if (name !== undefined) pointer = `${pointer}/${name.replace(/~/g, '~0').replace(/\//g, '~1')}`;
    const m = /^\/epcisBody\/eventList\/(\d+)(\/.*)?$/.exec(pointer);
    const index = m ? Number(m[1]) : undefined;
    const path = m ? pointerToPath(m[2] ?? '') : pointerToPath(pointer);
    const key = `${index ?? ''}|${path}`;
    const entry = byPath.get(key) ?? { index, path, messages: [], anyOf: false };
    if (e.keyword === 'anyOf') entry.anyOf = true;
    else {
      // A propertyNames failure also reports why the name failed each branch; the name itself says enough.
      const text = describe(e, valueAt(doc, e.instancePath));
      if (e.keyword === 'propertyNames' || !entry.messages.some((x) => x.startsWith('field name'))) {
        if (e.keyword === 'propertyNames') entry.messages = [text];
        else if (!entry.messages.includes(text)) entry.messages.push(text);
      }
    }
    byPath.set(key, entry);
  }
  const issues: EpcisIssue[] = [];
  for (const { index, path, messages, anyOf } of byPath.values()) {
    const urn = messages.find((x) => x.startsWith('the URN form'));
    const text = urn ?? (messages.length === 0 ? 'is not valid' : anyOf ? messages.join(', or ') : messages.join('; '));
    const message = `${path || (index === undefined ? 'document' : 'event')}: ${text} (GS1 EPCIS 2.0 JSON schema)`;
    issues.push(index === undefined ? { path, message } : { index, path, message });
  }
  return issues;
}
