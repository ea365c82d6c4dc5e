import { BIZ_STEPS, BIZ_TRANSACTION_TYPES, DISPOSITIONS, SOURCE_DEST_TYPES } from './cbv.js';
import { canonicalDigitalLink } from './event-hash-dl.js';
import { sha256Hex } from '../../crypto/jcs.js';
import { contextNamespaces, isPlainObject } from './epcis-json.js';

/**
 * The CBV 2.0 event hash ID (CBV 2.0 section 8.9): `ni:///sha-256;<hex>?ver=CBV2.0` over a pre-hash string
 * built from the event's content, so the same event gives the same id whatever its serialisation.
 * Checked against every event of the GS1 reference generator's examples (RalphTro/epcis-event-hash-generator);
 * where the generator's output and its README differ, the output is followed, since that is what other
 * systems compare against (lists with a type and user extensions come after the ordered fields, sorted).
 *
 * Pre-hash rules, in short: `eventType=<type>`, then the standard fields in the canonical order below as
 * `key=value` (parents as bare keys), list items sorted; times in UTC with milliseconds (`…T10:00:30.000Z`,
 * the 4th fraction digit rounded half to even); bare CBV terms and `urn:epcglobal:cbv:` URNs as
 * `https://ref.gs1.org/cbv/…` URIs; EPC URIs and Digital Links as canonical Digital Links on id.gs1.org;
 * numbers without trailing zeros; prefixed keys as `{namespace}local`. Then every other field (business
 * transactions, sources, destinations, ilmd, user extensions), each as one string, all sorted.
 * Bare terms are expanded in the fields the EPCIS JSON-LD context types as vocabulary (bizStep, disposition,
 * list types, sensor report type, exception, component); the generator expands any equal string anywhere,
 * which no GS1 example relies on and which would rewrite user values.
 */

type Order = ReadonlyArray<readonly [string, Order | null]>;

const QUANTITY: Order = [['quantityElement', [['epcClass', null], ['quantity', null], ['uom', null]]]];
const EPC: Order = [['epc', null]];
const SENSOR_METADATA: Order = ['time', 'startTime', 'endTime', 'deviceID', 'deviceMetadata', 'rawData', 'dataProcessingMethod', 'bizRules'].map((k) => [k, null] as const);
const SENSOR_REPORT: Order = [
  'type', 'exception', 'deviceID', 'deviceMetadata', 'rawData', 'dataProcessingMethod', 'time', 'microorganism', 'chemicalSubstance',
  'value', 'component', 'stringValue', 'booleanValue', 'hexBinaryValue', 'uriValue', 'minValue', 'maxValue', 'meanValue', 'sDev',
  'percRank', 'percValue', 'uom', 'coordinateReferenceSystem',
].map((k) => [k, null] as const);

/** The canonical property order of the generator (its README's table, with certificationInfo third). */
const EVENT_ORDER: Order = [
  ['eventTime', null],
  ['eventTimeZoneOffset', null],
  ['certificationInfo', null],
  ['parentID', null],
  ['epcList', EPC],
  ['inputEPCList', EPC],
  ['childEPCs', EPC],
  ['quantityList', QUANTITY],
  ['childQuantityList', QUANTITY],
  ['inputQuantityList', QUANTITY],
  ['outputEPCList', EPC],
  ['outputQuantityList', QUANTITY],
  ['action', null],
  ['transformationID', null],
  ['bizStep', null],
  ['disposition', null],
  ['persistentDisposition', [['set', null], ['unset', null]]],
  ['readPoint', [['id', null]]],
  ['bizLocation', [['id', null]]],
  ['sensorElementList', [['sensorElement', [['sensorMetadata', SENSOR_METADATA], ['sensorReport', SENSOR_REPORT]]]]],
];

/** List fields whose JSON items stand for child elements of another name (as in the XML binding). */
const LIST_ITEM: Record<string, string> = {
  epcList: 'epc', inputEPCList: 'epc', outputEPCList: 'epc', childEPCs: 'epc',
  quantityList: 'quantityElement', childQuantityList: 'quantityElement', inputQuantityList: 'quantityElement',
  outputQuantityList: 'quantityElement', sensorElementList: 'sensorElement',
};

/** Lists whose items pair an identifier with a type: `type=…` then the identifier, items sorted. */
const TYPED_LISTS: Record<string, string> = { bizTransactionList: 'bizTransaction', sourceList: 'source', destinationList: 'destination' };

/** Event fields the hash leaves out: they are about the record, not the event (and @context only names things). */
const NOT_HASHED = new Set(['type', 'eventID', 'recordTime', 'errorDeclaration', '@context']);
/** Comments are not content, at any depth. */
const COMMENTS = new Set(['comment', 'rdfs:comment', '#text']);

