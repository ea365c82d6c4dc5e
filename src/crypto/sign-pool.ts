import type { KeyObject } from 'node:crypto';
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { SignJob } from './sign-worker.js';

/** A worker died (exited or threw) while it held part of the batch; none of the batch's signatures are returned. */
export class SignWorkerError extends Error {
  constructor(cause: unknown) {
    super(`a signing worker stopped mid-batch: ${(cause as Error)?.message ?? String(cause)}`, { cause });
    this.name = 'SignWorkerError';
  }
}

/** Messages as one transferable buffer and their boundaries: what a signing worker receives (sign-worker, pkcs11-sign-worker). */
export function packMessages(messages: readonly Uint8Array[]): { data: Uint8Array<ArrayBuffer>; offsets: Uint32Array<ArrayBuffer> } {
  const offsets = new Uint32Array(messages.length + 1);
  for (let i = 0; i < messages.length; i++) offsets[i + 1] = offsets[i]! + messages[i]!.length;
  const data = new Uint8Array(offsets[messages.length]!);
  messages.forEach((m, i) => data.set(m, offsets[i]!));
  return { data, offsets };
}

/** The workers' answers (64-byte signatures back to back, slice by slice) as one signature per message, in order. */
export function splitSignatures(parts: readonly Uint8Array[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const part of parts) for (let i = 0; i < part.length; i += 64) out.push(part.subarray(i, i + 64));
  return out;
}

/**
 * Ed25519 signing spread over worker threads (piscina), so a 100,000-unit batch uses every core while
 * the main thread talks to the database. Workers start on first use and never keep the process alive.
 * A worker that exits or throws fails every batch it held a slice of at once, and piscina starts a
 * replacement.
 */
export class SignPool {
  private pool: Piscina<SignJob, Uint8Array> | null = null;

  constructor(private readonly size = Math.max(1, Math.min(4, availableParallelism()))) {}

  /** The worker threads running now (none before first use); for tests that make one die. */
  get threads(): readonly Worker[] {
    return this.pool?.threads ?? [];
  }

  private start(): Piscina<SignJob, Uint8Array> {
    // From src/ under the test runner the module is .ts (Node strips the types); compiled it is .js.
    const filename = new URL(`./sign-worker.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`, import.meta.url).href;
    // Up to 4 slices wait at each worker: the next batch's slices start the moment the current ones end,
    // not when the main thread (busy hashing the batch before) next turns its event loop to dispatch them.
    if (!this.pool) {
      this.pool = new Piscina({ filename, minThreads: this.size, maxThreads: this.size, idleTimeout: Infinity, concurrentTasksPerWorker: 4 });
      // A worker that fails while idle is already replaced; piscina reports it as an 'error' event, which
      // with no listener would crash the process.
      this.pool.on('error', () => undefined);
    }
    return this.pool;
  }

  /** Signs every message with `key`, in order; the work is split evenly over the workers. */
  async sign(key: KeyObject, messages: readonly Uint8Array[]): Promise<Uint8Array[]> {
    const pool = this.start();
    const per = Math.ceil(messages.length / this.size);
    const tasks: Promise<Uint8Array>[] = [];
    for (let start = 0; start < messages.length; start += per) {
      const { data, offsets } = packMessages(messages.slice(start, start + per));
      tasks.push(pool.run({ key, data, offsets }, { transferList: [data.buffer, offsets.buffer] }));
    }
    // Fails as soon as one slice is lost; the other slices finish on their live workers and are dropped.
    const parts = await Promise.all(tasks).catch((e: unknown) => {
      throw new SignWorkerError(e);
    });
    return splitSignatures(parts);
  }

  /** Terminates every worker; a later sign() starts a fresh pool. */
  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = null;
    await pool?.destroy();
  }
}
