import { BadInputError } from '../../errors/app-error.js';
import { normaliseBizStep, normaliseDisposition } from './cbv.js';
import {
  type Report,
  checkBizTransactions,
  checkEpcs,
  checkJsonObject,
  checkKept,
  checkLocation,
  checkQuantityList,
  checkSourceDest,
  checkUri,
  checkVocab,
} from './epcis-checks.js';
import { type Json, OFFSET, contextNamespaces, isPlainObject, kindOf, parseRfc3339 } from './epcis-json.js';
import { derivedEventId, eventNamespaces, hashInstant } from './event-hash.js';
import { schemaIssues } from './epcis-schema.js';
import {
  type CaptureAction,
  type CapturedObjectEvent,
  type EpcisIssue,
  KEPT_EVENT_FIELDS,
  MAX_EVENTS,
  MAX_KEPT_BYTES,
  MAX_FIELD_LENGTH,
  MAX_REPORTED_ISSUES,
} from './epcis-types.js';


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

const KEPT_KEYS: ReadonlySet<string> = new Set(KEPT_EVENT_FIELDS);

/** Standard ObjectEvent fields refused, with the reason (an error declaration would rewrite a past event). */
const REFUSED_EVENT_KEYS: Record<string, string> = {
  errorDeclaration:
    'error declarations are refused: the history is append-only and an earlier event cannot be declared void; capture a new corrective event instead',
};

const OTHER_EVENT_TYPES = new Set(['AggregationEvent', 'TransactionEvent', 'TransformationEvent', 'AssociationEvent']);

interface EventResult {
  event?: CapturedObjectEvent;
  eventID?: string;
}

