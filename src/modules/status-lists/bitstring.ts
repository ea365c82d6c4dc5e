import { randomInt } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { base64urlnopad } from '@scure/base';

/** W3C Bitstring Status List v1.0 §3.1: at least 16 KB (131,072 entries), for herd privacy. */
export const STATUS_LIST_SIZE = 131_072;

/** Index 0 is the left-most bit of the bitstring: the most significant bit of the first byte (§3.1). */
export function getBit(bits: Uint8Array, index: number): boolean {
  return (bits[index >> 3]! & (0x80 >> (index & 7))) !== 0;
}

export function setBit(bits: Uint8Array, index: number): void {
  bits[index >> 3]! |= 0x80 >> (index & 7);
}

/** `encodedList`: the bitstring GZIP-compressed, then multibase base64url without padding (prefix `u`). */
export function encodeList(bits: Uint8Array): string {
  return `u${base64urlnopad.encode(gzipSync(bits))}`;
}

/** Inverse of {@link encodeList}; throws on anything that is not a multibase base64url GZIP stream. */
export function decodeList(encoded: string, maxBytes = 1 << 24): Uint8Array {
  if (!encoded.startsWith('u')) throw new Error('encodedList is not multibase base64url (must start with "u")');
  return new Uint8Array(gunzipSync(base64urlnopad.decode(encoded.slice(1)), { maxOutputLength: maxBytes }));
}

/**
 * `count` distinct positions drawn uniformly at random from those not yet set in `allocated` (marked
 * as they are drawn), so a list's entries reveal neither mint order nor how full the list is.
 */
export function drawFreePositions(allocated: Uint8Array, size: number, count: number): number[] {
  const free: number[] = [];
  for (let i = 0; i < size; i++) if (!getBit(allocated, i)) free.push(i);
  const take = Math.min(count, free.length);
  for (let i = 0; i < take; i++) {
    const j = i + randomInt(free.length - i); // partial Fisher-Yates
    const t = free[i]!;
    free[i] = free[j]!;
    free[j] = t;
    setBit(allocated, free[i]!);
  }
  return free.slice(0, take);
}
