import { newId } from '../../crypto/random.js';
import type { EntityManager } from '@mikro-orm/postgresql';
import { isUuid } from '../../db/ids.js';
import { rawQuery } from '../../db/raw.js';
import { BadInputError, ConflictError, NotFoundError } from '../../errors/app-error.js';
import { type EventDraft, eventHash, insertEvents } from './chain.js';
import { LIFECYCLE_EVENT_TYPES, type LifecycleEventType } from './lifecycle-event.entity.js';
import { Passport, type PassportStatus } from '../passports/passport.entity.js';
import { nextStatus, normaliseBizStep } from './state-machine.js';

/** The most passports one call may append to (one EPCIS event listing many EPCs). */
export const MAX_PASSPORTS_PER_APPEND = 100_000;
/** Largest payload accepted, as JSON text. */
export const MAX_PAYLOAD_BYTES = 64 * 1024;
/** Deepest nesting accepted in a payload (canonicalisation and jsonb both recurse). */
export const MAX_PAYLOAD_DEPTH = 32;
const CHUNK = 10_000;

/** One event to append, as the caller describes it; seq, prevHash, hash and recordedAt are the service's. */
export type EventSpec = {
  type: LifecycleEventType;
  /** When it happened (EPCIS eventTime); defaults to now. Not more than a day ahead of the server clock. */
  occurredAt?: Date | null;
  /** The organisation recording it; null for consumer-side events. */
  actorId: string | null;
  payload: Record<string, unknown>;
  /** EPCIS business step of a CUSTODY event; read from `payload.bizStep` when not given. */
  bizStep?: string | null;
};

export type AppendInput = EventSpec & { passportId: string };

/** A stored event: what its hash covers, plus its id and hash. */
export type AppendedEvent = EventDraft & { id: string; hash: string };

export type AppendResult = { event: AppendedEvent; status: PassportStatus; previousStatus: PassportStatus };

/** A passport row as locked for an append: what a builder may look at to shape (or refuse) its event. */
export type LockedPassport = {
  id: string;
  brandId: string;
  gtin: string;
  serial: string;
  status: PassportStatus;
  headSeq: number;
  headHash: string | null;
};

export type HistoryVerification = {
  valid: boolean;
  /** Number of stored events. */
  length: number;
  /** The passport's recorded head (`passport.head_hash`). */
  headHash: string | null;
  /** The first sequence number at which the history is not intact (missing, altered or unlinked). */
  firstBrokenSeq?: number;
  reason?: string;
};

/** Deepest nesting of objects and arrays in JSON text (strings skipped). */
function jsonDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{' || c === '[') max = Math.max(max, ++depth);
    else if (c === '}' || c === ']') depth--;
  }
  return max;
}

/**
 * Runs `fn` in the caller's transaction when there is one, otherwise in a new one on a clear fork,
 * so that transaction holds the append alone (not whatever else the caller's entity manager has pending).
 */
async function inTransaction<T>(em: EntityManager, fn: (tx: EntityManager) => Promise<T>): Promise<T> {
  return em.isInTransaction() ? fn(em) : em.transactional((tx) => fn(tx as EntityManager), { clear: true });
}

/**
 * The payload exactly as Postgres `jsonb` will give it back: JSON values only (dates become ISO strings,
 * undefined members vanish), so the hash computed now is the hash recomputed from the stored row.
 */
function normalisePayload(payload: unknown): Record<string, unknown> {
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
    throw new BadInputError('payload: a JSON object', { field: 'payload' });
  }
  let text: string | undefined;
  try {
    text = JSON.stringify(payload);
  } catch {
    text = undefined;
  }
  if (typeof text !== 'string' || !text.startsWith('{')) throw new BadInputError('payload: not representable as a JSON object', { field: 'payload' });
  if (Buffer.byteLength(text) > MAX_PAYLOAD_BYTES) throw new BadInputError(`payload: at most ${MAX_PAYLOAD_BYTES} bytes of JSON`, { field: 'payload' });
  // jsonb refuses NUL and RFC 8785 has no form for an unpaired surrogate; JSON.stringify writes both as
  // \u escapes (and never escapes a valid pair), so an escape after an even run of backslashes is one.
  if (/(?<!\\)(?:\\\\)*\\u(?:0000|d[89a-f][0-9a-f]{2})/i.test(text)) {
    throw new BadInputError('payload: strings may not contain NUL or unpaired surrogates', { field: 'payload' });
  }
  if (jsonDepth(text) > MAX_PAYLOAD_DEPTH) throw new BadInputError(`payload: nested at most ${MAX_PAYLOAD_DEPTH} levels deep`, { field: 'payload' });
  return JSON.parse(text) as Record<string, unknown>;
}

