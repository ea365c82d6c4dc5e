import canonicalize from 'canonicalize';
import { createHash, hash } from 'node:crypto';

/**
 * RFC 8785 (JCS) canonical JSON text of `value`.
 * @throws If the value has no JSON representation (undefined, a function, a symbol),
 *   or contains NaN, an infinity, a lone surrogate or a cycle.
 */
export function canonicalJson(value: unknown): string {
  const flat = flatCanonicalJson(value);
  if (flat !== undefined) return flat;
  const text = canonicalize(value);
  if (text === undefined) {
    throw new TypeError(`value of type ${typeof value} has no JSON representation`);
  }
  return text;
}

/**
 * The common case on hot paths (event payloads): a plain object whose members are well-formed strings,
 * safe integers, booleans or null. For those RFC 8785 is JSON.stringify of each member with the keys
 * sorted by UTF-16 code units (what Array.prototype.sort does), so no general pass is needed. Anything
 * else answers undefined and goes through the library; tests pin both to the same text.
 */
function flatCanonicalJson(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object' || Object.getPrototypeOf(value) !== Object.prototype) return undefined;
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record).sort();
  let out = '{';
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    const v = record[key];
    let text: string;
    if (typeof v === 'string') {
      if (!v.isWellFormed()) return undefined;
      text = JSON.stringify(v);
    } else if (v === null) text = 'null';
    else if (typeof v === 'boolean') text = v ? 'true' : 'false';
    else if (typeof v === 'number' && Number.isSafeInteger(v)) text = String(v);
    else return undefined;
    if (!key.isWellFormed()) return undefined;
    out += `${i === 0 ? '' : ','}${JSON.stringify(key)}:${text}`;
  }
  return `${out}}`;
}

/**
 * RFC 8785 text of `base` with one string member, `key`, left open: many payloads that differ only in that
 * member (a batch's MINTED events differ only in the serial) are written by joining three strings instead
 * of sorting and escaping every member each time. Answers the same text as `canonicalJson`; a value that is
 * not a well-formed string goes through `canonicalJson` too (which throws for a lone surrogate).
 */
export function canonicalTemplate(base: Record<string, unknown>, key: string): (value: string) => string {
  const marker = `\u0000dpp-template-${Math.random()}`;
  const parts = canonicalJson({ ...base, [key]: marker }).split(JSON.stringify(marker));
  if (parts.length !== 2) return (value) => canonicalJson({ ...base, [key]: value });
  const [before, after] = parts as [string, string];
  return (value) => (typeof value === 'string' && value.isWellFormed() ? before + JSON.stringify(value) + after : canonicalJson({ ...base, [key]: value }));
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
  // node:crypto's one-shot hash: no Hash object per call, on the minting hot path (two hashes per unit).
  return hash('sha256', input, 'hex');
}
