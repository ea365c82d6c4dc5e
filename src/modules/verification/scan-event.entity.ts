import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { newId } from '../../crypto/random.js';
import { Passport } from '../passports/passport.entity.js';

import { type Verdict, VERDICTS } from './vocabulary.js';

export { VERDICTS };
export type VerdictValue = Verdict;

/** One observation of an identity: high volume, append-only, time-ordered ids (UUIDv7). */
export const ScanEvent = defineEntity({
  name: 'ScanEvent',
  tableName: 'scan_event',
  indexes: [{ properties: ['passport', 'scannedAt'] }, { properties: ['clientKey', 'scannedAt'] }, { properties: ['gtin', 'scannedAt'] }],
  properties: {
    id: p.uuid().primary().onCreate(() => newId()),
    /** Null when the identity was never minted (an unknown serial). */
    passport: () => p.manyToOne(Passport).ref().nullable(),
    gtin: p.string().length(14),
    serial: p.string().length(20),
    scannedAt: p.datetime(),
    latitude: p.double().nullable(),
    longitude: p.double().nullable(),
    country: p.string().length(2).nullable(),
    /** Keyed hash of the device id, never the id itself. */
    deviceHash: p.string().length(64).nullable(),
    /** Keyed hash of the client (API key or IP) for probe detection. */
    clientKey: p.string().length(64),
    channel: p.string().length(16),
    signatureCheck: p.string().length(16),
    verdict: p.enum(VERDICTS).nativeEnumName('verdict'),
    reasons: p.array().default([]),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});
export type IScanEvent = InferEntity<typeof ScanEvent>;
