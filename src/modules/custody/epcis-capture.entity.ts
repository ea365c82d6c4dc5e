import { randomUUID } from 'node:crypto';
import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { Organization } from '../organizations/organization.entity.js';

/** One accepted EPCIS capture: idempotent by (organisation, idempotency key). */
export const EpcisCapture = defineEntity({
  name: 'EpcisCapture',
  tableName: 'epcis_capture',
  uniques: [{ properties: ['organization', 'idempotencyKey'] }],
  properties: {
    id: p.uuid().primary().onCreate(() => randomUUID()),
    organization: () => p.manyToOne(Organization).ref(),
    idempotencyKey: p.string().length(200).nullable(),
    /** SHA-256 of the canonical document, so a retried key with another document is a CONFLICT. */
    requestHash: p.string().length(64),
    eventCount: p.integer(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});
export type IEpcisCapture = InferEntity<typeof EpcisCapture>;

/** Every EPCIS event id ever captured: a second capture of the same event is skipped, not duplicated. */
export const CapturedEpcisEvent = defineEntity({
  name: 'CapturedEpcisEvent',
  tableName: 'captured_epcis_event',
  properties: {
    eventId: p.string().length(500).primary(),
    capture: () => p.manyToOne(EpcisCapture).ref().index(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});
export type ICapturedEpcisEvent = InferEntity<typeof CapturedEpcisEvent>;
