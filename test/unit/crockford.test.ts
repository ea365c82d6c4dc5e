import { randomBytes, randomInt } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateSerial } from '../../src/gs1/index.js';
import { formatCode80, normaliseCode } from '../../src/modules/passports/identity.js';

// Issue 20: the hand-written Crockford base32 gave way to @scure/base's base32crockford. The old code,
// verbatim, is the reference here: serials, claim and transfer codes, and the normalised form their
// stored hashes are taken of must not change.
const OLD_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
function oldSerialOf(bytes: Uint8Array): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += OLD_ALPHABET[(buffer >>> bits) & 31];
    }
    buffer &= (1 << bits) - 1;
  }
  return out;
}
function oldFormatCode80(bytes: Uint8Array): string {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let out = '';
  for (const half of [b.readUIntBE(0, 5), b.readUIntBE(5, 5)]) {
    for (let i = 7; i >= 0; i--) out += OLD_ALPHABET[Math.floor(half / 2 ** (5 * i)) % 32];
  }
  return `${out.slice(0, 4)}-${out.slice(4, 8)}-${out.slice(8, 12)}-${out.slice(12)}`;
}
const oldNormaliseCode = (code: string) => code.toUpperCase().replace(/[\s-]/g, '').replace(/[IL]/g, '1').replace(/O/g, '0');

/** A code as a person might type it: any case, I/L for 1, O for 0, stray spaces and dashes. */
function typed(code: string): string {
  return [...code]
    .map((c) => {
      if (c === '1' && randomInt(3) === 0) return 'IiLl'[randomInt(4)];
      if (c === '0' && randomInt(3) === 0) return 'Oo'[randomInt(2)];
      const cased = randomInt(2) ? c.toLowerCase() : c;
      return randomInt(8) === 0 ? `${cased}${[' ', '-', '  '][randomInt(3)]}` : cased;
    })
    .join('');
}

const CANONICAL = /^[0-9A-HJKMNP-TV-Z]{16}$/;

describe('Crockford base32 (@scure/base) against the code it replaced', () => {
  it('encodes 80 random bits as serials and codes exactly as before', () => {
    for (let i = 0; i < 20_000; i++) {
      const bytes = randomBytes(10 + randomInt(23)); // codes take the first 10 bytes of a 32-byte HMAC
      expect(formatCode80(bytes)).toBe(oldFormatCode80(bytes));
      expect(oldSerialOf(bytes.subarray(0, 10))).toBe(oldFormatCode80(bytes).replace(/-/g, ''));
    }
    for (let i = 0; i < 1_000; i++) expect(generateSerial()).toMatch(CANONICAL);
  });

  it('normalises typed codes exactly as before, so stored hashes still match', () => {
    for (let i = 0; i < 20_000; i++) {
      const code = typed(formatCode80(randomBytes(10)));
      expect(normaliseCode(code)).toBe(oldNormaliseCode(code));
      expect(normaliseCode(code)).toMatch(CANONICAL);
    }
  });

  it('never turns input that is no code into a code', () => {
    const junk = ['', 'U'.repeat(16), 'ABCD-EFGH-JKMN-PQR', 'ABCD-EFGH-JKMN-PQRST', 'ABCD EFGH JKMN PQR!', 'ſ'.repeat(16), 'é'.repeat(16)];
    for (let i = 0; i < 5_000; i++) junk.push(Array.from({ length: randomInt(1, 24) }, () => String.fromCharCode(randomInt(32, 0x250))).join(''));
    for (const s of junk) {
      const n = normaliseCode(s);
      // Either both readings make it the same real code, or the new one keeps it out of the code space.
      if (CANONICAL.test(n)) expect(n).toBe(oldNormaliseCode(s));
    }
  });
});