type ValidSpec = { type: LifecycleEventType; occurredAt: Date | null; actorId: string | null; payload: Record<string, unknown>; bizStep?: string };

function validateSpec(spec: EventSpec): ValidSpec {
  if (!LIFECYCLE_EVENT_TYPES.includes(spec.type)) throw new BadInputError(`type: one of ${LIFECYCLE_EVENT_TYPES.join(', ')}`, { field: 'type' });
  // Minting and signing write their own events (with the identity and signature columns that go with them).
  if (spec.type === 'MINTED' || spec.type === 'SIGNED') {
    throw new BadInputError(`type: ${spec.type} events are written by ${spec.type === 'MINTED' ? 'mintPassports' : 'signPassports'}`, { field: 'type' });
  }
  const occurredAt = spec.occurredAt ?? null;
  if (occurredAt !== null) {
    const t = occurredAt instanceof Date ? occurredAt.getTime() : Number.NaN;
    // Bounded so the ISO form stays the plain 4-digit-year one both here and in Postgres.
    if (Number.isNaN(t) || t < 0 || t > Date.now() + 86_400_000) {
      throw new BadInputError('occurredAt: a valid time after 1970, not in the future', { field: 'occurredAt' });
    }
  }
  const actorId = spec.actorId ?? null;
  if (actorId !== null && !isUuid(actorId)) throw new BadInputError('actorId: an organisation id', { field: 'actorId' });
  const payload = normalisePayload(spec.payload);
  const fromPayload = typeof payload.bizStep === 'string' ? payload.bizStep : undefined;
  const bizStep = spec.bizStep ?? fromPayload ?? undefined;
  if (spec.bizStep && fromPayload && normaliseBizStep(spec.bizStep) !== normaliseBizStep(fromPayload)) {
    throw new BadInputError('bizStep: differs from payload.bizStep', { field: 'bizStep' });
  }
  return { type: spec.type, occurredAt, actorId, payload, ...(bizStep ? { bizStep } : {}) };
}

type Row = { id: string; brand_id: string; gtin: string; serial: string; status: PassportStatus; head_seq: number; head_hash: string | null };

const toLocked = (r: Row): LockedPassport => ({
  id: r.id,
  brandId: r.brand_id,
  gtin: r.gtin,
  serial: r.serial,
  status: r.status,
  headSeq: r.head_seq,
  headHash: r.head_hash,
});

/**
 * The core of both appends, inside one transaction: lock the rows in id order (so concurrent callers,
 * whatever order they list passports in, queue instead of deadlocking), check every move first,
 * then write events and heads. Nothing is written unless every move is legal.
 */
