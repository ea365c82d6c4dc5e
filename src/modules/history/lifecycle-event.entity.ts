import { randomUUID } from 'node:crypto';
import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { Organization } from '../organizations/organization.entity.js';
import { Passport } from '../passports/passport.entity.js';

export const LIFECYCLE_EVENT_TYPES = [
  'MINTED',
  'SIGNED',
  'CUSTODY',
  'SOLD',
  'OWNERSHIP_CLAIMED',
  'OWNERSHIP_TRANSFERRED',
  'WARRANTY_CLAIMED',
  'SERVICED',
  'TAMPER_REPORTED',
  'END_OF_LIFE',
  'RECYCLED',
  'REVOKED',
] as const;
export type LifecycleEventType = (typeof LIFECYCLE_EVENT_TYPES)[number];

/** Append-only, hash-chained history of one passport: nothing updates or deletes a row. */
export const LifecycleEvent = defineEntity({
  name: 'LifecycleEvent',
  tableName: 'lifecycle_event',
  uniques: [{ properties: ['passport', 'seq'] }],
  indexes: [
    // Every unit a custody event named, by its EPCIS eventID: export writes an event once, with all its units.
    {
      name: 'lifecycle_event_custody_event_id',
      expression: `create index "lifecycle_event_custody_event_id" on "lifecycle_event" ((payload->>'eventID')) where type = 'CUSTODY'`,
    },
  ],
  triggers: [
    {
      name: 'lifecycle_event_append_only',
      timing: 'before',
      events: ['update', 'delete'],
      forEach: 'row',
      body: "raise exception 'lifecycle_event is append-only';",
    },
  ],
  properties: {
    id: p.uuid().primary().onCreate(() => randomUUID()),
    // No foreign key constraint: its per-row check (an index probe and a row lock on the passport, with
    // WAL) was a sixth of all the work of minting 100,000 units, for a guarantee the schema gives another
    // way: events are written only by insertEvents, in the transaction that created or locked their
    // passport, never updated or deleted (trigger above), and passports are never deleted (their trigger).
    passport: () => p.manyToOne(Passport).ref().createForeignKeyConstraint(false),
    seq: p.integer(),
    type: p.enum(LIFECYCLE_EVENT_TYPES).nativeEnumName('lifecycle_event_type'),
    occurredAt: p.datetime(),
    recordedAt: p.datetime(),
    // The acting organisation as it was: part of every event hash, so never rewritten or nulled. No
    // foreign key constraint (organisations are never deleted, and the check per event cost more than
    // the event's own index when minting); the hash chain is what makes the value trustworthy.
    actor: () => p.manyToOne(Organization).ref().nullable().createForeignKeyConstraint(false),
    payload: p.json<Record<string, unknown>>(),
    prevHash: p.string().length(64).nullable(),
    /** sha256(JCS(event without hash)), hex. */
    hash: p.string().length(64),
  },
});
export type ILifecycleEvent = InferEntity<typeof LifecycleEvent>;