/** Prefixes the EPCIS 2.0 JSON-LD context defines, usable without declaring them again. */
const EPCIS_PREFIXES: Record<string, string> = {
  epcis: 'https://ref.gs1.org/epcis/',
  cbv: 'https://ref.gs1.org/cbv/',
  cbvmda: 'urn:epcglobal:cbv:mda:',
  gs1: 'https://gs1.org/voc/',
  rdfs: 'http://www.w3.org/2000/01/rdf-schema#',
  owl: 'http://www.w3.org/2002/07/owl#',
  xsd: 'http://www.w3.org/2001/XMLSchema#',
  dcterms: 'http://purl.org/dc/terms/',
};

const terms = (list: readonly string[], prefix: string) => new Map(list.map((t) => [t, `${prefix}${t}`]));
const CBV = 'https://ref.gs1.org/cbv/';
const BIZ_STEP = terms(BIZ_STEPS, `${CBV}BizStep-`);
const DISPOSITION = terms(DISPOSITIONS, `${CBV}Disp-`);
const BTT = terms(BIZ_TRANSACTION_TYPES, `${CBV}BTT-`);
const SDT = terms(SOURCE_DEST_TYPES, `${CBV}SDT-`);
/** Measurement types of the EPCIS 2.0 context (sensorReport.type), in the GS1 Web Vocabulary. */
const MEASUREMENT = terms(
  ('AbsoluteHumidity AbsorbedDose AbsorbedDoseRate Acceleration Radioactivity Altitude AmountOfSubstance AmountOfSubstancePerUnitVolume ' +
    'Angle AngularAcceleration AngularMomentum AngularVelocity Area Capacitance Conductance Conductivity Count Density Dimensionless ' +
    'DoseEquivalent DoseEquivalentRate DynamicViscosity ElectricCharge ElectricCurrent ElectricCurrentDensity ElectricFieldStrength ' +
    'Energy Exposure Force Frequency Illuminance Inductance Irradiance KinematicViscosity Length LinearMomentum Luminance LuminousFlux ' +
    'LuminousIntensity MagneticFlux MagneticFluxDensity MagneticVectorPotential Mass MassConcentration MassFlowRate MassPerAreaTime ' +
    'MemoryCapacity MolalityOfSolute MolarEnergy MolarMass MolarVolume Power Pressure RadiantFlux RadiantIntensity RelativeHumidity ' +
    'Resistance Resistivity SolidAngle SpecificVolume Speed SurfaceDensity SurfaceTension Temperature Time Torque Voltage Volume ' +
    'VolumeFlowRate VolumeFraction VolumetricFlux Wavenumber').split(' '),
  'https://gs1.org/voc/',
);
const EXCEPTION = terms(['ALARM_CONDITION', 'ERROR_CONDITION'], 'https://gs1.org/voc/');
const COMPONENT = terms(
  ['x', 'y', 'z', 'axial_distance', 'azimuth', 'height', 'spherical_radius', 'polar_angle', 'elevation_angle', 'easting', 'northing', 'latitude', 'longitude', 'altitude'],
  `${CBV}Comp-`,
);

/** CBV 1.x URN prefixes and their CBV 2.0 web URI prefixes. */
const CBV_URNS: ReadonlyArray<readonly [string, string]> = [
  ['urn:epcglobal:cbv:bizstep:', `${CBV}BizStep-`],
  ['urn:epcglobal:cbv:disp:', `${CBV}Disp-`],
  ['urn:epcglobal:cbv:btt:', `${CBV}BTT-`],
  ['urn:epcglobal:cbv:sdt:', `${CBV}SDT-`],
  ['urn:epcglobal:cbv:er:', `${CBV}ER-`],
];

/** Compares by Unicode code point (UTF-16 order differs for characters past U+FFFF). */
function byCodePoint(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 && x <= 0xdfff && y >= 0xe000) return 1;
    if (y >= 0xd800 && y <= 0xdfff && x >= 0xe000) return -1;
    return x - y;
  }
  return a.length - b.length;
}
const sortedJoin = (parts: string[]) => parts.sort(byCodePoint).join('');

/** A number as the generator prints it: integers without a fraction, others in shortest form (1e-05 below 1e-4). */
function numberText(x: number): string {
  if (Number.isInteger(x)) return BigInt(x).toString();
  if (Math.abs(x) < 1e-4) return x.toExponential().replace(/e([+-])(\d)$/, 'e$10$2');
  return String(x);
}

const NUMERIC = /^[+-]?(?:\d(?:_?\d)*(?:\.(?:\d(?:_?\d)*)?)?|\.\d(?:_?\d)*)(?:[eE][+-]?\d(?:_?\d)*)?$/;

