import { v5 as uuidv5 } from 'uuid';
import { type EpcisDocumentJson, type ExportEvent, exportDocument } from '../history/epcis.js';
import { COUNTRY_EXTENSION, type CustodyPayload, defined } from './custody-model.js';

/** One stored CUSTODY event, as export reads it. */
export type StoredCustodyEvent = { id: string; occurredAt: Date; payload: Record<string, unknown> };

/** A unit whose history holds a given custody event: named in its epcList (with its position), or reached through its lot. */
export type EventMember = {
  passportId: string;
  gtin: string;
  serial: string;
  lot: string | null;
  brandId: string;
  viaLot: boolean;
  /** Position in the event's epcList; absent on events recorded before positions were kept. */
  epcIndex?: number;
};

/**
 * The extension that relates a projection to the event it was cut from: an event exported to a caller who may
 * not see every unit it names carries only the units the caller may see, under its own eventID, and this field
 * holds the captured event's eventID. A full IRI, so it needs no @context prefix.
 */
export const PROJECTION_EXTENSION = 'urn:dpp:epcis:projectionOf';
/** UUID v5 namespace of projection eventIDs (a fixed random UUID of this project). */
export const PROJECTION_NAMESPACE = '2f0c3b8e-5a51-4c1e-9a55-6f2d7c1b0e94';

/** Units named in epcList in their captured order (events from before positions were kept: by GTIN, serial). */
function epcMembers(members: readonly EventMember[]): EventMember[] {
  const key = (m: EventMember) => `${m.gtin}\u0000${m.serial}`;
  return members
    .filter((m) => !m.viaLot)
    .sort((a, b) => (a.epcIndex ?? Number.MAX_SAFE_INTEGER) - (b.epcIndex ?? Number.MAX_SAFE_INTEGER) || (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

/**
 * One stored CUSTODY event as the EPCIS ObjectEvent it was captured as: its epcList holds every unit whose
 * history holds the event (`members`), so every unit's export shows the same event under the same eventID.
 * Units (and lots) the caller may not see (`canSee` of their brand) are left out, and the event then becomes a
 * projection: its own eventID, a name-based UUID of the original eventID and the units shown, with the
 * original in {@link PROJECTION_EXTENSION}. Without members (an event without a recorded eventID), the unit
 * alone is named.
 */
export function toExportEvent(
  e: StoredCustodyEvent,
  unit: { gtin: string; serial: string },
  members?: readonly EventMember[],
  canSee: (brandId: string) => boolean = () => true,
): ExportEvent {
  const p = e.payload as Partial<CustodyPayload>;
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const extensions: Record<string, unknown> = { ...(p.extensions ?? {}) };
  if (typeof p.country === 'string') extensions[COUNTRY_EXTENSION] = p.country;
  const original = str(p.eventID) ?? `urn:uuid:${e.id}`;

  let epcs: Array<{ gtin: string; serial: string }>;
  let lots = p.quantityList;
  let eventID = original;
  if (members && members.length > 0) {
    const named = epcMembers(members);
    const shown = named.filter((m) => canSee(m.brandId));
    const lotVisible = (q: { gtin: string; lot: string }) =>
      members.some((m) => m.gtin === q.gtin && m.lot === q.lot && canSee(m.brandId));
    const shownLots = lots?.filter(lotVisible);
    epcs = shown.map(({ gtin, serial }) => ({ gtin, serial }));
    if (shown.length < named.length || (shownLots?.length ?? 0) < (lots?.length ?? 0)) {
      const shownKeys = [...epcs.map((u) => `01/${u.gtin}/21/${u.serial}`), ...(shownLots ?? []).map((q) => `01/${q.gtin}/10/${q.lot}`)];
      eventID = `urn:uuid:${uuidv5(JSON.stringify([original, ...shownKeys]), PROJECTION_NAMESPACE)}`;
      extensions[PROJECTION_EXTENSION] = original;
      lots = shownLots && shownLots.length > 0 ? shownLots : undefined;
    }
  } else {
    epcs = p.viaLot === true ? [] : [{ gtin: unit.gtin, serial: unit.serial }];
  }

  return defined({
    eventID,
    eventTime: e.occurredAt,
    eventTimeZoneOffset: str(p.eventTimeZoneOffset) ?? '+00:00',
    action: p.action === 'ADD' ? 'ADD' : 'OBSERVE',
    bizStep: str(p.bizStep),
    disposition: str(p.disposition),
    readPoint: str(p.readPoint),
    bizLocation: str(p.bizLocation),
    readPointExtensions: p.readPointExtensions,
    bizLocationExtensions: p.bizLocationExtensions,
    kept: p.kept,
    epcs,
    quantityList: lots,
    bizTransactionList: p.bizTransactionList as ExportEvent['bizTransactionList'],
    sourceList: p.sourceList as ExportEvent['sourceList'],
    destinationList: p.destinationList as ExportEvent['destinationList'],
    ilmd: p.ilmd,
    extensions: Object.keys(extensions).length > 0 ? extensions : undefined,
    namespaces: p.namespaces,
  }) as ExportEvent;
}

/**
 * A passport's custody history as an EPCIS 2.0 JSON-LD document (id `urn:uuid:<passport id>`): one
 * ObjectEvent per CUSTODY event, oldest first, each as captured (see {@link toExportEvent}).
 * `membersOf` answers the units of an event by eventID; `canSee` says whether the caller may see a brand's units.
 */
export function exportPassport(
  unit: { id: string; gtin: string; serial: string },
  events: readonly StoredCustodyEvent[],
  resolverHost: string,
  membersOf: (eventID: string) => readonly EventMember[] | undefined = () => undefined,
  canSee: (brandId: string) => boolean = () => true,
): EpcisDocumentJson {
  return exportDocument(
    events.map((e) => {
      const id = (e.payload as { eventID?: unknown }).eventID;
      return toExportEvent(e, unit, typeof id === 'string' ? membersOf(id) : undefined, canSee);
    }),
    { documentId: `urn:uuid:${unit.id}`, creationDate: new Date(), resolverHost },
  );
}
