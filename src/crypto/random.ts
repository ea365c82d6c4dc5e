import { randomFillSync } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';

const POOL_SIZE = 16 * 1024;
const pool = new Uint8Array(POOL_SIZE);
let offset = POOL_SIZE;

/**
 * `n` bytes from the operating system's CSPRNG, drawn from a buffer refilled 16 KiB at a time, so the
 * minting hot path makes one call per ~1,000 ids instead of one per id (node:crypto's randomUUID pools
 * the same way). Every byte is handed out once; the answer is a view, to be used before the next call
 * that could refill the buffer.
 */
export function randomView(n: number): Uint8Array {
  if (n > POOL_SIZE) return randomFillSync(new Uint8Array(n));
  if (offset + n > POOL_SIZE) {
    randomFillSync(pool);
    offset = 0;
  }
  const view = pool.subarray(offset, offset + n);
  offset += n;
  return view;
}

// The uuid library's own v7 state machine (RFC 9562 method 1: a 31-bit counter seeded at random each
// millisecond, incremented within it), kept here because the library draws its random bits with one
// Web Crypto call per id, which cost ~8 µs each when minting 100,000 units.
let lastMs = -Infinity;
let seq = 0;

/** A time-ordered UUIDv7: ids minted in one process sort in the order they were made. */
export function newId(): string {
  const random = randomView(16);
  const now = Date.now();
  if (now > lastMs) {
    lastMs = now;
    seq = ((random[6]! & 0x7f) << 24) | (random[7]! << 16) | (random[8]! << 8) | random[9]!;
  } else {
    seq = (seq + 1) | 0;
    if (seq === 0) lastMs++;
  }
  return uuidv7({ random, msecs: lastMs, seq });
}