/** The value rules: CBV URNs to web URIs, numbers without trailing zeros, identifiers to canonical Digital Links. */
function canonicalValue(text: string): string {
  let value = text;
  for (const [urn, web] of CBV_URNS) if (value.startsWith(urn)) value = web + value.slice(urn.length);
  if (NUMERIC.test(value)) {
    const x = Number(value.replaceAll('_', ''));
    if (Number.isFinite(x)) value = numberText(x);
  }
  return canonicalDigitalLink(value) ?? value;
}

const TIME = /^(-?\d{4,})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d+))?(?:([Zz])|([+-])(\d{2}):?(\d{2})?)?$/;

/**
 * The instant of a timestamp as the hash counts it: to the millisecond, microseconds rounded half to even
 * (digits past the 6th are dropped first). Undefined when `text` is not an ISO 8601 date-time.
 */
export function hashInstant(text: string): Date | undefined {
  const m = TIME.exec(text.trim());
  if (!m) return undefined;
  const micros = Number((m[7] ?? '').padEnd(6, '0').slice(0, 6));
  const q = Math.floor(micros / 1000);
  const r = micros % 1000;
  const millis = r > 500 || (r === 500 && q % 2 === 1) ? q + 1 : q;
  const offset = m[9] === undefined ? 0 : (m[9] === '-' ? -1 : 1) * (Number(m[10]) * 60 + Number(m[11] ?? 0));
  const d = new Date(0);
  d.setUTCFullYear(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  d.setUTCHours(Number(m[4]), Number(m[5]), Number(m[6]), 0);
  const t = d.getTime() + millis - offset * 60_000;
  return Number.isNaN(t) ? undefined : new Date(t);
}

function timeText(text: string): string {
  const instant = hashInstant(text);
  return instant === undefined ? text : instant.toISOString();
}

const isTimeKey = (key: string) => /time/i.test(key) && !/offset/i.test(key);

/** A scalar as text: strings as given, numbers, and booleans and null as the generator prints them. */
function scalarText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return numberText(v);
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (v === null) return 'None';
  return String(v);
}

interface Ctx {
  ns: ReadonlyMap<string, string>;
}

/** `prefix:local` keys as `{namespace}local` when the prefix is declared. */
function keyName(key: string, ctx: Ctx): string {
  const colon = key.indexOf(':');
  const ns = colon > 0 ? ctx.ns.get(key.slice(0, colon)) : undefined;
  return ns === undefined ? key : `{${ns}}${key.slice(colon + 1)}`;
}

/** `prefix:rest` values (CURIEs) as full URIs when the prefix is declared. */
function valueText(v: unknown, ctx: Ctx): string {
  const text = scalarText(v);
  const colon = text.indexOf(':');
  const ns = colon > 0 && typeof v === 'string' ? ctx.ns.get(text.slice(0, colon)) : undefined;
  return ns === undefined ? text : ns + text.slice(colon + 1);
}

/** A bare vocabulary term as its URI (the JSON-LD context's @vocab mapping); anything else as given. */
const vocab = (terms: ReadonlyMap<string, string>, v: unknown) => (typeof v === 'string' ? (terms.get(v.trim()) ?? v) : v);

const items = (v: unknown): unknown[] => (Array.isArray(v) ? v : [v]);

/** Every string of a field not in an order: `key=value`, or `key` then its own fields, sorted. */
function looseStrings(key: string, value: unknown, ctx: Ctx): string[] {
  if (Array.isArray(value)) return value.flatMap((v) => looseStrings(key, v, ctx));
  if (isPlainObject(value)) {
    const inner = Object.entries(value)
      .filter(([k]) => !COMMENTS.has(k))
      .flatMap(([k, v]) => looseStrings(keyName(k, ctx), v, ctx));
    return [key + sortedJoin(inner)];
  }
  const text = valueText(value, ctx).trim();
  return [text ? `${key}=${canonicalValue(text)}` : key];
}

/** `key=value` of an ordered field (times to UTC milliseconds), or '' when it has no value. */
function orderedScalar(key: string, value: unknown, ctx: Ctx): string {
  const text = valueText(value, ctx).trim();
  if (!text) return '';
  return `${key}=${isTimeKey(key) ? timeText(text) : canonicalValue(text)}`;
}

/** The fields of `obj` in `order`, then its other fields (user extensions) sorted. */
function orderedObject(obj: Record<string, unknown>, order: Order, ctx: Ctx, skip: ReadonlySet<string> = COMMENTS): string {
  let out = '';
  const named = new Set<string>();
  for (const [key, sub] of order) {
    named.add(key);
    if (!Object.hasOwn(obj, key)) continue;
    const parts: string[] = [];
    for (const v of items(obj[key])) {
      if (sub !== null && isPlainObject(v)) {
        const inner = orderedObject(v, sub, ctx);
        if (inner) parts.push(key + inner);
      } else if (sub !== null && Array.isArray(v)) {
        continue;
      } else {
        const s = orderedScalar(key, v, ctx);
        if (s) parts.push(s);
      }
    }
    out += sortedJoin(parts);
  }
  const rest: string[] = [];
  for (const [key, value] of Object.entries(obj)) {
    if (named.has(key) || skip.has(key)) continue;
    const idKey = TYPED_LISTS[key];
    if (idKey !== undefined && Array.isArray(value)) rest.push(key + sortedJoin(value.map((entry) => typedEntry(entry, idKey, ctx))));
    else rest.push(...looseStrings(keyName(key, ctx), value, ctx));
  }
  return out + sortedJoin(rest);
}