async function appendLocked(tx: EntityManager, ids: readonly string[], build: (p: LockedPassport) => EventSpec): Promise<Map<string, AppendResult>> {
  const rows = await rawQuery<Row>(
    tx,
    `select id, brand_id, gtin, serial, status, head_seq, head_hash from passport where id = any($1::uuid[]) order by id for update`,
    [ids],
  );
  if (rows.length !== ids.length) {
    const found = new Set(rows.map((r) => r.id));
    throw new NotFoundError('Passport', ids.find((id) => !found.has(id)));
  }
  // recordedAt is taken once the locks are held, so along a chain it follows commit order (on one clock).
  const recordedAt = new Date();
  const results = new Map<string, AppendResult>();
  for (const row of rows) {
    const spec = validateSpec(build(toLocked(row)));
    let status: PassportStatus;
    try {
      status = nextStatus(row.status, spec.type, { bizStep: spec.bizStep });
    } catch (e) {
      if (e instanceof ConflictError) throw new ConflictError(`Passport ${row.id}: ${e.message}`, { ...e.details, passportId: row.id });
      throw e;
    }
    const draft: EventDraft = {
      passportId: row.id,
      seq: row.head_seq + 1,
      type: spec.type,
      occurredAt: spec.occurredAt ?? recordedAt,
      recordedAt,
      actorId: spec.actorId,
      payload: spec.payload,
      prevHash: row.head_hash,
    };
    results.set(row.id, { event: { ...draft, id: newId(), hash: eventHash(draft) }, status, previousStatus: row.status });
  }

  const all = [...results.values()];
  await insertEvents(tx, all.map((r) => r.event));
  for (let i = 0; i < all.length; i += CHUNK) {
    const chunk = all.slice(i, i + CHUNK);
    // head_seq in the filter is a second guard behind the row lock: a head moved by anyone else is not overwritten.
    const updated = await rawQuery<{ id: string }>(
      tx,
      `update passport p set head_hash = u.head_hash, head_seq = u.head_seq, status = u.status::passport_status, updated_at = $5
       from unnest($1::uuid[], $2::text[], $3::int[], $4::text[]) as u(id, head_hash, head_seq, status)
       where p.id = u.id and p.head_seq = u.head_seq - 1
       returning p.id`,
      [chunk.map((r) => r.event.passportId), chunk.map((r) => r.event.hash), chunk.map((r) => r.event.seq), chunk.map((r) => r.status), recordedAt.toISOString()],
    );
    if (updated.length !== chunk.length) throw new ConflictError('The history moved while appending; retry', { passportIds: chunk.map((r) => r.event.passportId) });
  }
  return results;
}

/**
 * Passports this entity manager already holds are reloaded, so callers never read a stale head or status.
 * A plain find merges: columns the caller changed and has not flushed keep the caller's values.
 */
async function refreshLoaded(em: EntityManager, ids: readonly string[]): Promise<void> {
  const uow = em.getUnitOfWork();
  const loaded = ids.filter((id) => uow.getById(Passport, id) !== undefined);
  if (loaded.length > 0) await em.find(Passport, { id: { $in: loaded } });
}

/**
 * Appends one event to a passport's history and moves its status, race-safely: the passport row is
 * locked, so concurrent writers queue and the chain never forks or reuses a seq. Joins the caller's
 * transaction when there is one, otherwise runs in its own.
 * @throws NotFoundError for an unknown passport; ConflictError for an illegal status move
 *   (details `{ passportId, from, event, bizStep? }`); BadInputError for a malformed event.
 */
export async function appendEvent(em: EntityManager, input: AppendInput): Promise<AppendResult> {
  const { passportId, ...spec } = input;
  validateSpec(spec); // fail fast, before a transaction or a lock
  if (!isUuid(passportId)) throw new NotFoundError('Passport', passportId);
  const results = await inTransaction(em, (tx) => appendLocked(tx, [passportId], () => spec));
  await refreshLoaded(em, [passportId]);
  return results.get(passportId)!;
}

/**
 * Appends one event to each of many passports (an EPCIS event listing many EPCs) in one transaction,
 * all or nothing: an unknown id is NOT_FOUND and one illegal move is a CONFLICT naming that passport,
 * and either leaves every history as it was. `builder` shapes each unit's event from its locked row
 * (and may throw to refuse it). Repeated ids count once. Answers one result per id, in input order.
 */
export async function appendEventsForMany(
  em: EntityManager,
  passportIds: readonly string[],
  builder: EventSpec | ((passport: LockedPassport) => EventSpec),
): Promise<AppendResult[]> {
  const ids = [...new Set(passportIds)];
  if (ids.length === 0) return [];
  if (ids.length > MAX_PASSPORTS_PER_APPEND) throw new BadInputError(`passportIds: at most ${MAX_PASSPORTS_PER_APPEND}`, { field: 'passportIds' });
  const malformed = ids.find((id) => !isUuid(id));
  if (malformed !== undefined) throw new NotFoundError('Passport', malformed);
  const build = typeof builder === 'function' ? builder : () => builder;
  if (typeof builder !== 'function') validateSpec(builder);
  const results = await inTransaction(em, (tx) => appendLocked(tx, ids, build));
  await refreshLoaded(em, ids);
  return ids.map((id) => results.get(id)!);
}

