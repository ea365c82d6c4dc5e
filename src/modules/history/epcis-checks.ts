import { BadInputError } from '../../errors/app-error.js';
import { Gs1Error, formatDigitalLink, parseDigitalLink, parseIdentifier, parseSgtinUri } from '../../gs1/index.js';
import { normaliseBizTransactionType, normaliseSourceDestType } from './cbv.js';
import { type Json, URI, isPlainObject, jsonCopy, kindOf } from './epcis-json.js';
import {
  type BizTransaction,
  type CapturedEpc,
  type CapturedQuantity,
  MAX_CLASSES_PER_EVENT,
  MAX_EPCS_PER_EVENT,
  MAX_EXTENSION_BYTES,
  MAX_FIELD_LENGTH,
  MAX_LIST_ENTRIES,
} from './epcis-types.js';

/** Field checks shared by capture and export: each reports problems by path and answers the normalised value or undefined. */

export type Report = (path: string, message: string) => void;

export function checkUri(value: unknown, path: string, report: Report, label = path): string | undefined {
  if (typeof value !== 'string') {
    report(path, `${label} must be a URI string, got ${kindOf(value)}`);
    return undefined;
  }
  if (value.length === 0 || value.length > MAX_FIELD_LENGTH) {
    report(path, `${label} must be 1 to ${MAX_FIELD_LENGTH} characters`);
    return undefined;
  }
  if (!URI.test(value)) {
    report(path, `${label} must be an absolute URI (e.g. urn:epc:id:sgln:... or https://...)`);
    return undefined;
  }
  return value;
}

export function checkVocab<T>(normalise: (v: unknown) => T, value: unknown, path: string, report: Report): T | undefined {
  try {
    return normalise(value);
  } catch (err) {
    if (!(err instanceof BadInputError)) throw err;
    report(path, err.message);
    return undefined;
  }
}

/** A readPoint or bizLocation: its `id`, and any other fields (user extensions, which GS1's schema allows) as given. */
export function checkLocation(
  value: unknown,
  path: string,
  report: Report,
): { id: string; extensions?: Record<string, unknown> } | undefined {
  if (!isPlainObject(value)) {
    report(path, `${path} must be an object {"id": "<uri>"}, got ${kindOf(value)}`);
    return undefined;
  }
  const id = checkUri(value.id, `${path}.id`, report);
  const { id: _id, ...rest } = value;
  if (id === undefined) return undefined;
  if (Object.keys(rest).length === 0) return { id };
  const extensions = checkKept(rest, path, MAX_EXTENSION_BYTES, report);
  return extensions === undefined ? undefined : { id, extensions };
}

/** A JSON copy of fields kept as given, at most `maxBytes` of canonical JSON. */
export function checkKept(value: Record<string, unknown>, path: string, maxBytes: number, report: Report): Record<string, unknown> | undefined {
  try {
    const { copy, bytes } = jsonCopy(value);
    if (bytes <= maxBytes) return copy as Record<string, unknown>;
    report(path, `${path || 'event'}: the fields kept as given exceed ${maxBytes} bytes`);
  } catch {
    report(path, `${path || 'event'} is not representable as JSON`);
  }
  return undefined;
}

function checkList<T>(
  value: unknown,
  path: string,
  report: Report,
  item: (entry: Json, itemPath: string) => T | undefined,
): T[] | undefined {
  if (!Array.isArray(value)) {
    report(path, `${path} must be an array, got ${kindOf(value)}`);
    return undefined;
  }
  if (value.length > MAX_LIST_ENTRIES) {
    report(path, `${path} has ${value.length} entries; at most ${MAX_LIST_ENTRIES} are accepted`);
    return undefined;
  }
  const out: T[] = [];
  let ok = true;
  value.forEach((entry: unknown, i) => {
    const itemPath = `${path}[${i}]`;
    if (!isPlainObject(entry)) {
      report(itemPath, `entry must be an object, got ${kindOf(entry)}`);
      ok = false;
      return;
    }
    const parsed = item(entry, itemPath);
    if (parsed === undefined) ok = false;
    else out.push(parsed);
  });
  return ok ? out : undefined;
}

function onlyKeys(entry: Json, allowed: readonly string[], itemPath: string, report: Report): boolean {
  let ok = true;
  for (const key of Object.keys(entry)) {
    if (!allowed.includes(key)) {
      report(`${itemPath}.${key}`, `unknown field "${key}" (allowed: ${allowed.join(', ')})`);
      ok = false;
    }
  }
  return ok;
}

