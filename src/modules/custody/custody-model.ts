import type { EventWhatWhere } from '../history/epcis.js';
import type { OrgKind } from '../organizations/organization.entity.js';

/** Custody's limits, constants and stored shapes, shared by recording, capture and export. */

/** Organisation kinds that record custody: the supply chain, and a brand for its own units. */
export const CUSTODIANS: readonly OrgKind[] = ['RETAILER', 'DISTRIBUTOR', 'BRAND'];
/** Most passports one recordCustodyEvent call may name. */
export const MAX_PASSPORTS_PER_EVENT = 1_000;
/** Most (event, unit) pairs one capture may write: lots expand to every minted unit, so this bounds the work. */
export const MAX_UNIT_EVENTS_PER_CAPTURE = 100_000;
/**
 * The extension key that carries `country` (not an EPCIS field) through export and capture. A full IRI,
 * so it needs no @context prefix that could clash with one a partner already uses.
 */
export const COUNTRY_EXTENSION = 'urn:dpp:epcis:country';
/**
 * How far ahead of this server's clock a custody event's time may lie: the recorder's clock may run a little
 * fast, but an event dated later than that has not happened yet, and it would sit in the history before
 * events that happen in the meantime.
 */
export const MAX_CLOCK_SKEW_MS = 5 * 60_000;

export type CustodyInput = {
  passportIds: readonly string[];
  bizStep: string;
  disposition?: string | null;
  readPoint?: string | null;
  bizLocation?: string | null;
  country?: string | null;
  eventTime?: Date | null;
};

export type CaptureResult = { captureId: string; accepted: number; duplicates: number; replayed: boolean };

/**
 * What a CUSTODY event stores: an EPCIS ObjectEvent as seen by one unit, everything export needs to write
 * it back. Absent fields are absent, never null.
 */
export type CustodyPayload = EventWhatWhere & {
  eventID: string;
  eventTimeZoneOffset: string;
  /**
   * This unit's position in the event's epcList (absent when it was reached through its lot). Export
   * rebuilds the event's epcList from every unit whose history holds the event, in this order.
   */
  epcIndex?: number;
  /** ISO 3166-1 alpha-2 country of the event (a recordCustodyEvent field; an extension in EPCIS documents). */
  country?: string;
  /** Lots named by a class-level quantityList. */
  quantityList?: Array<{ gtin: string; lot: string; quantity?: number; uom?: string }>;
  /** The unit was reached only through its lot (quantityList), not named in epcList. */
  viaLot?: true;
  bizTransactionList?: unknown[];
  sourceList?: unknown[];
  destinationList?: unknown[];
  ilmd?: Record<string, unknown>;
  extensions?: Record<string, unknown>;
  namespaces?: Record<string, string>;
};

/** Drops undefined members, so stored payloads and exported events carry only what is there. */
export function defined<T extends Record<string, unknown>>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
