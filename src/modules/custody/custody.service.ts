import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { newId } from '../../crypto/random.js';
import { canonicalJson, sha256Hex } from '../../crypto/jcs.js';
import { isUuid } from '../../db/ids.js';
import { rawQuery } from '../../db/raw.js';
import { BadInputError, ConflictError, ForbiddenError } from '../../errors/app-error.js';
import type { Viewer } from '../../graphql/context.js';
import { normaliseBizStep, normaliseDisposition } from '../history/cbv.js';
import {
  type CaptureAction,
  type CapturedObjectEvent,
  type EpcisDocumentJson,
  type EpcisIssue,
  type ExportEvent,
  MAX_FIELD_LENGTH,
  MAX_REPORTED_ISSUES,
  exportDocument,
  parseCaptureDocument,
} from '../history/epcis.js';
import { type AppendedEvent, type EventSpec, historyService, MAX_PAYLOAD_BYTES } from '../history/history.service.js';
import type { OrgKind } from '../organizations/organization.entity.js';
import { normaliseMarkets } from '../organizations/organization.service.js';

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
export type CustodyPayload = {
  eventID: string;
  eventTimeZoneOffset: string;
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


function custodian(viewer: Viewer): { organizationId: string; orgKind: OrgKind } {
  // @Access already refuses other callers; services are also called directly, so they check again.
  if (viewer.kind !== 'ORGANIZATION') throw new ForbiddenError('Custody events are recorded by organisations');
  if (!CUSTODIANS.includes(viewer.orgKind)) throw new ForbiddenError(`An organisation of kind ${viewer.orgKind} may not record custody events`);
  return viewer;
}

function optionalText(value: string | null | undefined, field: string): string | undefined {
  if (value === null || value === undefined) return undefined;
  const v = value.trim();
  if (v.length === 0) return undefined;
  if (v.length > MAX_FIELD_LENGTH) throw new BadInputError(`${field}: at most ${MAX_FIELD_LENGTH} characters`, { field });
  return v;
}

/** readPoint and bizLocation are EPCIS location ids, so they must be URIs (or the event could not be exported). */
function optionalLocation(value: string | null | undefined, field: string): string | undefined {
  const v = optionalText(value, field);
  if (v !== undefined && !/^[A-Za-z][A-Za-z0-9+.-]*:[^\s\u0000-\u001f\u007f"<>\\^`{|}]+$/.test(v)) {
    throw new BadInputError(`${field}: an absolute URI, e.g. urn:epc:id:sgln:4012345.00001.0 or https://…`, { field });
  }
  return v;
}

function vocab<T>(normalise: (v: unknown) => T, value: unknown, field: string): T {
  try {
    return normalise(value);
  } catch (e) {
    if (e instanceof BadInputError) throw new BadInputError(`${field}: ${e.message}`, { field, value });
    throw e;
  }
}

const FUTURE_MESSAGE = `lies in the future: at most ${MAX_CLOCK_SKEW_MS / 60_000} minutes ahead of the server's clock are accepted`;

function checkEventTime(t: Date | null | undefined): Date | undefined {
  if (t === null || t === undefined) return undefined;
  const ms = t instanceof Date ? t.getTime() : Number.NaN;
  if (Number.isNaN(ms) || ms < 0) throw new BadInputError('eventTime: an RFC 3339 time after 1970', { field: 'eventTime' });
  if (ms > Date.now() + MAX_CLOCK_SKEW_MS) throw new BadInputError(`eventTime ${t.toISOString()} ${FUTURE_MESSAGE}`, { field: 'eventTime' });
  return t;
}

/** The refusal of an event dated before a unit it names was made (its passport's manufacturedAt). */
function beforeManufacture(eventTime: Date, what: string, manufacturedAt: Date): string {
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

/** Drops undefined members, so stored payloads and exported events carry only what is there. */
export function defined<T extends Record<string, unknown>>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
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
function rejectDocument(what: string, issues: EpcisIssue[], eventCount: number): BadInputError {
  const events = new Set(issues.map((i) => i.index)).size;
  const details: Record<string, unknown> = { errors: issues.slice(0, MAX_REPORTED_ISSUES), errorCount: issues.length };
  if (issues.length > MAX_REPORTED_ISSUES) details.truncated = true;
  return new BadInputError(`EPCIS document rejected: ${events} of ${eventCount} events ${what}`, details);
}

/** Checks that need no database: times the history accepts, payloads it can store. */
function precheck(events: readonly CapturedObjectEvent[]): CustodyPayload[] {
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
async function resolveUnits(
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
function withEvent(err: unknown, index: number, eventID: string, eventCount: number): unknown {
  if (err instanceof ConflictError) return new ConflictError(`EPCIS event ${index} (${eventID}): ${err.message}`, { ...err.details, index, eventID });
  if (err instanceof BadInputError) {
    return rejectDocument('invalid', [{ index, eventID, path: typeof err.details?.field === 'string' ? err.details.field : '', message: err.message }], eventCount);
  }
  return err;
}

function normaliseKey(key: string | null | undefined): string | null {
  if (key === null || key === undefined) return null;
  const k = key.trim();
  if (k.length < 1 || k.length > 200) throw new BadInputError('idempotencyKey: 1 to 200 characters', { field: 'idempotencyKey' });
  return k;
}

/** Records the capture row (claiming the idempotency key when there is one); null when the key is taken. */
async function claimCapture(tx: EntityManager, id: string, organizationId: string, key: string | null, requestHash: string, eventCount: number): Promise<boolean> {
  const rows = await rawQuery<{ id: string }>(
    tx,
    `insert into epcis_capture (id, organization_id, idempotency_key, request_hash, event_count, created_at)
     values ($1, $2, $3, $4, $5, now())
     on conflict (organization_id, idempotency_key) do nothing
     returning id`,
    [id, organizationId, key, requestHash, eventCount],
  );
  return rows.length === 1;
}

/** Records event ids as captured; answers the ones that were new (a concurrent capture of the same id waits, then sees it taken). */
async function claimEventIds(tx: EntityManager, captureId: string, eventIds: readonly string[]): Promise<Set<string>> {
  const rows = await rawQuery<{ event_id: string }>(
    tx,
    `insert into captured_epcis_event (event_id, capture_id, created_at)
     select u.event_id, $2, now() from unnest($1::text[]) as u(event_id)
     on conflict (event_id) do nothing
     returning event_id`,
    [eventIds, captureId],
  );
  return new Set(rows.map((r) => r.event_id));
}

/**
 * Supply-chain custody: CUSTODY lifecycle events recorded one at a time or captured from EPCIS 2.0 documents,
 * and each passport's custody history exported as an EPCIS 2.0 document. Every status move goes through
 * the history service (row locks, hash chain, state machine). Knows nothing of GraphQL.
 */
export const custodyService = {
  /**
   * Records one EPCIS ObjectEvent (action OBSERVE) about 1 to 1,000 passports: one CUSTODY event each, all or
   * nothing, in one transaction. Its fresh `urn:uuid:` eventID is registered as captured, so capturing an
   * export of it on this server again is a duplicate, not a second event. Answers the first passport's event.
   * @throws FORBIDDEN for callers other than retailers, distributors and brands, or a brand naming another
   *   brand's unit; NOT_FOUND for an unknown id; CONFLICT for an illegal status move; BAD_USER_INPUT otherwise.
   */
  async record(em: EntityManager, viewer: Viewer, input: CustodyInput): Promise<AppendedEvent> {
    const org = custodian(viewer);
    const ids = [...new Set(input.passportIds ?? [])];
    if (ids.length < 1 || ids.length > MAX_PASSPORTS_PER_EVENT) {
      throw new BadInputError(`passportIds: 1 to ${MAX_PASSPORTS_PER_EVENT} passport ids`, { field: 'passportIds' });
    }
    const bizStep = vocab(normaliseBizStep, input.bizStep, 'bizStep');
    const disposition = input.disposition == null ? undefined : vocab(normaliseDisposition, input.disposition, 'disposition');
    const readPoint = optionalLocation(input.readPoint, 'readPoint');
    const bizLocation = optionalLocation(input.bizLocation, 'bizLocation');
    const country = input.country == null || input.country.trim() === '' ? undefined : normaliseMarkets([input.country], 'country')[0];
    const eventTime = checkEventTime(input.eventTime);
    const payload: CustodyPayload = defined({
      eventID: `urn:uuid:${randomUUID()}`,
      eventTimeZoneOffset: '+00:00',
      action: 'OBSERVE' as const,
      bizStep,
      disposition,
      readPoint,
      bizLocation,
      country,
    });
    const spec: EventSpec = { type: 'CUSTODY', occurredAt: eventTime ?? null, actorId: org.organizationId, payload, bizStep };
    const requestHash = sha256Hex(canonicalJson({ passportIds: ids, payload, eventTime: eventTime?.toISOString() ?? null }));

    // Each unit's place in the event's epcList: the order the caller listed them in.
    const position = new Map(ids.map((id, i) => [id, i]));
    return em.transactional(async (tx) => {
      const captureId = newId();
      await claimCapture(tx as EntityManager, captureId, org.organizationId, null, requestHash, 1);
      await claimEventIds(tx as EntityManager, captureId, [payload.eventID]);
      if (eventTime !== undefined) {
        const [early] = await rawQuery<{ id: string; manufactured_at: Date | string }>(
          tx as EntityManager,
          'select id, manufactured_at from passport where id = any($1::uuid[]) and manufactured_at > $2 order by manufactured_at desc limit 1',
          [ids.filter(isUuid), eventTime.toISOString()],
        );
        if (early) throw new BadInputError(beforeManufacture(eventTime, `passport ${early.id}`, new Date(early.manufactured_at)), { field: 'eventTime' });
      }
      const results = await historyService.appendEventsForMany(tx as EntityManager, ids, (p) => {
        if (org.orgKind === 'BRAND' && p.brandId !== org.organizationId) {
          throw new ForbiddenError(`Passport ${p.id} belongs to another brand; a brand records custody of its own units only`);
        }
        return { ...spec, payload: { ...payload, epcIndex: position.get(p.id)! } };
      });
      return results[0]!.event;
    });
  },

  /**
   * Captures an EPCIS 2.0 document of ObjectEvents in one transaction, all or nothing: each event appends one
   * CUSTODY event to every unit it names (epcList, and every minted unit of a quantityList lot), in document
   * order. Idempotent twice over: a retry under the same key answers the first result (`replayed`), and an
   * event whose eventID was captured before (by any capture, from anyone) is skipped and counted as a duplicate.
   * @throws BAD_USER_INPUT listing every problem with its event index (malformed events, unknown identifiers);
   *   CONFLICT for the key reused with another document, or an illegal status move (naming event and passport);
   *   FORBIDDEN for a brand naming another brand's unit.
   */
  async capture(em: EntityManager, viewer: Viewer, document: unknown, idempotencyKey?: string | null): Promise<CaptureResult> {
    const org = custodian(viewer);
    const key = normaliseKey(idempotencyKey);
    const { events } = parseCaptureDocument(document);
    const payloads = precheck(events);
    const requestHash = sha256Hex(canonicalJson(document));

    return em.transactional(async (trx) => {
      const tx = trx as EntityManager;
      const captureId = newId();
      // The unique (organisation, key) index arbitrates concurrent retries: the loser waits, then replays.
      if (!(await claimCapture(tx, captureId, org.organizationId, key, requestHash, 0))) {
        const [existing] = await rawQuery<{ id: string; request_hash: string; event_count: number }>(
          tx,
          'select id, request_hash, event_count from epcis_capture where organization_id = $1 and idempotency_key = $2',
          [org.organizationId, key],
        );
        if (!existing) throw new ConflictError('The capture under this idempotencyKey moved while retrying; retry', { field: 'idempotencyKey' });
        if (existing.request_hash !== requestHash) {
          throw new ConflictError('idempotencyKey was already used for a different EPCIS document', { field: 'idempotencyKey', captureId: existing.id });
        }
        return { captureId: existing.id, accepted: existing.event_count, duplicates: events.length - existing.event_count, replayed: true };
      }

      const planned = await resolveUnits(tx, org, events, payloads);
      // Every unit locked up front, in id order: per-event appends then take locks already held, so two
      // captures naming the same units in different orders queue instead of deadlocking.
      const allIds = [...new Set(planned.flatMap((p) => p.unitIds))].sort();
      await rawQuery(tx, 'select id from passport where id = any($1::uuid[]) order by id for update', [allIds]);
      // Sorted, so two captures sharing several event ids take their index entries in one order.
      const fresh = await claimEventIds(tx, captureId, events.map((e) => e.eventID).sort());

      let accepted = 0;
      for (const p of planned) {
        if (!fresh.has(p.event.eventID)) continue;
        const base = { type: 'CUSTODY' as const, occurredAt: p.event.eventTime, actorId: org.organizationId, bizStep: p.event.bizStep ?? null };
        try {
          await historyService.appendEventsForMany(tx, p.unitIds, (unit) => {
            const i = p.epcIndex.get(unit.id);
            return { ...base, payload: i === undefined ? { ...p.payload, viaLot: true } : { ...p.payload, epcIndex: i } };
          });
        } catch (err) {
          throw withEvent(err, p.index, p.event.eventID, events.length);
        }
        accepted++;
      }
      await rawQuery(tx, 'update epcis_capture set event_count = $1 where id = $2', [accepted, captureId]);
      return { captureId, accepted, duplicates: events.length - accepted, replayed: false };
    });
  },
};

