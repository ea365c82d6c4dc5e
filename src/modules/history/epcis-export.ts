import { BadInputError } from '../../errors/app-error.js';
import { Gs1Error, formatDigitalLink } from '../../gs1/index.js';
import { normaliseBizStep, normaliseDisposition } from './cbv.js';
import {
  type Report,
  UOM,
  checkBizTransactions,
  checkJsonObject,
  checkKept,
  checkSourceDest,
  checkUri,
  checkVocab,
  formatLgtinDigitalLink,
} from './epcis-checks.js';
import { OFFSET, PREFIX, URI, formatWithOffset, isPlainObject } from './epcis-json.js';
import {
  EPCIS_CONTEXT,
  type EpcisDocumentJson,
  type EpcisObjectEventJson,
  type ExportEvent,
  type ExportOptions,
  KEPT_EVENT_FIELDS,
  MAX_FIELD_LENGTH,
  MAX_KEPT_BYTES,
} from './epcis-types.js';

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

/** A JSON copy of fields kept as given (an export input that is not an object is refused). */
function keptAs(index: number, eventID: unknown, value: Record<string, unknown> | undefined, label: string): Record<string, unknown> | undefined {
  if (value === undefined) return undefined;
  return strictly(index, eventID, (r) => (isPlainObject(value) ? checkKept(value, label, MAX_KEPT_BYTES, r) : (r(label, `${label} must be an object`), undefined)));
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
    const bizStep = e.bizStep === undefined ? undefined : strictly(index, eventID, (r) => checkVocab(normaliseBizStep, e.bizStep, 'bizStep', r));
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
    };
    if (bizStep !== undefined) out.bizStep = bizStep;
    if (epcList.length > 0) out.epcList = epcList;
    if (quantityList.length > 0) out.quantityList = quantityList;
    if (e.disposition !== undefined) {
      out.disposition = strictly(index, eventID, (r) => checkVocab(normaliseDisposition, e.disposition, 'disposition', r));
    }
    if (e.readPoint !== undefined) {
      out.readPoint = { ...keptAs(index, eventID, e.readPointExtensions, 'readPoint'), id: strictly(index, eventID, (r) => checkUri(e.readPoint, 'readPoint', r)) };
    }
    if (e.bizLocation !== undefined) {
      out.bizLocation = { ...keptAs(index, eventID, e.bizLocationExtensions, 'bizLocation'), id: strictly(index, eventID, (r) => checkUri(e.bizLocation, 'bizLocation', r)) };
    }
    const kept = keptAs(index, eventID, e.kept, 'kept');
    for (const key of KEPT_EVENT_FIELDS) if (kept !== undefined && Object.hasOwn(kept, key)) out[key] = kept[key];
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