/** One business transaction, source or destination: `type=…` first (as in the XML binding's attribute), then the id. */
function typedEntry(entry: unknown, idKey: string, ctx: Ctx): string {
  if (!isPlainObject(entry)) return sortedJoin(looseStrings(idKey, entry, ctx));
  const type = entry.type === undefined ? '' : sortedJoin(looseStrings('type', entry.type, ctx));
  return type + sortedJoin(looseStrings(idKey, entry[idKey], ctx));
}

/** A copy of the event with list items renamed into their child elements and bare vocabulary terms as URIs. */
function prepare(event: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...event };
  for (const [list, item] of Object.entries(LIST_ITEM)) {
    if (Array.isArray(out[list])) out[list] = { [item]: out[list] };
  }
  if (out.bizStep !== undefined) out.bizStep = vocab(BIZ_STEP, out.bizStep);
  if (out.disposition !== undefined) out.disposition = vocab(DISPOSITION, out.disposition);
  const pd = out.persistentDisposition;
  if (isPlainObject(pd)) {
    out.persistentDisposition = Object.fromEntries(
      Object.entries(pd).map(([k, v]) => [k, k === 'set' || k === 'unset' ? items(v).map((t) => vocab(DISPOSITION, t)) : v]),
    );
  }
  for (const [list, types] of [['bizTransactionList', BTT], ['sourceList', SDT], ['destinationList', SDT]] as const) {
    const v = out[list];
    if (Array.isArray(v)) out[list] = v.map((e) => (isPlainObject(e) && e.type !== undefined ? { ...e, type: vocab(types, e.type) } : e));
  }
  const sensors = out.sensorElementList as { sensorElement?: unknown } | undefined;
  if (sensors && Array.isArray(sensors.sensorElement)) {
    sensors.sensorElement = sensors.sensorElement.map((el) => {
      if (!isPlainObject(el) || el.sensorReport === undefined) return el;
      const reports = items(el.sensorReport).map((r) => {
        if (!isPlainObject(r)) return r;
        const copy = { ...r };
        if (copy.type !== undefined) copy.type = vocab(MEASUREMENT, copy.type);
        if (copy.exception !== undefined) copy.exception = vocab(EXCEPTION, copy.exception);
        if (copy.component !== undefined) copy.component = vocab(COMPONENT, copy.component);
        return copy;
      });
      return { ...el, sensorReport: reports };
    });
  }
  return out;
}

export interface EventHashOptions {
  /** The document's @context: its prefixes (and the event's own @context's) name the namespaces of user fields. */
  context?: unknown;
  /** Top-level fields left out, as written (a repository's own bookkeeping, e.g. its capture id). */
  ignoreFields?: readonly string[];
}

export interface EventHash {
  preHash: string;
  /** `ni:///sha-256;<hex>?ver=CBV2.0` */
  id: string;
}

/** The namespaces an event's prefixes stand for: the EPCIS context's, then the document's, then the event's own. */
export function eventNamespaces(event: Record<string, unknown>, context?: unknown): Map<string, string> {
  const ns = new Map(Object.entries(EPCIS_PREFIXES));
  if (context !== undefined) contextNamespaces(context, ns);
  if (event['@context'] !== undefined) contextNamespaces(event['@context'], ns);
  return ns;
}

/** The CBV 2.0 pre-hash string and event hash ID of one EPCIS 2.0 JSON-LD event. */
export function eventHash(event: Record<string, unknown>, options: EventHashOptions = {}): EventHash {
  const ctx: Ctx = { ns: eventNamespaces(event, options.context) };
  const skip = new Set([...NOT_HASHED, ...COMMENTS, ...(options.ignoreFields ?? [])]);
  const preHash = `eventType=${scalarText(event.type ?? '')}${orderedObject(prepare(event), EVENT_ORDER, ctx, skip)}`;
  return { preHash, id: `ni:///sha-256;${sha256Hex(preHash)}?ver=CBV2.0` };
}

/**
 * The eventID given to an event captured without one: its CBV 2.0 event hash ID, so another GS1-conformant
 * repository, or this one capturing the event again (from the sender or from our export), names it alike.
 */
export function derivedEventId(rawEvent: Record<string, unknown>, documentContext?: unknown): string {
  return eventHash(rawEvent, { context: documentContext }).id;
}
