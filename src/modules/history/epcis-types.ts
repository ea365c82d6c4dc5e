import type { BizStep, Disposition } from './cbv.js';

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
/** Largest total of the standard fields kept uninterpreted (sensor data, certification, ...), as canonical UTF-8 JSON. */
export const MAX_KEPT_BYTES = 32 * 1024;
/**
 * Standard ObjectEvent fields that capture keeps and export writes back as given, without interpreting
 * them (GS1's schema has checked their shape): sensor data, certification references, persistent dispositions.
 */
export const KEPT_EVENT_FIELDS = ['sensorElementList', 'certificationInfo', 'persistentDisposition'] as const;
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
  /** The instant, to the millisecond: sub-millisecond digits rounded as the CBV event hash rounds them (see hashInstant). */
  eventTime: Date;
  /** The `eventTimeZoneOffset` field (`+02:00`), which may differ from the offset written in eventTime. */
  eventTimeZoneOffset: string;
  action: CaptureAction;
  /** A CBV 2.0 term in bare form, or a private URI kept as given; absent when the event has none. */
  bizStep?: BizStep | string;
  /** A CBV 2.0 term in bare form, or a private URI kept as given. */
  disposition?: Disposition | string;
  /** `readPoint.id`. */
  readPoint?: string;
  /** `bizLocation.id`. */
  bizLocation?: string;
  /** Fields of `readPoint` / `bizLocation` other than `id` (user extensions), kept as given. */
  readPointExtensions?: Record<string, unknown>;
  bizLocationExtensions?: Record<string, unknown>;
  /** Standard fields kept and exported as given but not interpreted ({@link KEPT_EVENT_FIELDS}). */
  kept?: Record<string, unknown>;
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

/** What and where of an ObjectEvent, as captured and as exported (a stored CUSTODY payload holds the same). */
export type EventWhatWhere = {
  action: CaptureAction;
  /** Absent when the EPCIS event had none. */
  bizStep?: string;
  disposition?: string;
  readPoint?: string;
  bizLocation?: string;
  readPointExtensions?: Record<string, unknown>;
  bizLocationExtensions?: Record<string, unknown>;
  /** Standard EPCIS fields kept as given, not interpreted (sensorElementList, certificationInfo, persistentDisposition). */
  kept?: Record<string, unknown>;
};

/** An event to export; a {@link CapturedObjectEvent} is one. Steps and dispositions may be in any accepted CBV spelling. */
export interface ExportEvent extends EventWhatWhere {
  eventID: string;
  eventTime: Date;
  /** Offset the times are written in; default `+00:00`. */
  eventTimeZoneOffset?: string;
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
  bizStep?: BizStep | string;
  disposition?: Disposition | string;
  epcList?: string[];
  quantityList?: Array<{ epcClass: string; quantity?: number; uom?: string }>;
  readPoint?: { id: string; [extension: string]: unknown };
  bizLocation?: { id: string; [extension: string]: unknown };
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

