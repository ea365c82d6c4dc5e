import type { EntityManager } from '@mikro-orm/postgresql';
import { canonicalJson, sha256Hex } from '../../crypto/jcs.js';
import { noteOutboxWrite, OUTBOX_TOPICS } from '../../db/outbox.js';
import { newId } from '../../crypto/random.js';
import { packList, rawQuery, unpack } from '../../db/raw.js';
import type { LifecycleEventType } from './lifecycle-event.entity.js';

/** One lifecycle event as hashed: every stored field except `id` and `hash` itself. */
export type EventDraft = {
  passportId: string;
  seq: number;
  type: LifecycleEventType;
  occurredAt: Date;
  recordedAt: Date;
  actorId: string | null;
  payload: Record<string, unknown>;
  /** The payload's RFC 8785 text when the caller already has it (minting builds it from a template). */
  payloadText?: string;
  prevHash: string | null;
};

/** The canonical object an event's hash covers (RFC 8785), with dates as ISO 8601 strings. */
export function hashedForm(e: EventDraft): Record<string, unknown> {
  return {
    passportId: e.passportId,
    seq: e.seq,
    type: e.type,
    occurredAt: e.occurredAt.toISOString(),
    recordedAt: e.recordedAt.toISOString(),
    actorId: e.actorId,
    payload: e.payload,
    prevHash: e.prevHash,
  };
}

/**
 * RFC 8785 text of {@link hashedForm}. The envelope has a fixed set of members whose values are strings,
 * a safe integer or null, for which JCS is JSON.stringify with the keys in code-point order, so the
 * envelope is written directly and only the payload goes through the general JCS implementation
 * (the minting hot path hashes two events per unit). A test pins it to `canonicalJson(hashedForm(e))`.
 */
export function hashedText(e: EventDraft): string {
  if (!Number.isSafeInteger(e.seq)) throw new TypeError('seq must be a safe integer');
  const str = JSON.stringify;
  return (
    `{"actorId":${e.actorId === null ? 'null' : str(e.actorId)},"occurredAt":"${isoOf(e.occurredAt)}",` +
    `"passportId":${str(e.passportId)},"payload":${e.payloadText ?? canonicalJson(e.payload)},"prevHash":${e.prevHash === null ? 'null' : str(e.prevHash)},` +
    `"recordedAt":"${isoOf(e.recordedAt)}","seq":${e.seq},"type":${str(e.type)}}`
  );
}

// Events hashed together mostly share one or two times: remember the last two ISO strings.
const isoMemo: [number, string][] = [
  [NaN, ''],
  [NaN, ''],
];
function isoOf(d: Date): string {
  const t = d.getTime();
  for (const m of isoMemo) if (m[0] === t) return m[1];
  const text = d.toISOString(); // throws RangeError for an invalid date, as before
  isoMemo.unshift([t, text]);
  isoMemo.pop();
  return text;
}

/** sha256(JCS(event without hash)), hex: links each event to the one before it. */
export function eventHash(e: EventDraft): string {
  return sha256Hex(hashedText(e));
}

const CHUNK = 10_000;

/** ISO strings of many dates, converting each distinct time once (a batch shares one or two). */
function isoList(dates: readonly Date[]): string[] {
  let last: Date | null = null;
  let text = '';
  return dates.map((d) => {
    if (last === null || d.getTime() !== last.getTime()) {
      last = d;
      text = d.toISOString();
    }
    return text;
  });
}

/**
 * Writes many events (each already hashed) in a few statements, inside the caller's transaction:
 * one multi-row insert per chunk from packed columns (unnest), no per-row round trip. Unless told not
 * to, the same statement writes one outbox row per chunk naming its events, so `passportEvents`
 * subscribers hear of them once the transaction commits. MINTED events are never announced, and
 * minting passes `announce: false` for its SIGNED events too: they commit with the unit itself, so no
 * one can have subscribed to it yet. Every chunk also queues its ids for the transparency log as one
 * `log_pending` row holding the very id and hash parameters the insert unpacks (no per-event work); the
 * sequencer gives them leaf indexes after commit.
 */
export async function insertEvents(
  em: EntityManager,
  events: readonly (EventDraft & { id: string; hash: string })[],
  options: { announce?: boolean } = {},
): Promise<void> {
  const announce = options.announce ?? true;
  let announced = false;
  const queue = `logged as (insert into log_pending (event_ids, event_hashes) values ($1, $10))`;
  const insert = `insert into lifecycle_event (id, passport_id, seq, type, occurred_at, recorded_at, actor_id, payload, prev_hash, hash)
    select * from unnest(${unpack(1, 'uuid')}, ${unpack(2, 'uuid')}, ${unpack(3, 'int')}, ${unpack(4, 'lifecycle_event_type')},
      ${unpack(5, 'timestamptz')}, ${unpack(6, 'timestamptz')}, ${unpack(7, 'uuid')}, ${unpack(8, 'jsonb')}, ${unpack(9, 'text')}, ${unpack(10, 'text')})`;
  for (let i = 0; i < events.length; i += CHUNK) {
    const chunk = events.slice(i, i + CHUNK);
    const columns = [
      packList(chunk.map((e) => e.id)),
      packList(chunk.map((e) => e.passportId)),
      packList(chunk.map((e) => e.seq)),
      packList(chunk.map((e) => e.type)),
      packList(isoList(chunk.map((e) => e.occurredAt))),
      packList(isoList(chunk.map((e) => e.recordedAt))),
      packList(chunk.map((e) => e.actorId)),
      packList(chunk.map((e) => e.payloadText ?? JSON.stringify(e.payload))),
      packList(chunk.map((e) => e.prevHash)),
      packList(chunk.map((e) => e.hash)),
    ];
    if (!announce || chunk.every((e) => e.type === 'MINTED')) {
      await rawQuery(em, `with ${queue} ${insert}`, columns);
      continue;
    }
    announced = true;
    await rawQuery(
      em,
      `with ${queue}, inserted as (${insert} returning id, passport_id, type)
       insert into outbox_message (id, topic, payload, created_at)
       select $11::uuid, $12, jsonb_build_object('events', jsonb_agg(jsonb_build_array(passport_id, id))), now() from inserted where type <> 'MINTED'
       having count(*) > 0`,
      [...columns, newId(), OUTBOX_TOPICS.passportEvent],
    );
  }
  if (announced) noteOutboxWrite(em, OUTBOX_TOPICS.passportEvent);
}
