// Worker thread body for SignPool: Ed25519-signs slices of messages. Plain, erasable TypeScript
// only, so Node runs it as is from src/ (tests) and from dist/ (compiled).
import { sign, type KeyObject } from 'node:crypto';
import { parentPort } from 'node:worker_threads';

type Job = { id: number; key: KeyObject; data: Uint8Array; offsets: Uint32Array };

parentPort!.on('message', (job: Job) => {
  const count = job.offsets.length - 1;
  const out = new Uint8Array(count * 64);
  for (let i = 0; i < count; i++) {
    out.set(sign(null, job.data.subarray(job.offsets[i], job.offsets[i + 1]), job.key), i * 64);
  }
  parentPort!.postMessage({ id: job.id, signatures: out }, [out.buffer]);
});
