/** Why a GS1 identifier was rejected; stable codes callers can map to BAD_USER_INPUT. */
export type Gs1ErrorReason = 'CHECK_DIGIT' | 'LENGTH' | 'CHARSET' | 'FORMAT';

/** Thrown for any malformed GS1 identifier; `reason` says which rule failed. */
export class Gs1Error extends Error {
  override readonly name = 'Gs1Error';
  readonly reason: Gs1ErrorReason;

  constructor(reason: Gs1ErrorReason, message: string) {
    super(message);
    this.reason = reason;
  }
}

const DIGITS = /^[0-9]+$/;
const GTIN_LENGTHS = new Set([8, 12, 13, 14]);

/**
 * GS1 mod-10 check digit for the digits that precede it (e.g. the first 13 of a GTIN-14).
 * Weights alternate 3,1,3,... from the rightmost digit, so leading zero padding never changes it.
 */
export function gtinCheckDigit(digits: string): number {
  if (typeof digits !== 'string' || !DIGITS.test(digits)) {
    throw new Gs1Error('CHARSET', 'check digit input must contain digits only');
  }
  if (digits.length > 17) {
    throw new Gs1Error('LENGTH', 'check digit input must be at most 17 digits');
  }
  let sum = 0;
  for (let i = digits.length - 1, weight = 3; i >= 0; i--, weight = 4 - weight) {
    sum += (digits.charCodeAt(i) - 48) * weight;
  }
  return (10 - (sum % 10)) % 10;
}

/** Parses a GTIN-8/12/13/14, verifies its check digit and returns it as a zero-padded GTIN-14. */
export function parseGtin(s: string): string {
  if (typeof s !== 'string') throw new Gs1Error('FORMAT', 'GTIN must be a string');
  const gtin = s.trim();
  if (gtin.length === 0) throw new Gs1Error('LENGTH', 'GTIN is empty');
  if (!DIGITS.test(gtin)) throw new Gs1Error('CHARSET', 'GTIN must contain digits only');
  if (!GTIN_LENGTHS.has(gtin.length)) {
    throw new Gs1Error('LENGTH', 'GTIN must have 8, 12, 13 or 14 digits');
  }
  const expected = gtinCheckDigit(gtin.slice(0, -1));
  if (expected !== gtin.charCodeAt(gtin.length - 1) - 48) {
    throw new Gs1Error('CHECK_DIGIT', 'GTIN check digit is wrong');
  }
  return gtin.padStart(14, '0');
}

/** True when `s` is a well-formed GTIN-8/12/13/14 with a correct check digit. */
export function isValidGtin(s: string): boolean {
  try {
    parseGtin(s);
    return true;
  } catch (err) {
    if (err instanceof Gs1Error) return false;
    throw err;
  }
}

/** Checks a GS1 company prefix is 6 to 12 digits and returns it unchanged. */
export function validateCompanyPrefix(p: string): string {
  if (typeof p !== 'string' || !DIGITS.test(p)) {
    throw new Gs1Error('CHARSET', 'company prefix must contain digits only');
  }
  if (p.length < 6 || p.length > 12) {
    throw new Gs1Error('LENGTH', 'company prefix must have 6 to 12 digits');
  }
  return p;
}

/**
 * True when the company prefix owns the GTIN, i.e. it follows the indicator digit of the GTIN-14.
 * Throws Gs1Error if either argument is malformed, so a bad prefix never reads as "not owned".
 */
export function gtinHasCompanyPrefix(gtin14: string, prefix: string): boolean {
  const gtin = parseGtin(gtin14);
  const gcp = validateCompanyPrefix(prefix);
  return gtin.slice(1, 1 + gcp.length) === gcp;
}
