import type { EntityManager } from '@mikro-orm/postgresql';
import { rawQuery } from '../../db/raw.js';
import { BadInputError, ConflictError, ForbiddenError } from '../../errors/app-error.js';
import { type CapturedObjectEvent, type EpcisIssue, MAX_REPORTED_ISSUES } from '../history/epcis.js';
import { MAX_PAYLOAD_BYTES } from '../history/history.service.js';
import type { OrgKind } from '../organizations/organization.entity.js';
import { normaliseMarkets } from '../organizations/organization.service.js';
import { COUNTRY_EXTENSION, type CustodyPayload, MAX_CLOCK_SKEW_MS, MAX_UNIT_EVENTS_PER_CAPTURE, defined } from './custody-model.js';

/** Checks and planning of custody events before they are appended: times, payloads, the units each names. */

const FUTURE_MESSAGE = `lies in the future: at most ${MAX_CLOCK_SKEW_MS / 60_000} minutes ahead of the server's clock are accepted`;

export function checkEventTime(t: Date | null | undefined): Date | undefined {
  if (t === null || t === undefined) return undefined;
  const ms = t instanceof Date ? t.getTime() : Number.NaN;
  if (Number.isNaN(ms) || ms < 0) throw new BadInputError('eventTime: an RFC 3339 time after 1970', { field: 'eventTime' });
  if (ms > Date.now() + MAX_CLOCK_SKEW_MS) throw new BadInputError(`eventTime ${t.toISOString()} ${FUTURE_MESSAGE}`, { field: 'eventTime' });
  return t;
}

/** The refusal of an event dated before a unit it names was made (its passport's manufacturedAt). */
export function beforeManufacture(eventTime: Date, what: string, manufacturedAt: Date): string {
  return `eventTime ${eventTime.toISOString()} predates the manufacture of ${what} (${manufacturedAt.toISOString()}): a unit's history starts when it was made`;
}

/** An exactly-spelled ISO 3166-1 alpha-2 code (upper case), or undefined. */
function exactCountry(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  try {
    return normaliseMarkets([value])[0] === value ? value : undefined;
  } catch {
    return undefined;
  }
}


/** The payload every unit of a captured event shares; `country` comes back out of its extension. */
function capturedPayload(e: CapturedObjectEvent): CustodyPayload {
  let extensions = e.extensions;
  let country: string | undefined;
  if (extensions && Object.hasOwn(extensions, COUNTRY_EXTENSION)) {
    country = exactCountry(extensions[COUNTRY_EXTENSION]);
    if (country !== undefined) {
      const { [COUNTRY_EXTENSION]: _country, ...rest } = extensions;
      extensions = Object.keys(rest).length > 0 ? rest : undefined;
    }
  }
  return defined({
    eventID: e.eventID,
    eventTimeZoneOffset: e.eventTimeZoneOffset,
    action: e.action,
    bizStep: e.bizStep,
    disposition: e.disposition,
    readPoint: e.readPoint,
    bizLocation: e.bizLocation,
    readPointExtensions: e.readPointExtensions,
    bizLocationExtensions: e.bizLocationExtensions,
    kept: e.kept,
    country,
    quantityList: e.quantityList?.map(({ gtin, lot, quantity, uom }) => defined({ gtin, lot, quantity, uom })),
    bizTransactionList: e.bizTransactionList,
    sourceList: e.sourceList,
    destinationList: e.destinationList,
    ilmd: e.ilmd,
    extensions,
    namespaces: e.namespaces,
  });
}

/** One BadInputError in parseCaptureDocument's shape (`details.errors`, `details.errorCount`). */
export function rejectDocument(what: string, issues: EpcisIssue[], eventCount: number): BadInputError {
  const events = new Set(issues.map((i) => i.index)).size;
  const details: Record<string, unknown> = { errors: issues.slice(0, MAX_REPORTED_ISSUES), errorCount: issues.length };
  if (issues.length > MAX_REPORTED_ISSUES) details.truncated = true;
  return new BadInputError(`EPCIS document rejected: ${events} of ${eventCount} events ${what}`, details);
}

/** Checks that need no database: times the history accepts, payloads it can store. */
export function precheck(events: readonly CapturedObjectEvent[]): CustodyPayload[] {
  const issues: EpcisIssue[] = [];
  const latest = Date.now() + MAX_CLOCK_SKEW_MS;
  const payloads = events.map((e, index) => {
    const t = e.eventTime.getTime();
    if (t < 0) issues.push({ index, eventID: e.eventID, path: 'eventTime', message: 'eventTime must be after 1970' });
    else if (t > latest) issues.push({ index, eventID: e.eventID, path: 'eventTime', message: `eventTime ${e.eventTime.toISOString()} ${FUTURE_MESSAGE}` });
    const payload = capturedPayload(e);
    // Room for the per-unit markers (viaLot, epcIndex) that the builder adds.
    if (Buffer.byteLength(JSON.stringify(payload)) + 32 > MAX_PAYLOAD_BYTES) {
      issues.push({ index, eventID: e.eventID, path: '', message: `event is larger than the ${MAX_PAYLOAD_BYTES} bytes one history event may hold` });
    }
    return payload;
  });
  if (issues.length > 0) throw rejectDocument('invalid', issues, events.length);
  return payloads;
}

type UnitRow = { id: string; brand_id: string; gtin: string; key: string; manufactured_at: Date | string };
/** `epcIndex`: each unit named in epcList → its position there (units reached through a lot are absent). */
type PlannedEvent = { index: number; event: CapturedObjectEvent; payload: CustodyPayload; unitIds: string[]; epcIndex: Map<string, number> };

const pairKey = (a: string, b: string) => `${a}\u0000${b}`;

