// Worker thread body for SignPool (a piscina task): Ed25519-signs a slice of messages. Plain, erasable
// TypeScript only, so Node runs it as is from src/ (tests) and from dist/ (compiled).
import { sign, type KeyObject } from 'node:crypto';

export type SignJob = { key: KeyObject; data: Uint8Array; offsets: Uint32Array };

/** The slice's signatures, 64 bytes each, back to back in message order. */
export default function signSlice(job: SignJob): Uint8Array {
  const count = job.offsets.length - 1;
  const out = new Uint8Array(count * 64);
  for (let i = 0; i < count; i++) {
    out.set(sign(null, job.data.subarray(job.offsets[i], job.offsets[i + 1]), job.key), i * 64);
  }
  return out;
}
