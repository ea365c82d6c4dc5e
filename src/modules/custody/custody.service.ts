import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { newId } from '../../crypto/random.js';
import { canonicalJson, sha256Hex } from '../../crypto/jcs.js';
import { isUuid } from '../../db/ids.js';
import { rawQuery } from '../../db/raw.js';
import { BadInputError, ConflictError, ForbiddenError } from '../../errors/app-error.js';
import type { Viewer } from '../../context/viewer.js';
import { normaliseBizStep, normaliseDisposition } from '../history/cbv.js';
import { MAX_FIELD_LENGTH, parseCaptureDocument } from '../history/epcis.js';
import { type AppendedEvent, type EventSpec, historyService } from '../history/history.service.js';
import type { OrgKind } from '../organizations/organization.entity.js';
import { normaliseMarkets } from '../organizations/organization.service.js';
import { beforeManufacture, checkEventTime, precheck, resolveUnits, withEvent } from './custody-capture.js';
import { CUSTODIANS, type CaptureResult, type CustodyInput, type CustodyPayload, MAX_PASSPORTS_PER_EVENT, defined } from './custody-model.js';

export * from './custody-model.js';

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