/**
 * Every unit each event names: epcList entries by (GTIN, serial), quantityList lots by (GTIN, lot) expanded to
 * every minted unit of that lot. Unknown identifiers reject the whole document, each listed with its event.
 */
export async function resolveUnits(
  tx: EntityManager,
  org: { organizationId: string; orgKind: OrgKind },
  events: readonly CapturedObjectEvent[],
  payloads: readonly CustodyPayload[],
): Promise<PlannedEvent[]> {
  const serials = new Map<string, [string, string]>();
  const lots = new Map<string, [string, string]>();
  for (const e of events) {
    for (const u of e.epcs) serials.set(pairKey(u.gtin, u.serial), [u.gtin, u.serial]);
    for (const q of e.quantityList ?? []) lots.set(pairKey(q.gtin, q.lot), [q.gtin, q.lot]);
  }
  const bySerial = new Map<string, UnitRow>();
  const byLot = new Map<string, UnitRow[]>();
  if (serials.size > 0) {
    const pairs = [...serials.values()];
    const rows = await rawQuery<UnitRow>(
      tx,
      `select p.id, p.brand_id, p.gtin, p.serial as key, p.manufactured_at from passport p
       join unnest($1::text[], $2::text[]) as u(gtin, serial) on p.gtin = u.gtin and p.serial = u.serial`,
      [pairs.map((x) => x[0]), pairs.map((x) => x[1])],
    );
    for (const r of rows) bySerial.set(pairKey(r.gtin, r.key), r);
  }
  if (lots.size > 0) {
    const pairs = [...lots.values()];
    const rows = await rawQuery<UnitRow>(
      tx,
      `select p.id, p.brand_id, p.gtin, p.lot as key, p.manufactured_at from passport p
       join unnest($1::text[], $2::text[]) as u(gtin, lot) on p.gtin = u.gtin and p.lot = u.lot
       order by p.id`,
      [pairs.map((x) => x[0]), pairs.map((x) => x[1])],
    );
    for (const r of rows) byLot.set(pairKey(r.gtin, r.key), [...(byLot.get(pairKey(r.gtin, r.key)) ?? []), r]);
  }

  const issues: EpcisIssue[] = [];
  let unitEvents = 0;
  const planned = events.map((event, index): PlannedEvent => {
    const epcIndex = new Map<string, number>();
    const units = new Map<string, { row: UnitRow; uri: string }>();
    const t = event.eventTime.getTime();
    const made = (row: UnitRow) => new Date(row.manufactured_at);
    event.epcs.forEach((u, i) => {
      const row = bySerial.get(pairKey(u.gtin, u.serial));
      if (!row) {
        issues.push({ index, eventID: event.eventID, path: `epcList[${i}]`, message: `unknown identifier ${u.uri}: no passport has GTIN ${u.gtin} and serial ${u.serial}` });
        return;
      }
      if (t < made(row).getTime()) issues.push({ index, eventID: event.eventID, path: 'eventTime', message: beforeManufacture(event.eventTime, `epcList[${i}] ${u.uri}`, made(row)) });
      epcIndex.set(row.id, i);
      units.set(row.id, { row, uri: u.uri });
    });
    (event.quantityList ?? []).forEach((q, i) => {
      const rows = byLot.get(pairKey(q.gtin, q.lot));
      if (!rows) {
        issues.push({ index, eventID: event.eventID, path: `quantityList[${i}].epcClass`, message: `unknown identifier ${q.epcClass}: no minted unit has GTIN ${q.gtin} and lot ${q.lot}` });
        return;
      }
      const latest = rows.reduce((a, r) => (made(r) > a ? made(r) : a), made(rows[0]!));
      if (t < latest.getTime()) issues.push({ index, eventID: event.eventID, path: 'eventTime', message: beforeManufacture(event.eventTime, `units of quantityList[${i}] ${q.epcClass}`, latest) });
      for (const row of rows) if (!units.has(row.id)) units.set(row.id, { row, uri: q.epcClass });
    });
    unitEvents += units.size;
    if (org.orgKind === 'BRAND') {
      const foreign = [...units.values()].find((u) => u.row.brand_id !== org.organizationId);
      if (foreign) {
        throw new ForbiddenError(`EPCIS event ${index} names ${foreign.uri} (passport ${foreign.row.id}), a unit of another brand; a brand records custody of its own units only`);
      }
    }
    return { index, event, payload: payloads[index]!, unitIds: [...units.keys()], epcIndex };
  });
  if (issues.length > 0) {
    const unknown = issues.some((i) => i.message.startsWith('unknown identifier'));
    const early = issues.some((i) => !i.message.startsWith('unknown identifier'));
    throw rejectDocument(unknown && early ? 'name unknown units or predate them' : unknown ? 'name unknown units' : 'predate the units they name', issues, events.length);
  }
  if (unitEvents > MAX_UNIT_EVENTS_PER_CAPTURE) {
    throw new BadInputError(`EPCIS document rejected: it names ${unitEvents} unit events; at most ${MAX_UNIT_EVENTS_PER_CAPTURE} are accepted per document`, {
      errors: [{ path: 'epcisBody.eventList', message: `at most ${MAX_UNIT_EVENTS_PER_CAPTURE} (event, unit) pairs` }],
      errorCount: 1,
    });
  }
  return planned;
}

/** The history service's refusal of one event, with the event's index and id added. */
export function withEvent(err: unknown, index: number, eventID: string, eventCount: number): unknown {
  if (err instanceof ConflictError) return new ConflictError(`EPCIS event ${index} (${eventID}): ${err.message}`, { ...err.details, index, eventID });
  if (err instanceof BadInputError) {
    return rejectDocument('invalid', [{ index, eventID, path: typeof err.details?.field === 'string' ? err.details.field : '', message: err.message }], eventCount);
  }
  return err;
}
