// Worker thread body for the PKCS#11 store's signing pool (a piscina task): signs a slice of messages with
// CKM_EDDSA inside the token, on this thread's own session. Plain, erasable TypeScript with no local imports,
// so Node runs it as is from src/ (tests) and from dist/ (compiled).
//
// The main thread owns the library: it initialises it, logs in (PKCS#11 logins belong to the process, so
// every session opened afterwards is logged in too) and finalises it. A worker only opens its session.
import { createRequire } from 'node:module';
import type { Pkcs11Api } from './pkcs11-token.js';

export type Pkcs11SignJob = {
  module: string;
  slot: Uint8Array;
  /** Bumped by each reconnect: a worker whose session predates it opens a new one. */
  generation: number;
  /** The private key's object handle (valid in every session of this process). */
  key: Uint8Array;
  data: Uint8Array;
  offsets: Uint32Array;
};

const CKF_SERIAL_SESSION = 0x4;
const EDDSA = { mechanism: 0x1057 };

let api: Pkcs11Api | undefined;
let session: Buffer | undefined;
let generation = -1;

/** The slice's signatures, 64 bytes each, back to back in message order. Token errors come back as `pkcs11: CKR_…`. */
export default function signSlice(job: Pkcs11SignJob): Uint8Array {
  try {
    if (!api) {
      const { PKCS11 } = createRequire(import.meta.url)('pkcs11js') as { PKCS11: new () => Pkcs11Api };
      const loaded = new PKCS11();
      loaded.load(job.module);
      api = loaded;
    }
    if (!session || generation !== job.generation) {
      // An older session died with the connection it belonged to; it is dropped, never closed (its handle
      // may by now name another thread's session).
      session = api.C_OpenSession(Buffer.from(job.slot), CKF_SERIAL_SESSION);
      generation = job.generation;
    }
    const key = Buffer.from(job.key);
    const count = job.offsets.length - 1;
    const out = new Uint8Array(count * 64);
    const signature = Buffer.alloc(64);
    const data = Buffer.from(job.data.buffer, job.data.byteOffset, job.data.byteLength);
    for (let i = 0; i < count; i++) {
      api.C_SignInit(session, EDDSA, key);
      const sig = api.C_Sign(session, data.subarray(job.offsets[i], job.offsets[i + 1]), signature);
      if (sig.length !== 64) throw new Error(`CKM_EDDSA returned ${sig.length} bytes, not 64`);
      out.set(sig, i * 64);
    }
    return out;
  } catch (e) {
    session = undefined;
    throw new Error(`pkcs11: ${(e as Error).message.split('\n')[0]}`);
  }
}
