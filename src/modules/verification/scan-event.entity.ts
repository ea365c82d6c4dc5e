import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { newId } from '../../crypto/random.js';
import { Passport } from '../passports/passport.entity.js';

import { type Verdict, VERDICTS } from './vocabulary.js';

export { VERDICTS };
export type VerdictValue = Verdict;

/**
 * One observation of an identity: high volume, append-only, time-ordered ids (UUIDv7). Scans are numbered
 * 1, 2, 3… in the order they were recorded (`seq`): a known unit's scans per unit, scans of identities never
 * minted per GTIN and client (what probe detection counts). A scan is written with the number after the
 * last one it saw, so two scans that saw the same history cannot both be recorded (a unique index refuses
 * the second), and a unit's lifetime count is its highest number.
 */
export const ScanEvent = defineEntity({
  name: 'ScanEvent',
  tableName: 'scan_event',
  indexes: [
    { properties: ['passport', 'scannedAt'] },
    { properties: ['gtin', 'scannedAt'] },
    // A client's probes of a GTIN in the last hour, without touching older ones; kept for unknown serials only.
    { name: 'scan_event_probe_time', properties: ['gtin', 'clientKey', 'scannedAt'], where: 'passport_id is null' },
  ],
  uniques: [
    { name: 'scan_event_passport_seq', properties: ['passport', 'seq'] },
    { name: 'scan_event_probe_seq', properties: ['gtin', 'clientKey', 'seq'], where: 'passport_id is null' },
  ],
  properties: {
    id: p.uuid().primary().onCreate(() => newId()),
    /**
     * Null when the identity was never minted (an unknown serial). No foreign-key constraint: its check
     * would lock the unit's row on every scan; scans name a unit they have just read, and units are never
     * deleted (a trigger refuses it).
     */
    passport: () => p.manyToOne(Passport).ref().nullable().createForeignKeyConstraint(false),
    /** The scan's number among its unit's scans, or for an unknown serial among the client's unknown serials of the GTIN (1 for the first). */
    seq: p.integer(),
    gtin: p.string().length(14),
    serial: p.string().length(20),
    scannedAt: p.datetime(),
    /** Coarsened to the model's precision (README "Privacy"); null for MINIMAL models. */
    latitude: p.double().nullable(),
    longitude: p.double().nullable(),
    country: p.string().length(2).nullable(),
    /** Keyed hash of the device id under the month's key, never the id itself; null for MINIMAL models. */
    deviceHash: p.string().length(64).nullable(),
    /** Keyed hash of the client (API key or IP) under the month's key, for probe detection; null for MINIMAL models. */
    clientKey: p.string().length(64).nullable(),
    channel: p.string().length(16),
    signatureCheck: p.string().length(16),
    verdict: p.enum(VERDICTS).nativeEnumName('verdict'),
    reasons: p.array().default([]),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});
export type IScanEvent = InferEntity<typeof ScanEvent>;
