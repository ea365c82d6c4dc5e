import { Buffer } from 'node:buffer';
import { canonicalJson, sha256Hex } from '../../crypto/jcs.js';
import { BadInputError } from '../../errors/app-error.js';
import { Gs1Error, formatDigitalLink, parseDigitalLink, parseIdentifier, parseSgtinUri } from '../../gs1/index.js';
import {
  normaliseBizStep,
  normaliseBizTransactionType,
  normaliseDisposition,
  normaliseSourceDestType,
  type BizStep,
  type Disposition,
} from './cbv.js';

/**
 * GS1 EPCIS 2.0 capture and export of custody events (ObjectEvents on serialised units).
 *
 * Capture is all-or-nothing: `parseCaptureDocument` checks the whole document, collects every problem
 * it finds (with the event index and a path inside the event) and either returns every event or throws
 * one BadInputError listing them all. Export builds an EPCIS 2.0 JSON-LD document whose epcList holds
 * GS1 Digital Links on our resolver host; `parseCaptureDocument(exportDocument(x))` gives back `x`.
 */

/** The normative EPCIS 2.0 JSON-LD context. */
export const EPCIS_CONTEXT = 'https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld';
/** Most events accepted in one capture document. */
export const MAX_EVENTS = 10_000;
/** Most EPCs accepted in one event's epcList. */
export const MAX_EPCS_PER_EVENT = 1_000;
/** Most classes (LGTINs) accepted in one event's quantityList. */
export const MAX_CLASSES_PER_EVENT = 100;
/** Longest identifier accepted for eventID, readPoint, bizLocation, transactions, sources and destinations. */
export const MAX_FIELD_LENGTH = 500;
/** Most entries in bizTransactionList, sourceList or destinationList. */
export const MAX_LIST_ENTRIES = 100;
/** Largest extension (or ilmd) payload of one event, as canonical UTF-8 JSON. */
export const MAX_EXTENSION_BYTES = 16 * 1024;
/** Most problems listed in a rejection (all are counted; the list is cut so a hostile document stays cheap to answer). */
export const MAX_REPORTED_ISSUES = 1_000;

export type CaptureAction = 'OBSERVE' | 'ADD';

/** A business transaction reference; `type` is a bare CBV type (`po`, `desadv`, ...) or a private URI. */
export interface BizTransaction {
  type?: string;
  bizTransaction: string;
}

/** A source of a transfer; `type` is `owning_party`, `possessing_party`, `location` or a private URI. */
export interface SourceEntry {
  type: string;
  source: string;
}

/** A destination of a transfer; `type` as in {@link SourceEntry}. */
export interface DestinationEntry {
  type: string;
  destination: string;
}

/** One serialised unit named by an event: GTIN-14, serial, and the URI exactly as it was captured. */
export interface CapturedEpc {
  gtin: string;
  serial: string;
  uri: string;
}

/**
 * A lot of units named by a class-level quantityList entry: an LGTIN (GTIN-14 + lot), with the quantity and
 * unit of measure as given (they describe the class, so they are kept, not checked against minted units).
 */
export interface CapturedQuantity {
  gtin: string;
  lot: string;
  /** The epcClass exactly as it was captured. */
  epcClass: string;
  quantity?: number;
  uom?: string;
}

/** An accepted ObjectEvent, normalised. Optional fields are absent (not undefined) when the event has none. */
export interface CapturedObjectEvent {
  /** As given, or derived from the event's content when absent (see {@link derivedEventId}). */
  eventID: string;
  /** The instant; sub-millisecond digits are truncated. */
  eventTime: Date;
  /** The `eventTimeZoneOffset` field (`+02:00`), which may differ from the offset written in eventTime. */
  eventTimeZoneOffset: string;
  action: CaptureAction;
  bizStep: BizStep;
  disposition?: Disposition;
  /** `readPoint.id`. */
  readPoint?: string;
  /** `bizLocation.id`. */
  bizLocation?: string;
  /** Serialised units named by epcList; empty only when `quantityList` names at least one lot. */
  epcs: CapturedEpc[];
  /** Lots named by a class-level quantityList (LGTIN identifiers only). */
  quantityList?: CapturedQuantity[];
  bizTransactionList?: BizTransaction[];
  sourceList?: SourceEntry[];
  destinationList?: DestinationEntry[];
  /** Instance/lot master data, only with action ADD; kept as given. */
  ilmd?: Record<string, unknown>;
  /** Top-level user/vendor fields (keys containing ':', e.g. `example:myField`), kept as given. */
  extensions?: Record<string, unknown>;
  /** Prefix → namespace IRI, from the document's (or event's) @context, for the prefixes the extensions use. */
  namespaces?: Record<string, string>;
}

