import canonicalize from 'canonicalize';
import { createHash } from 'node:crypto';

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
  return new TextEncoder().encode(canonicalJson(value));
}

/** SHA-256 digest of `bytes`. */
export function sha256(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(bytes).digest());
}

/** Lowercase hex SHA-256 of `input`; a string is hashed as its UTF-8 bytes. */
export function sha256Hex(input: Uint8Array | string): string {
  // node:crypto: several times faster than a JS SHA-256 on the minting hot path (one hash per event).
  return createHash('sha256').update(input).digest('hex');
}