export function checkBizTransactions(value: unknown, report: Report): BizTransaction[] | undefined {
  return checkList(value, 'bizTransactionList', report, (entry, p) => {
    const keysOk = onlyKeys(entry, ['type', 'bizTransaction'], p, report);
    const id = checkUri(entry.bizTransaction, `${p}.bizTransaction`, report, 'bizTransaction');
    const type = entry.type === undefined ? undefined : checkVocab(normaliseBizTransactionType, entry.type, `${p}.type`, report);
    if (!keysOk || id === undefined || (entry.type !== undefined && type === undefined)) return undefined;
    return type === undefined ? { bizTransaction: id } : { type, bizTransaction: id };
  });
}

export function checkSourceDest<K extends 'source' | 'destination'>(
  value: unknown,
  listName: string,
  key: K,
  report: Report,
): Array<{ type: string } & Record<K, string>> | undefined {
  return checkList(value, listName, report, (entry, p) => {
    const keysOk = onlyKeys(entry, ['type', key], p, report);
    const id = checkUri(entry[key], `${p}.${key}`, report, key);
    const type = checkVocab(normaliseSourceDestType, entry.type, `${p}.type`, report);
    if (!keysOk || id === undefined || type === undefined) return undefined;
    return { type, [key]: id } as { type: string } & Record<K, string>;
  });
}

/** `namesLots`: the event's quantityList names at least one lot, so an absent or empty epcList is fine. */
export function checkEpcs(value: unknown, report: Report, namesLots: boolean): CapturedEpc[] | undefined {
  if (value === undefined) {
    if (namesLots) return [];
    report(
      'epcList',
      'epcList is required: list the serialised units (SGTIN EPC URIs or GS1 Digital Links), or name their lot (LGTIN) in quantityList',
    );
    return undefined;
  }
  if (!Array.isArray(value)) {
    report('epcList', `epcList must be an array, got ${kindOf(value)}`);
    return undefined;
  }
  if (value.length === 0 && namesLots) return [];
  if (value.length === 0 || value.length > MAX_EPCS_PER_EVENT) {
    report('epcList', `epcList must list 1 to ${MAX_EPCS_PER_EVENT} EPCs, got ${value.length}`);
    return undefined;
  }
  const out: CapturedEpc[] = [];
  const seen = new Map<string, number>();
  let ok = true;
  value.forEach((uri: unknown, i) => {
    const path = `epcList[${i}]`;
    if (typeof uri !== 'string') {
      report(path, `EPC must be a string, got ${kindOf(uri)}`);
      ok = false;
      return;
    }
    if (/^urn:epc:/i.test(uri) && !/^urn:epc:id:sgtin:/i.test(uri)) {
      report(path, 'only SGTIN instance identifiers (urn:epc:id:sgtin: or a Digital Link with /01/ and /21/) are supported');
      ok = false;
      return;
    }
    try {
      const { gtin, serial } = parseIdentifier(uri);
      const key = `${gtin}\u0000${serial}`;
      const first = seen.get(key);
      if (first !== undefined) {
        report(path, `duplicate EPC: same unit as epcList[${first}]`);
        ok = false;
        return;
      }
      seen.set(key, i);
      out.push({ gtin, serial, uri });
    } catch (err) {
      if (!(err instanceof Gs1Error)) throw err;
      report(path, `invalid EPC (${err.reason}): ${err.message}`);
      ok = false;
    }
  });
  return ok ? out : undefined;
}

const LGTIN_PREFIX = 'urn:epc:class:lgtin:';
const CLASS_ONLY =
  'only LGTIN classes (urn:epc:class:lgtin:<prefix>.<item>.<lot>, or a Digital Link with /01/ and /10/ and no /21/) are supported';

/**
 * Parses an LGTIN class identifier: the EPC class URI `urn:epc:class:lgtin:<prefix>.<indicator+item>.<lot>`
 * or a GS1 Digital Link naming GTIN and lot (`…/01/<gtin>/10/<lot>`, no serial). Both reuse the unit parsers
 * (TDS escaping and check digits are the same; a lot has the serial's character set and length), which is why
 * the Digital Link is given a placeholder serial. A class without a lot, or with a CPV, is refused: it would
 * stand for more units than a lot does.
 */
