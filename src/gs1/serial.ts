import { base32crockford } from '@scure/base';
import { randomView } from '../crypto/random.js';
import { Gs1Error } from './gtin.js';

/** Longest serial GS1 allows in AI (21). */
export const SERIAL_MAX_LENGTH = 20;

const CSET82 = /^[!"%&'()*+,\-./0-9:;<=>?A-Z_a-z]*$/;
const URL_SAFE = /^[A-Za-z0-9\-._]+$/;

/**
 * Mints an unguessable serial: 80 random bits as 16 Crockford base32 symbols.
 * Never sequential or time-based, so serials leak nothing about production volume or order.
 */
export function generateSerial(): string {
  return base32crockford.encode(randomView(10));
}

/** True when every character of `s` is in GS1 AI encodable character set 82 (any length). */
export function isCset82(s: string): boolean {
  return typeof s === 'string' && CSET82.test(s);
}

/** True when `s` is a valid GS1 AI (21) serial: 1 to 20 characters of CSET 82. */
export function isValidSerial(s: string): boolean {
  return typeof s === 'string' && s.length >= 1 && s.length <= SERIAL_MAX_LENGTH && CSET82.test(s);
}

/** True when `s` is a valid serial made only of URI unreserved characters, so it never needs percent-encoding. */
export function isUrlSafeSerial(s: string): boolean {
  return isValidSerial(s) && URL_SAFE.test(s);
}

/** Returns `s` when it is a valid AI (21) serial, otherwise throws Gs1Error (LENGTH or CHARSET). */
export function assertValidSerial(s: string): string {
  return assertCset82Value(s, 'serial');
}

/** Validates a 1..20 character CSET 82 AI value (serial, lot, CPV) and returns it; throws Gs1Error. */
export function assertCset82Value(s: string, label: string): string {
  if (typeof s !== 'string') throw new Gs1Error('FORMAT', `${label} must be a string`);
  if (s.length === 0) throw new Gs1Error('LENGTH', `${label} is empty`);
  if (s.length > SERIAL_MAX_LENGTH) {
    throw new Gs1Error('LENGTH', `${label} must be at most ${SERIAL_MAX_LENGTH} characters`);
  }
  if (!CSET82.test(s)) throw new Gs1Error('CHARSET', `${label} has characters outside GS1 CSET 82`);
  return s;
}