/** An event to export; a {@link CapturedObjectEvent} is one. Steps and dispositions may be in any accepted CBV spelling. */
export interface ExportEvent {
  eventID: string;
  eventTime: Date;
  /** Offset the times are written in; default `+00:00`. */
  eventTimeZoneOffset?: string;
  action: CaptureAction;
  bizStep: string;
  disposition?: string;
  readPoint?: string;
  bizLocation?: string;
  /** Serialised units; may be empty when `quantityList` names at least one lot. */
  epcs: ReadonlyArray<{ gtin: string; serial: string }>;
  /** Lots (GTIN + lot), written as Digital Links with /01/ and /10/ on the resolver host. */
  quantityList?: ReadonlyArray<{ gtin: string; lot: string; quantity?: number; uom?: string }>;
  bizTransactionList?: readonly BizTransaction[];
  sourceList?: readonly SourceEntry[];
  destinationList?: readonly DestinationEntry[];
  ilmd?: Record<string, unknown>;
  extensions?: Record<string, unknown>;
  namespaces?: Record<string, string>;
}

export interface ExportOptions {
  /** The document's `id` (a URI, e.g. `urn:uuid:...`). */
  documentId: string;
  creationDate: Date;
  /** Resolver host of the Digital Links in epcList (as for formatDigitalLink). */
  resolverHost: string;
}

/** An exported ObjectEvent as it appears in the JSON-LD document. */
export interface EpcisObjectEventJson {
  type: 'ObjectEvent';
  eventID: string;
  eventTime: string;
  eventTimeZoneOffset: string;
  action: CaptureAction;
  bizStep: BizStep;
  disposition?: Disposition;
  epcList?: string[];
  quantityList?: Array<{ epcClass: string; quantity?: number; uom?: string }>;
  readPoint?: { id: string };
  bizLocation?: { id: string };
  bizTransactionList?: BizTransaction[];
  sourceList?: SourceEntry[];
  destinationList?: DestinationEntry[];
  ilmd?: Record<string, unknown>;
  [extension: string]: unknown;
}

export interface EpcisDocumentJson {
  '@context': string | Array<string | Record<string, string>>;
  id: string;
  type: 'EPCISDocument';
  schemaVersion: '2.0';
  creationDate: string;
  epcisBody: { eventList: EpcisObjectEventJson[] };
}

/**
 * One problem of a rejected document. `index` is the zero-based position in `epcisBody.eventList`
 * (absent for document-level problems); `path` is relative to that event (`epcList[3]`, `readPoint.id`),
 * or to the document when `index` is absent (`schemaVersion`, `epcisBody.eventList`).
 */
export interface EpcisIssue {
  index?: number;
  eventID?: string;
  path: string;
  message: string;
}

// ---------------------------------------------------------------------------------------------------------
// small helpers

type Json = Record<string, unknown>;

