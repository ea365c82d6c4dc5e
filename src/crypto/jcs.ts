import canonicalize from 'canonicalize';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';

/**
 * RFC 8785 (JCS) canonical JSON text of `value`.
 * @throws If the value has no JSON representation (undefined, a function, a symbol),
 *   or contains NaN, an infinity, a lone surrogate or a cycle.
 */
export function canonicalJson(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) {
    throw new TypeError(`value of type ${typeof value} has no JSON representation`);
  }
  return text;
}

/** UTF-8 bytes of the RFC 8785 canonical form of `value` (see {@link canonicalJson}). */
export function canonicalBytes(value: unknown): Uint8Array {
  return utf8ToBytes(canonicalJson(value));
}

/** SHA-256 digest of `bytes`. */
export function sha256(bytes: Uint8Array): Uint8Array {
  return nobleSha256(bytes);
}

/** Lowercase hex SHA-256 of `input`; a string is hashed as its UTF-8 bytes. */
export function sha256Hex(input: Uint8Array | string): string {
  return bytesToHex(nobleSha256(typeof input === 'string' ? utf8ToBytes(input) : input));
}
