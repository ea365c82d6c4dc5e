/**
 * What a scan row keeps about the person who scanned (README "Privacy"): the rules see the scan's exact
 * facts in memory; the row keeps coarsened coordinates and hashes under a key of the month, or, for a model
 * recorded `MINIMAL`, nothing about who or where. Pure arithmetic and in-memory keys: no query per scan.
 *
 * @module
 */
import { createHmac, type KeyObject } from 'node:crypto';
import { derivedSecretKey } from '../../crypto/master-key.js';
import type { AlertKind } from './vocabulary.js';

/** Mirrors the GraphQL enum ScanRecording. */
export const SCAN_RECORDINGS = ['STANDARD', 'MINIMAL'] as const;
export type ScanRecordingValue = (typeof SCAN_RECORDINGS)[number];

/**
 * Decimal places of latitude and longitude a stored scan keeps by default: 1, a grid of 0.1° (at most about
 * 11 km north–south, less east–west away from the equator): it still tells cities apart, and IMPOSSIBLE_TRAVEL
 * (which ignores pairs closer than 100 km) loses nothing. A model may keep up to {@link MAX_LOCATION_DECIMALS}.
 */
export const DEFAULT_LOCATION_DECIMALS = 1;
export const MAX_LOCATION_DECIMALS = 4;

/** A coordinate rounded to `decimals` places, as stored. */
export function coarsen(value: number | null, decimals: number): number | null {
  if (value === null) return null;
  const f = 10 ** decimals;
  // `+ 0` turns a rounded -0 into 0.
  return Math.round(value * f) / f + 0;
}

/**
 * The rules a `MINIMAL` scan cannot apply, because they need where scans were made (IMPOSSIBLE_TRAVEL,
 * GREY_MARKET); UNKNOWN_SERIAL still fires, but never turns CRITICAL (probing needs the client).
 */
export const MINIMAL_NOT_APPLIED: readonly AlertKind[] = Object.freeze(['IMPOSSIBLE_TRAVEL', 'GREY_MARKET']);

/** The hash period of a time: its UTC calendar month, `YYYY-MM`. Keys rotate monthly. */
export function hashPeriod(at: Date): string {
  return at.toISOString().slice(0, 7);
}

/**
 * The HMAC key of client and device hashes for the month of `at`, derived from the master key in memory
 * (cached per master key and month by `derivedSecretKey`): a month's hashes cannot be joined with another
 * month's, and no key is ever stored. Probe detection (an hour) and velocity (a day) fit well inside a month;
 * at a month's turn a client's probe count starts again.
 */
export function scanHashKey(masterKey: Uint8Array, at: Date): KeyObject {
  return derivedSecretKey(masterKey, `scan-client:${hashPeriod(at)}`);
}

/** A keyed hash (hex HMAC-SHA-256) of a client or device under the key of the month of `at`. */
export function scanHash(masterKey: Uint8Array, at: Date, value: string): string {
  return createHmac('sha256', scanHashKey(masterKey, at)).update(value).digest('hex');
}
