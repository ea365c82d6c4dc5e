import type { EntityManager } from '@mikro-orm/postgresql';
import { v7 as uuidv7 } from 'uuid';
import { canonicalJson, sha256Hex } from '../../crypto/jcs.js';
import { noteOutboxWrite, OUTBOX_TOPICS } from '../../db/outbox.js';
import { rawQuery } from '../../db/raw.js';
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

/** sha256(JCS(event without hash)), hex: links each event to the one before it. */
export function eventHash(e: EventDraft): string {
  return sha256Hex(canonicalJson(hashedForm(e)));
}

const CHUNK = 10_000;

/**
 * Writes many events (each already hashed) in a few statements, inside the caller's transaction:
 * one multi-row insert per chunk from parallel arrays (unnest), no per-row round trip. The same
 * statement writes one outbox row per chunk naming its events, so `passportEvents` subscribers hear of
 * them once the transaction commits. MINTED events are left out: a unit's MINTED event commits with
 * the unit itself, so no one can have subscribed to it yet.
 */
export async function insertEvents(em: EntityManager, events: readonly (EventDraft & { id: string; hash: string })[]): Promise<void> {
  let announced = false;
  for (let i = 0; i < events.length; i += CHUNK) {
    const chunk = events.slice(i, i + CHUNK);
    announced ||= chunk.some((e) => e.type !== 'MINTED');
    await rawQuery(
      em,
      `with inserted as (
         insert into lifecycle_event (id, passport_id, seq, type, occurred_at, recorded_at, actor_id, payload, prev_hash, hash)
         select * from unnest($1::uuid[], $2::uuid[], $3::int[], $4::lifecycle_event_type[], $5::timestamptz[], $6::timestamptz[],
           $7::uuid[], $8::jsonb[], $9::text[], $10::text[])
         returning id, passport_id, type
       )
       insert into outbox_message (id, topic, payload, created_at)
       select $11::uuid, $12, jsonb_build_object('events', jsonb_agg(jsonb_build_array(passport_id, id))), now() from inserted where type <> 'MINTED'
       having count(*) > 0`,
      [
        chunk.map((e) => e.id),
        chunk.map((e) => e.passportId),
        chunk.map((e) => e.seq),
        chunk.map((e) => e.type),
        chunk.map((e) => e.occurredAt.toISOString()),
        chunk.map((e) => e.recordedAt.toISOString()),
        chunk.map((e) => e.actorId),
        chunk.map((e) => JSON.stringify(e.payload)),
        chunk.map((e) => e.prevHash),
        chunk.map((e) => e.hash),
        uuidv7(),
        OUTBOX_TOPICS.passportEvent,
      ],
    );
  }
  if (announced) noteOutboxWrite(em, OUTBOX_TOPICS.passportEvent);
}