function isPlainObject(v: unknown): v is Json {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

const URI = /^[A-Za-z][A-Za-z0-9+.-]*:[^\s\u0000-\u001f\u007f"<>\\^`{|}]+$/;
const OFFSET = /^[+-](?:(?:0\d|1[0-3]):[0-5]\d|14:00)$/;
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;
const PREFIX = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

/** Parses an RFC 3339 date-time with a `Z` or `±hh:mm` offset; returns the error text when it is not one. */
export function parseRfc3339(s: unknown): Date | string {
  if (typeof s !== 'string') return `must be an RFC 3339 date-time string, got ${kindOf(s)}`;
  const m = RFC3339.exec(s);
  if (!m) return 'must be an RFC 3339 date-time with an offset, e.g. 2024-05-01T10:00:00.000+02:00';
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const daysInMonth = month >= 1 && month <= 12 ? new Date(Date.UTC(2000, month, 0)).getUTCDate() : 0;
  const leapAdjusted = month === 2 && day === 29 && !(year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0));
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth || leapAdjusted) return 'has an invalid calendar date';
  if (hour > 23 || minute > 59 || second > 59) return 'has an invalid time of day (leap seconds are not accepted)';
  let offsetMinutes = 0;
  if (!m[8]) {
    const oh = Number(m[10]);
    const om = Number(m[11]);
    if (oh > 23 || om > 59) return 'has an invalid offset';
    offsetMinutes = (m[9] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  const millis = Number((m[7] ?? '').padEnd(3, '0').slice(0, 3));
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  d.setUTCHours(hour, minute, second, millis);
  return new Date(d.getTime() - offsetMinutes * 60_000);
}

/** Formats an instant as `YYYY-MM-DDTHH:mm:ss.sss±hh:mm` in the given offset. */
function formatWithOffset(instant: Date, offset: string): string {
  const sign = offset.startsWith('-') ? -1 : 1;
  const minutes = sign * (Number(offset.slice(1, 3)) * 60 + Number(offset.slice(4, 6)));
  const local = new Date(instant.getTime() + minutes * 60_000);
  const iso = local.toISOString();
  if (!/^\d{4}-/.test(iso)) throw new RangeError('eventTime must fall in the years 0000 to 9999');
  return `${iso.slice(0, 23)}${offset}`;
}

function jsonCopy(value: unknown): { copy: unknown; bytes: number } {
  const text = canonicalJson(value);
  return { copy: JSON.parse(text), bytes: Buffer.byteLength(text, 'utf8') };
}

/**
 * The eventID given to an event captured without one: `ni:///sha-256;<hex>?ver=CBV2.0` over the RFC 8785
 * form of the event as received. This is a plain content hash so the same event always gets the same id;
 * it is NOT the GS1 canonical event hash (EPCIS 2.0 section 8.9.2 / CBV 2.0 "event hash ID"), which
 * normalises identifiers, times and field order in its own pre-hash string and would give other digits.
 */
export function derivedEventId(rawEvent: unknown): string {
  return `ni:///sha-256;${sha256Hex(canonicalJson(rawEvent))}?ver=CBV2.0`;
}

/** Prefix → IRI entries of a JSON-LD @context (string items are remote contexts and contribute nothing here). */
function contextNamespaces(ctx: unknown, into: Map<string, string>): boolean {
  const items = Array.isArray(ctx) ? ctx : [ctx];
  for (const item of items) {
    if (typeof item === 'string') {
      if (!URI.test(item)) return false;
      continue;
    }
    if (!isPlainObject(item)) return false;
    for (const [key, value] of Object.entries(item)) {
      if (key.startsWith('@') || key.includes(':') || key === '__proto__' || !PREFIX.test(key)) continue;
      const iri = typeof value === 'string' ? value : isPlainObject(value) && typeof value['@id'] === 'string' ? value['@id'] : undefined;
      if (iri !== undefined && URI.test(iri)) into.set(key, iri);
    }
  }
  return true;
}

// ---------------------------------------------------------------------------------------------------------
// capture

const DOCUMENT_KEYS = new Set([
  '@context',
  'id',
  'type',
  'schemaVersion',
  'creationDate',
  'instanceIdentifier',
  'sender',
  'receiver',
  'epcisHeader',
  'epcisBody',
]);

const EVENT_KEYS = new Set([
  '@context',
  'type',
  'eventID',
  'eventTime',
  'eventTimeZoneOffset',
  'recordTime',
  'action',
  'epcList',
  'quantityList',
  'bizStep',
  'disposition',
  'readPoint',
  'bizLocation',
  'bizTransactionList',
  'sourceList',
  'destinationList',
  'ilmd',
]);

/** Standard ObjectEvent fields this service refuses rather than silently drop. */
const UNSUPPORTED_EVENT_KEYS: Record<string, string> = {
  sensorElementList: 'sensor data (sensorElementList) is not supported',
  persistentDisposition: 'persistentDisposition is not supported',
  certificationInfo: 'certificationInfo is not supported',
  errorDeclaration:
    'error declarations are not supported: the history is append-only, capture a new corrective event instead',
};

const OTHER_EVENT_TYPES = new Set(['AggregationEvent', 'TransactionEvent', 'TransformationEvent', 'AssociationEvent']);

type Report = (path: string, message: string) => void;

function checkUri(value: unknown, path: string, report: Report, label = path): string | undefined {
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

function checkVocab<T>(normalise: (v: unknown) => T, value: unknown, path: string, report: Report): T | undefined {
  try {
    return normalise(value);
  } catch (err) {
    if (!(err instanceof BadInputError)) throw err;
    report(path, err.message);
    return undefined;
  }
}

function checkLocation(value: unknown, path: string, report: Report): string | undefined {
  if (!isPlainObject(value)) {
    report(path, `${path} must be an object {"id": "<uri>"}, got ${kindOf(value)}`);
    return undefined;
  }
  for (const key of Object.keys(value)) {
    if (key !== 'id') report(`${path}.${key}`, `${path} supports only "id"`);
  }
  return checkUri(value.id, `${path}.id`, report);
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

function checkBizTransactions(value: unknown, report: Report): BizTransaction[] | undefined {
  return checkList(value, 'bizTransactionList', report, (entry, p) => {
    const keysOk = onlyKeys(entry, ['type', 'bizTransaction'], p, report);
    const id = checkUri(entry.bizTransaction, `${p}.bizTransaction`, report, 'bizTransaction');
    const type = entry.type === undefined ? undefined : checkVocab(normaliseBizTransactionType, entry.type, `${p}.type`, report);
    if (!keysOk || id === undefined || (entry.type !== undefined && type === undefined)) return undefined;
    return type === undefined ? { bizTransaction: id } : { type, bizTransaction: id };
  });
}

function checkSourceDest<K extends 'source' | 'destination'>(
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
function checkEpcs(value: unknown, report: Report, namesLots: boolean): CapturedEpc[] | undefined {
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

const UOM = /^[A-Z0-9]{2,3}$/;

function checkQuantityList(value: unknown, report: Report): CapturedQuantity[] | undefined {
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

function checkJsonObject(value: unknown, path: string, report: Report): Record<string, unknown> | undefined {
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

interface EventResult {
  event?: CapturedObjectEvent;
  eventID?: string;
}

function parseEvent(raw: unknown, docNamespaces: ReadonlyMap<string, string>, report: Report): EventResult {
  if (!isPlainObject(raw)) {
    report('', `event must be an object, got ${kindOf(raw)}`);
    return {};
  }
  const givenId = typeof raw.eventID === 'string' && raw.eventID.length <= MAX_FIELD_LENGTH ? raw.eventID : undefined;

  if (raw.type !== 'ObjectEvent') {
    const t = raw.type;
    if (typeof t === 'string' && OTHER_EVENT_TYPES.has(t)) {
      report('type', `${t} is not supported: only ObjectEvent (action OBSERVE, or ADD for commissioning) is accepted`);
    } else if (t === undefined) {
      report('type', 'type is required and must be "ObjectEvent"');
    } else {
      report('type', `unsupported event type ${typeof t === 'string' ? `"${t.slice(0, 100)}"` : kindOf(t)}: only ObjectEvent is accepted`);
    }
    return { eventID: givenId };
  }

  let ok = true;
  const fail: Report = (path, message) => {
    ok = false;
    report(path, message);
  };

  const extensions: Record<string, unknown> = {};
  let hasExtensions = false;
  for (const key of Object.keys(raw)) {
    if (EVENT_KEYS.has(key)) continue;
    const reason = UNSUPPORTED_EVENT_KEYS[key];
    if (reason !== undefined) fail(key, reason);
    else if (key.includes(':')) {
      extensions[key] = raw[key];
      hasExtensions = true;
    } else fail(key, `unknown ObjectEvent field "${key.slice(0, 100)}" (user fields need a namespace prefix, e.g. "example:${key.slice(0, 100)}")`);
  }

  let eventID: string | undefined;
  if (raw.eventID === undefined) {
    try {
      eventID = derivedEventId(raw);
    } catch {
      fail('', 'event is not representable as JSON');
    }
  } else {
    eventID = checkUri(raw.eventID, 'eventID', fail);
  }

  const eventTime = parseRfc3339(raw.eventTime);
  if (raw.eventTime === undefined) fail('eventTime', 'eventTime is required');
  else if (typeof eventTime === 'string') fail('eventTime', `eventTime ${eventTime}`);

  const offset = raw.eventTimeZoneOffset;
  if (offset === undefined) fail('eventTimeZoneOffset', 'eventTimeZoneOffset is required (e.g. "+02:00")');
  else if (typeof offset !== 'string' || !OFFSET.test(offset)) {
    fail('eventTimeZoneOffset', 'eventTimeZoneOffset must be ±hh:mm between -14:00 and +14:00');
  }

  if (raw.recordTime !== undefined && typeof parseRfc3339(raw.recordTime) === 'string') {
    // recordTime is the repository's own clock and is ignored on capture, but a malformed one is still an error.
    fail('recordTime', 'recordTime must be an RFC 3339 date-time');
  }

  const bizStep = raw.bizStep === undefined ? undefined : checkVocab(normaliseBizStep, raw.bizStep, 'bizStep', fail);
  if (raw.bizStep === undefined) fail('bizStep', 'bizStep is required (a CBV 2.0 business step, e.g. "shipping")');

  const action = raw.action;
  if (action === 'ADD') {
    if (bizStep !== undefined && bizStep !== 'commissioning') {
      fail('action', `action ADD is accepted only with bizStep commissioning, not ${bizStep}`);
    }
  } else if (action === 'DELETE') {
    fail('action', 'action DELETE is not supported: record end of life with an OBSERVE event (e.g. bizStep decommissioning or destroying)');
  } else if (action !== 'OBSERVE') {
    fail('action', action === undefined ? 'action is required (OBSERVE, or ADD for commissioning)' : 'action must be OBSERVE, or ADD for commissioning');
  }

  const disposition =
    raw.disposition === undefined ? undefined : checkVocab(normaliseDisposition, raw.disposition, 'disposition', fail);
  const readPoint = raw.readPoint === undefined ? undefined : checkLocation(raw.readPoint, 'readPoint', fail);
  const bizLocation = raw.bizLocation === undefined ? undefined : checkLocation(raw.bizLocation, 'bizLocation', fail);
  const quantityList = raw.quantityList === undefined ? undefined : checkQuantityList(raw.quantityList, fail);
  const namesLots = Array.isArray(raw.quantityList) && raw.quantityList.length > 0;
  const epcs = checkEpcs(raw.epcList, fail, namesLots);
  const bizTransactionList = raw.bizTransactionList === undefined ? undefined : checkBizTransactions(raw.bizTransactionList, fail);
  const sourceList =
    raw.sourceList === undefined ? undefined : checkSourceDest(raw.sourceList, 'sourceList', 'source', fail);
  const destinationList =
    raw.destinationList === undefined ? undefined : checkSourceDest(raw.destinationList, 'destinationList', 'destination', fail);

  let ilmd: Record<string, unknown> | undefined;
  if (raw.ilmd !== undefined) {
    if (action !== 'ADD') fail('ilmd', 'ilmd is accepted only with action ADD');
    else ilmd = checkJsonObject(raw.ilmd, 'ilmd', fail);
  }
  const ext = hasExtensions ? checkJsonObject(extensions, 'extensions', fail) : undefined;

  let namespaces: Record<string, string> | undefined;
  if (ext !== undefined) {
    const ns = new Map(docNamespaces);
    if (raw['@context'] !== undefined && !contextNamespaces(raw['@context'], ns)) {
      fail('@context', '@context must be a URI, an object or an array of those');
    }
    for (const key of Object.keys(ext)) {
      const prefix = key.slice(0, key.indexOf(':'));
      const iri = ns.get(prefix);
      if (iri !== undefined) (namespaces ??= {})[prefix] = iri;
    }
  } else if (raw['@context'] !== undefined && !contextNamespaces(raw['@context'], new Map())) {
    fail('@context', '@context must be a URI, an object or an array of those');
  }

  if (!ok || eventID === undefined || typeof eventTime === 'string' || bizStep === undefined || epcs === undefined) {
    return { eventID: eventID ?? givenId };
  }
  const event: CapturedObjectEvent = {
    eventID,
    eventTime,
    eventTimeZoneOffset: offset as string,
    action: action as CaptureAction,
    bizStep,
    epcs,
  };
  if (disposition !== undefined) event.disposition = disposition;
  if (readPoint !== undefined) event.readPoint = readPoint;
  if (bizLocation !== undefined) event.bizLocation = bizLocation;
  if (quantityList !== undefined && quantityList.length > 0) event.quantityList = quantityList;
  if (bizTransactionList !== undefined) event.bizTransactionList = bizTransactionList;
  if (sourceList !== undefined) event.sourceList = sourceList;
  if (destinationList !== undefined) event.destinationList = destinationList;
  if (ilmd !== undefined) event.ilmd = ilmd;
  if (ext !== undefined) event.extensions = ext;
  if (namespaces !== undefined) event.namespaces = namespaces;
  return { event, eventID };
}

/**
 * Validates and normalises an EPCIS 2.0 JSON / JSON-LD capture document (`type: "EPCISDocument"`,
 * `schemaVersion` "2.0" or "2", 1 to 10,000 events in `epcisBody.eventList`). Only ObjectEvents are
 * accepted, with action OBSERVE (or ADD with bizStep commissioning), 1 to 1,000 SGTIN EPCs each
 * (EPC URIs or Digital Links) and/or up to 100 lots in a class-level quantityList (LGTIN class URIs or
 * Digital Links with /01/ and /10/), and a CBV 2.0 bizStep / disposition in any of their spellings.
 * Every event names at least one unit or lot.
 *
 * All or nothing: every problem is collected and one BadInputError is thrown,
 * `EPCIS document rejected: N of M events invalid`, with `details.errors` listing {@link EpcisIssue}s
 * (at most {@link MAX_REPORTED_ISSUES}; `details.errorCount` is the full count).
 */
export function parseCaptureDocument(doc: unknown): { events: CapturedObjectEvent[] } {
  const issues: EpcisIssue[] = [];
  let issueCount = 0;
  const push = (issue: EpcisIssue) => {
    issueCount++;
    if (issues.length < MAX_REPORTED_ISSUES) issues.push(issue);
  };
  const docIssue: Report = (path, message) => push({ path, message });
  const docMessages: string[] = [];
  const docFail: Report = (path, message) => {
    docMessages.push(message);
    docIssue(path, message);
  };

  if (!isPlainObject(doc)) {
    throw new BadInputError(`EPCIS document rejected: the document must be a JSON object, got ${kindOf(doc)}`, {
      errors: [{ path: '', message: `document must be a JSON object, got ${kindOf(doc)}` }],
      errorCount: 1,
    });
  }

  if (doc.type !== 'EPCISDocument') {
    docFail(
      'type',
      doc.type === 'EPCISQueryDocument'
        ? 'type must be "EPCISDocument" (query documents are not accepted for capture)'
        : 'type must be "EPCISDocument"',
    );
  }
  if (doc.schemaVersion !== '2.0' && doc.schemaVersion !== '2') {
    docFail('schemaVersion', 'schemaVersion must be "2.0" (EPCIS 2.0)');
  }
  if (doc.creationDate !== undefined && typeof parseRfc3339(doc.creationDate) === 'string') {
    docFail('creationDate', 'creationDate must be an RFC 3339 date-time with an offset');
  }
  const namespaces = new Map<string, string>();
  if (doc['@context'] !== undefined && !contextNamespaces(doc['@context'], namespaces)) {
    docFail('@context', '@context must be a URI, an object or an array of those');
  }
  for (const key of Object.keys(doc)) {
    if (!DOCUMENT_KEYS.has(key) && !key.includes(':')) docFail(key, `unknown EPCISDocument field "${key.slice(0, 100)}"`);
  }

  let eventList: unknown[] | undefined;
  const body = doc.epcisBody;
  if (!isPlainObject(body)) {
    docFail('epcisBody', 'epcisBody is required and must be an object with an eventList');
  } else {
    for (const key of Object.keys(body)) {
      if (key !== 'eventList' && !key.includes(':')) docFail(`epcisBody.${key}`, `unknown epcisBody field "${key.slice(0, 100)}"`);
    }
    const list = body.eventList;
    if (!Array.isArray(list)) docFail('epcisBody.eventList', 'epcisBody.eventList is required and must be an array');
    else if (list.length === 0) docFail('epcisBody.eventList', 'epcisBody.eventList must hold at least one event');
    else if (list.length > MAX_EVENTS) {
      docFail('epcisBody.eventList', `epcisBody.eventList holds ${list.length} events; at most ${MAX_EVENTS} are accepted per document`);
    } else eventList = list;
  }

  const events: CapturedObjectEvent[] = [];
  let invalidEvents = 0;
  const firstIndexById = new Map<string, number>();
  (eventList ?? []).forEach((raw, index) => {
    const local: Array<{ path: string; message: string }> = [];
    const { event, eventID } = parseEvent(raw, namespaces, (path, message) => local.push({ path, message }));
    if (eventID !== undefined) {
      const first = firstIndexById.get(eventID);
      if (first !== undefined) local.push({ path: 'eventID', message: `duplicate eventID: same as event ${first}` });
      else firstIndexById.set(eventID, index);
    }
    if (local.length > 0) {
      invalidEvents++;
      for (const issue of local) push(eventID === undefined ? { index, ...issue } : { index, eventID, ...issue });
    } else if (event) {
      events.push(event);
    }
  });

  if (issueCount > 0) {
    const parts = [...docMessages];
    if (invalidEvents > 0) parts.push(`${invalidEvents} of ${eventList?.length ?? 0} events invalid`);
    const details: Record<string, unknown> = { errors: issues, errorCount: issueCount };
    if (issueCount > issues.length) details.truncated = true;
    throw new BadInputError(`EPCIS document rejected: ${parts.join('; ')}`, details);
  }
  return { events };
}

// ---------------------------------------------------------------------------------------------------------
// export

function exportError(index: number, eventID: unknown, message: string): BadInputError {
  const id = typeof eventID === 'string' ? eventID.slice(0, MAX_FIELD_LENGTH) : undefined;
  return new BadInputError(`cannot export event ${index}${id ? ` (${id})` : ''}: ${message}`, { index, eventID: id });
}

/** Runs the capture checks on an export value and throws the first problem. */
function strictly<T>(index: number, eventID: unknown, check: (report: Report) => T | undefined): T {
  let first: string | undefined;
  const value = check((path, message) => {
    first ??= path ? `${path}: ${message}` : message;
  });
  if (first !== undefined || value === undefined) throw exportError(index, eventID, first ?? 'invalid value');
  return value;
}

/**
 * Builds an EPCIS 2.0 JSON-LD document of ObjectEvents that validates against GS1's EPCIS JSON schema.
 * epcList entries (and quantityList classes, as /01/…/10/… lots) are GS1 Digital Links on `resolverHost`
 * (no signature); an event without units has no epcList; times are written in each
 * event's `eventTimeZoneOffset` (default `+00:00`); extensions are copied as given and their namespaces
 * (from `event.namespaces`) are declared in the @context.
 * @throws BadInputError when an event or option cannot be expressed (bad offset, unknown bizStep, ...),
 *   or two events bind one prefix to different namespaces.
 */
export function exportDocument(events: readonly ExportEvent[], opts: ExportOptions): EpcisDocumentJson {
  if (typeof opts.documentId !== 'string' || !URI.test(opts.documentId) || opts.documentId.length > 2048) {
    throw new BadInputError('documentId must be an absolute URI (e.g. urn:uuid:...)');
  }
  if (!(opts.creationDate instanceof Date) || Number.isNaN(opts.creationDate.getTime())) {
    throw new BadInputError('creationDate must be a valid Date');
  }
  const prefixes = new Map<string, string>();
  const eventList = events.map((e, index): EpcisObjectEventJson => {
    const eventID = strictly(index, e.eventID, (r) => checkUri(e.eventID, 'eventID', r));
    const offset = e.eventTimeZoneOffset ?? '+00:00';
    if (typeof offset !== 'string' || !OFFSET.test(offset)) {
      throw exportError(index, eventID, 'eventTimeZoneOffset must be ±hh:mm between -14:00 and +14:00');
    }
    if (!(e.eventTime instanceof Date) || Number.isNaN(e.eventTime.getTime())) {
      throw exportError(index, eventID, 'eventTime must be a valid Date');
    }
    let eventTime: string;
    try {
      eventTime = formatWithOffset(e.eventTime, offset);
    } catch (err) {
      throw exportError(index, eventID, (err as Error).message);
    }
    if (e.action !== 'OBSERVE' && e.action !== 'ADD') throw exportError(index, eventID, 'action must be OBSERVE or ADD');
    const bizStep = strictly(index, eventID, (r) => checkVocab(normaliseBizStep, e.bizStep, 'bizStep', r));
    const lots = e.quantityList ?? [];
    if (!Array.isArray(e.epcs) || !Array.isArray(lots) || (e.epcs.length === 0 && lots.length === 0)) {
      throw exportError(index, eventID, 'epcs must list at least one unit (or quantityList one lot)');
    }
    let epcList: string[];
    let quantityList: NonNullable<EpcisObjectEventJson['quantityList']>;
    try {
      epcList = e.epcs.map(({ gtin, serial }) => formatDigitalLink({ host: opts.resolverHost, gtin, serial }));
    } catch (err) {
      if (!(err instanceof Gs1Error)) throw err;
      throw exportError(index, eventID, `invalid epc: ${err.message}`);
    }
    try {
      quantityList = lots.map(({ gtin, lot, quantity, uom }) => {
        if (quantity !== undefined && (typeof quantity !== 'number' || !Number.isFinite(quantity) || quantity < 0)) {
          throw exportError(index, eventID, 'quantity must be a non-negative number');
        }
        if (uom !== undefined && (quantity === undefined || typeof uom !== 'string' || !UOM.test(uom))) {
          throw exportError(index, eventID, 'uom must be a UN/ECE Recommendation 20 code, given with a quantity');
        }
        return {
          epcClass: formatLgtinDigitalLink(opts.resolverHost, gtin, lot),
          ...(quantity === undefined ? {} : { quantity }),
          ...(uom === undefined ? {} : { uom }),
        };
      });
    } catch (err) {
      if (!(err instanceof Gs1Error)) throw err;
      throw exportError(index, eventID, `invalid epcClass: ${err.message}`);
    }

    const out: EpcisObjectEventJson = {
      type: 'ObjectEvent',
      eventID,
      eventTime,
      eventTimeZoneOffset: offset,
      action: e.action,
      bizStep,
    };
    if (epcList.length > 0) out.epcList = epcList;
    if (quantityList.length > 0) out.quantityList = quantityList;
    if (e.disposition !== undefined) {
      out.disposition = strictly(index, eventID, (r) => checkVocab(normaliseDisposition, e.disposition, 'disposition', r));
    }
    if (e.readPoint !== undefined) out.readPoint = { id: strictly(index, eventID, (r) => checkUri(e.readPoint, 'readPoint', r)) };
    if (e.bizLocation !== undefined) {
      out.bizLocation = { id: strictly(index, eventID, (r) => checkUri(e.bizLocation, 'bizLocation', r)) };
    }
    if (e.bizTransactionList !== undefined) {
      out.bizTransactionList = strictly(index, eventID, (r) => checkBizTransactions(e.bizTransactionList, r));
    }
    if (e.sourceList !== undefined) {
      out.sourceList = strictly(index, eventID, (r) => checkSourceDest(e.sourceList, 'sourceList', 'source', r));
    }
    if (e.destinationList !== undefined) {
      out.destinationList = strictly(index, eventID, (r) =>
        checkSourceDest(e.destinationList, 'destinationList', 'destination', r),
      );
    }
    if (e.ilmd !== undefined) {
      if (e.action !== 'ADD') throw exportError(index, eventID, 'ilmd is allowed only with action ADD');
      out.ilmd = strictly(index, eventID, (r) => checkJsonObject(e.ilmd, 'ilmd', r));
    }
    if (e.extensions !== undefined) {
      const ext = strictly(index, eventID, (r) => checkJsonObject(e.extensions, 'extensions', r));
      Object.assign(out, ext);
    }
    for (const [prefix, iri] of Object.entries(e.namespaces ?? {})) {
      if (!PREFIX.test(prefix) || typeof iri !== 'string' || !URI.test(iri)) {
        throw exportError(index, eventID, `namespace "${prefix}" must map a simple prefix to an IRI`);
      }
      const known = prefixes.get(prefix);
      if (known !== undefined && known !== iri) {
        throw exportError(index, eventID, `prefix "${prefix}" is bound to both ${known} and ${iri}`);
      }
      prefixes.set(prefix, iri);
    }
    return out;
  });

  return {
    '@context': prefixes.size > 0 ? [EPCIS_CONTEXT, Object.fromEntries(prefixes)] : EPCIS_CONTEXT,
    id: opts.documentId,
    type: 'EPCISDocument',
    schemaVersion: '2.0',
    creationDate: opts.creationDate.toISOString(),
    epcisBody: { eventList },
  };
}
