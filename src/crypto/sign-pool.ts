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
      const slice = messages.slice(start, start + per);
      const offsets = new Uint32Array(slice.length + 1);
      for (let i = 0; i < slice.length; i++) offsets[i + 1] = offsets[i]! + slice[i]!.length;
      const data = new Uint8Array(offsets[slice.length]!);
      slice.forEach((m, i) => data.set(m, offsets[i]!));
      tasks.push(pool.run({ key, data, offsets }, { transferList: [data.buffer, offsets.buffer] }));
    }
    // Fails as soon as one slice is lost; the other slices finish on their live workers and are dropped.
    const parts = await Promise.all(tasks).catch((e: unknown) => {
      throw new SignWorkerError(e);
    });
    const out: Uint8Array[] = [];
    for (const part of parts) for (let i = 0; i < part.length; i += 64) out.push(part.subarray(i, i + 64));
    return out;
  }

  /** Terminates every worker; a later sign() starts a fresh pool. */
  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = null;
    await pool?.destroy();
  }
}