function parseEvent(raw: unknown, docNamespaces: ReadonlyMap<string, string>, docContext: unknown, report: Report): EventResult {
  if (!isPlainObject(raw)) {
    report('', `event must be an object, got ${kindOf(raw)}`);
    return {};
  }
  const givenId = typeof raw.eventID === 'string' && raw.eventID.length <= MAX_FIELD_LENGTH ? raw.eventID : undefined;

  if (raw.type !== 'ObjectEvent') {
    const t = raw.type;
    if (typeof t === 'string' && OTHER_EVENT_TYPES.has(t)) {
      report('type', `${t} is refused: only ObjectEvents are captured, since the other types name units in roles (parent, child, input, output) that a unit's custody history does not record`);
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
    if (EVENT_KEYS.has(key) || KEPT_KEYS.has(key)) continue;
    const reason = REFUSED_EVENT_KEYS[key];
    if (reason !== undefined) fail(key, reason);
    else if (key.includes(':')) {
      extensions[key] = raw[key];
      hasExtensions = true;
    } else fail(key, `unknown ObjectEvent field "${key.slice(0, 100)}" (user fields need a namespace prefix, e.g. "example:${key.slice(0, 100)}")`);
  }

  let eventID: string | undefined;
  if (raw.eventID === undefined) {
    try {
      eventID = derivedEventId(raw, docContext);
    } catch {
      fail('', 'event is not representable as JSON');
    }
  } else {
    eventID = checkUri(raw.eventID, 'eventID', fail);
  }

  const parsedTime = parseRfc3339(raw.eventTime);
  if (raw.eventTime === undefined) fail('eventTime', 'eventTime is required');
  else if (typeof parsedTime === 'string') fail('eventTime', `eventTime ${parsedTime}`);
  // Kept to the millisecond the way the event hash counts it, so the exported event hashes to the same id.
  const eventTime = typeof parsedTime === 'string' ? parsedTime : (hashInstant(raw.eventTime as string) ?? parsedTime);

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

  const action = raw.action;
  if (action === 'DELETE') {
    fail('action', 'action DELETE is refused: it says the units ceased to exist, which the unit\'s status would not show; record end of life with an OBSERVE event (bizStep decommissioning or destroying)');
  } else if (action !== 'OBSERVE' && action !== 'ADD') {
    fail('action', action === undefined ? 'action is required (OBSERVE or ADD)' : 'action must be OBSERVE or ADD');
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
  const keptFields = Object.fromEntries(KEPT_EVENT_FIELDS.filter((k) => raw[k] !== undefined).map((k) => [k, raw[k]]));
  const kept = Object.keys(keptFields).length > 0 ? checkKept(keptFields, '', MAX_KEPT_BYTES, fail) : undefined;

  if (raw['@context'] !== undefined && !contextNamespaces(raw['@context'], new Map())) {
    fail('@context', '@context must be a URI, an object or an array of those');
  }
  const namespaces = usedNamespaces(raw, docNamespaces, docContext);

  if (!ok || eventID === undefined || typeof eventTime === 'string' || epcs === undefined) {
    return { eventID: eventID ?? givenId };
  }
  const event: CapturedObjectEvent = {
    eventID,
    eventTime,
    eventTimeZoneOffset: offset as string,
    action: action as CaptureAction,
    epcs,
  };
  if (bizStep !== undefined) event.bizStep = bizStep;
  if (disposition !== undefined) event.disposition = disposition;
  if (readPoint !== undefined) event.readPoint = readPoint.id;
  if (readPoint?.extensions !== undefined) event.readPointExtensions = readPoint.extensions;
  if (bizLocation !== undefined) event.bizLocation = bizLocation.id;
  if (bizLocation?.extensions !== undefined) event.bizLocationExtensions = bizLocation.extensions;
  if (kept !== undefined) event.kept = kept;
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
 * The declared prefixes (document or event @context) that the event writes in a key or at the start of a
 * value, anywhere in it: the event hash expands them, so export must declare them again. The EPCIS context's
 * own prefixes (cbv, gs1, ...) are left out unless the document rebinds them, since export names that context.
 */
function usedNamespaces(raw: Json, docNamespaces: ReadonlyMap<string, string>, docContext: unknown): Record<string, string> | undefined {
  const declared = new Map(docNamespaces);
  if (raw['@context'] !== undefined) contextNamespaces(raw['@context'], declared);
  if (declared.size === 0) return undefined;
  const standard = eventNamespaces({}, undefined);
  const hashed = eventNamespaces(raw, docContext);
  let out: Record<string, string> | undefined;
  const note = (text: string) => {
    const colon = text.indexOf(':');
    const prefix = colon > 0 ? text.slice(0, colon) : '';
    const iri = declared.get(prefix);
    if (iri !== undefined && iri === hashed.get(prefix) && standard.get(prefix) !== iri) (out ??= {})[prefix] = iri;
  };
  const walk = (v: unknown, depth: number): void => {
    if (depth > 64) return;
    if (typeof v === 'string') note(v);
    else if (Array.isArray(v)) for (const x of v) walk(x, depth + 1);
    else if (isPlainObject(v)) {
      for (const [k, x] of Object.entries(v)) {
        if (k === '@context') continue;
        note(k);
        walk(x, depth + 1);
      }
    }
  };
  walk(raw, 0);
  return out;
}

/**
 * GS1's schema first: a document it refuses is rejected with its problems alone (our rules would only
 * repeat them less precisely). An overlong eventList is refused before the schema walks it.
 */
function rejectBySchema(doc: Json): void {
  const list = isPlainObject(doc.epcisBody) ? doc.epcisBody.eventList : undefined;
  if (Array.isArray(list) && list.length > MAX_EVENTS) {
    const message = `epcisBody.eventList holds ${list.length} events; at most ${MAX_EVENTS} are accepted per document`;
    throw new BadInputError(`EPCIS document rejected: ${message}`, { errors: [{ path: 'epcisBody.eventList', message }], errorCount: 1 });
  }
  const found = schemaIssues(doc);
  if (found.length === 0) return;
  const withIds = found.map((issue) => {
    const id = issue.index === undefined || !Array.isArray(list) ? undefined : (list[issue.index] as Json | undefined)?.eventID;
    return typeof id === 'string' && id.length <= MAX_FIELD_LENGTH ? { ...issue, eventID: id } : issue;
  });
  const events = new Set(found.filter((i) => i.index !== undefined).map((i) => i.index)).size;
  const details: Record<string, unknown> = { errors: withIds.slice(0, MAX_REPORTED_ISSUES), errorCount: withIds.length };
  if (withIds.length > MAX_REPORTED_ISSUES) details.truncated = true;
  throw new BadInputError(
    `EPCIS document rejected: it does not validate against GS1's EPCIS 2.0 JSON schema (${found.length} problem${found.length === 1 ? '' : 's'}${events > 0 ? `, in ${events} event${events === 1 ? '' : 's'}` : ''})`,
    details,
  );
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
  rejectBySchema(doc);

  if (doc.type !== 'EPCISDocument') {
    // A query document's events sit elsewhere (epcisBody.queryResults): nothing more to say about its body.
    const message =
      doc.type === 'EPCISQueryDocument'
        ? 'type must be "EPCISDocument": query documents (query results) are refused for capture'
        : 'type must be "EPCISDocument"';
    throw new BadInputError(`EPCIS document rejected: ${message}`, { errors: [{ path: 'type', message }], errorCount: 1 });
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
    const { event, eventID } = parseEvent(raw, namespaces, doc['@context'], (path, message) => local.push({ path, message }));
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
