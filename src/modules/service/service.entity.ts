import { randomUUID } from 'node:crypto';
import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { Organization } from '../organizations/organization.entity.js';
import { Passport } from '../passports/passport.entity.js';

/** A brand's authorisation of a service partner to record repairs on its units. */
export const ServiceAuthorization = defineEntity({
  name: 'ServiceAuthorization',
  tableName: 'service_authorization',
  uniques: [{ properties: ['brand', 'partner'] }],
  properties: {
    id: p.uuid().primary().onCreate(() => randomUUID()),
    brand: () => p.manyToOne(Organization).ref(),
    partner: () => p.manyToOne(Organization).ref().index(),
    createdAt: p.datetime().onCreate(() => new Date()),
    revokedAt: p.datetime().nullable(),
  },
});
export type IServiceAuthorization = InferEntity<typeof ServiceAuthorization>;

/** One repair or service of a unit by a service partner; parts may be serialised units themselves. */
export const ServiceRecord = defineEntity({
  name: 'ServiceRecord',
  tableName: 'service_record',
  properties: {
    id: p.uuid().primary().onCreate(() => randomUUID()),
    passport: () => p.manyToOne(Passport).ref().index(),
    partner: () => p.manyToOne(Organization).ref(),
    workDone: p.text(),
    /** [{ passportId?, gtin?, description, quantity }]: serialised parts by their own passport ids. */
    parts: p.json<Record<string, unknown>[]>(),
    performedAt: p.datetime(),
    /** Sequence number of the SERVICED history event that records it. */
    eventSeq: p.integer(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});
export type IServiceRecord = InferEntity<typeof ServiceRecord>;