export function parseLgtin(uri: string): { gtin: string; lot: string } {
  if (typeof uri !== 'string') throw new Gs1Error('FORMAT', 'epcClass must be a string');
  const trimmed = uri.trim();
  if (trimmed.slice(0, LGTIN_PREFIX.length).toLowerCase() === LGTIN_PREFIX) {
    try {
      const { gtin14, serial } = parseSgtinUri(`urn:epc:id:sgtin:${trimmed.slice(LGTIN_PREFIX.length)}`);
      return { gtin: gtin14, lot: serial };
    } catch (err) {
      if (!(err instanceof Gs1Error)) throw err;
      throw new Gs1Error(err.reason, err.message.replace(/^SGTIN /, 'LGTIN ').replace(/serial/g, 'lot'));
    }
  }
  if (!/^https?:\/\//i.test(trimmed)) throw new Gs1Error('FORMAT', CLASS_ONLY);
  const cut = trimmed.search(/[?#]/);
  const path = cut === -1 ? trimmed : trimmed.slice(0, cut);
  if (/\/21\/[^/]*$/.test(path)) throw new Gs1Error('FORMAT', 'a Digital Link with /21/ names one unit: list it in epcList');
  const parsed = parseDigitalLink(`${path}/21/0${cut === -1 ? '' : trimmed.slice(cut)}`);
  if (parsed.lot === undefined) throw new Gs1Error('FORMAT', 'a class Digital Link must name a lot (/10/): a whole GTIN is not accepted');
  if (parsed.cpv !== undefined) throw new Gs1Error('FORMAT', 'a class Digital Link with a CPV (/22/) is not supported');
  return { gtin: parsed.gtin, lot: parsed.lot };
}

/** The Digital Link of a lot: `https://<host>/01/<gtin14>/10/<lot>`. */
export function formatLgtinDigitalLink(host: string, gtin: string, lot: string): string {
  // formatDigitalLink always ends with /21/<serial>; a one-character placeholder serial is cut off again.
  return formatDigitalLink({ host, gtin, lot, serial: '0' }).replace(/\/21\/0$/, '');
}

export const UOM = /^[A-Z0-9]{2,3}$/;

export function checkQuantityList(value: unknown, report: Report): CapturedQuantity[] | undefined {
  if (!Array.isArray(value)) {
    report('quantityList', `quantityList must be an array, got ${kindOf(value)}`);
    return undefined;
  }
  if (value.length > MAX_CLASSES_PER_EVENT) {
    report('quantityList', `quantityList has ${value.length} entries; at most ${MAX_CLASSES_PER_EVENT} are accepted`);
    return undefined;
  }
  const out: CapturedQuantity[] = [];
  const seen = new Map<string, number>();
  let ok = true;
  const fail: Report = (path, message) => {
    ok = false;
    report(path, message);
  };
  value.forEach((entry: unknown, i) => {
    const p = `quantityList[${i}]`;
    if (!isPlainObject(entry)) return fail(p, `entry must be an object, got ${kindOf(entry)}`);
    if (!onlyKeys(entry, ['epcClass', 'quantity', 'uom'], p, report)) ok = false;
    const epcClass = checkUri(entry.epcClass, `${p}.epcClass`, fail, 'epcClass');
    let lgtin: { gtin: string; lot: string } | undefined;
    if (epcClass !== undefined) {
      try {
        lgtin = parseLgtin(epcClass);
      } catch (err) {
        if (!(err instanceof Gs1Error)) throw err;
        fail(`${p}.epcClass`, /^urn:epc:/i.test(epcClass) && !/^urn:epc:class:lgtin:/i.test(epcClass) ? CLASS_ONLY : `invalid epcClass (${err.reason}): ${err.message}`);
      }
    }
    const { quantity, uom } = entry;
    if (quantity !== undefined && (typeof quantity !== 'number' || !Number.isFinite(quantity) || quantity < 0)) {
      fail(`${p}.quantity`, 'quantity must be a non-negative number');
    }
    if (uom !== undefined) {
      if (typeof uom !== 'string' || !UOM.test(uom)) fail(`${p}.uom`, 'uom must be a UN/ECE Recommendation 20 code (2 or 3 upper-case letters or digits)');
      else if (quantity === undefined) fail(`${p}.uom`, 'uom is accepted only together with quantity');
    }
    if (lgtin === undefined || epcClass === undefined) return;
    const key = `${lgtin.gtin}\u0000${lgtin.lot}`;
    const first = seen.get(key);
    if (first !== undefined) return fail(`${p}.epcClass`, `duplicate class: same lot as quantityList[${first}]`);
    seen.set(key, i);
    const q: CapturedQuantity = { gtin: lgtin.gtin, lot: lgtin.lot, epcClass };
    if (typeof quantity === 'number') q.quantity = quantity;
    if (typeof uom === 'string') q.uom = uom;
    out.push(q);
  });
  return ok ? out : undefined;
}

export function checkJsonObject(value: unknown, path: string, report: Report): Record<string, unknown> | undefined {
  if (!isPlainObject(value)) {
    report(path, `${path} must be an object, got ${kindOf(value)}`);
    return undefined;
  }
  let ok = true;
  for (const key of Object.keys(value)) {
    if (!key.includes(':')) {
      report(`${path}.${key}`, `${path} keys must be namespaced (prefix:name or an IRI)`);
      ok = false;
    }
  }
  try {
    const { copy, bytes } = jsonCopy(value);
    if (bytes > MAX_EXTENSION_BYTES) {
      report(path, `${path} exceeds ${MAX_EXTENSION_BYTES} bytes`);
      return undefined;
    }
    return ok ? (copy as Record<string, unknown>) : undefined;
  } catch {
    report(path, `${path} is not representable as JSON`);
    return undefined;
  }
}