type StoredRow = {
  head_hash: string | null;
  head_seq: number;
  id: string | null;
  seq: number | null;
  type: LifecycleEventType;
  occurred_at: string;
  recorded_at: string;
  actor_id: string | null;
  payload: Record<string, unknown>;
  prev_hash: string | null;
  hash: string;
};

/** 'YYYY-MM-DDTHH:MI:SS.uuuuuu' (UTC, from Postgres) as a Date, or null when it is not on a whole millisecond. */
function exactMillis(text: string): Date | null {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}000$/.test(text)) return null;
  const d = new Date(`${text.slice(0, -3)}Z`);
  return Number.isNaN(d.getTime()) ? null : d;
}

/**
 * Recomputes a passport's history from the stored rows: every hash (over the payload as stored and
 * the timestamps as the ISO strings `eventHash` uses), every `prevHash` link, seq continuity from 1,
 * and that the passport's head is the last event. Read in one statement, so one consistent snapshot.
 * @throws NotFoundError for an unknown passport.
 */
export async function verifyHistory(em: EntityManager, passportId: string): Promise<HistoryVerification> {
  if (!isUuid(passportId)) throw new NotFoundError('Passport', passportId);
  // Timestamps travel as text with microseconds: MikroORM leaves timestamptz as the server's text anyway,
  // and a sub-millisecond edit (which the ms-precision hash could not see) is caught as not exact.
  const rows = await rawQuery<StoredRow>(
    em,
    `select p.head_hash, p.head_seq, e.id, e.seq, e.type, e.actor_id, e.payload, e.prev_hash, e.hash,
       to_char(e.occurred_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') as occurred_at,
       to_char(e.recorded_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') as recorded_at
     from passport p left join lifecycle_event e on e.passport_id = p.id
     where p.id = $1
     order by e.seq`,
    [passportId],
  );
  if (rows.length === 0) throw new NotFoundError('Passport', passportId);
  const head = { hash: rows[0]!.head_hash, seq: rows[0]!.head_seq };
  const events = rows.filter((r) => r.id !== null);
  const broken = (firstBrokenSeq: number, reason: string): HistoryVerification => ({ valid: false, length: events.length, headHash: head.hash, firstBrokenSeq, reason });

  let prev: string | null = null;
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    const expected = i + 1;
    if (e.seq !== expected) return broken(expected, `event ${expected} is missing (found seq ${e.seq})`);
    if (e.prev_hash !== prev) return broken(expected, expected === 1 ? 'the first event has a prevHash' : `prevHash does not link to event ${expected - 1}`);
    const occurredAt = exactMillis(e.occurred_at);
    const recordedAt = exactMillis(e.recorded_at);
    if (!occurredAt || !recordedAt) return broken(expected, 'a timestamp is not the one that was hashed');
    let hash: string;
    try {
      hash = eventHash({ passportId, seq: e.seq, type: e.type, occurredAt, recordedAt, actorId: e.actor_id, payload: e.payload, prevHash: e.prev_hash });
    } catch {
      return broken(expected, 'the stored event cannot be canonicalised');
    }
    if (hash !== e.hash) return broken(expected, 'stored hash does not match the event');
    prev = e.hash;
  }
  if (head.seq > events.length) return broken(events.length + 1, `event ${events.length + 1} is missing (the passport head is at seq ${head.seq})`);
  if (head.seq < events.length) return broken(head.seq + 1, `events after the passport head (seq ${head.seq}) were added`);
  if (head.hash !== prev) return broken(Math.max(1, events.length), `the passport head hash is not the hash of event ${events.length}`);
  return { valid: true, length: events.length, headHash: head.hash };
}

/** Appends to and verifies the hash-chained lifecycle history. Knows nothing of GraphQL. */
export const historyService = { appendEvent, appendEventsForMany, verifyHistory };
