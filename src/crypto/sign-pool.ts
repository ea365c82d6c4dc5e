import type { KeyObject } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

type Pending = { resolve: (sigs: Uint8Array) => void; reject: (e: unknown) => void };

/**
 * Ed25519 signing spread over worker threads, so a 100,000-unit batch uses every core while the
 * main thread talks to the database. Workers start on first use and never keep the process alive.
 */
export class SignPool {
  private workers: Worker[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;

  constructor(private readonly size = Math.max(1, Math.min(4, availableParallelism()))) {}

  private start(): Worker[] {
    if (this.workers.length) return this.workers;
    // From src/ under the test runner the module is .ts (Node strips the types); compiled it is .js.
    const file = new URL(`./sign-worker.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`, import.meta.url);
    for (let i = 0; i < this.size; i++) {
      const w = new Worker(file);
      w.unref();
      w.on('message', (m: { id: number; signatures: Uint8Array }) => {
        this.pending.get(m.id)?.resolve(m.signatures);
        this.pending.delete(m.id);
      });
      w.on('error', (e) => {
        for (const p of this.pending.values()) p.reject(e);
        this.pending.clear();
        this.workers = [];
      });
      this.workers.push(w);
    }
    return this.workers;
  }

  /** Signs every message with `key`, in order; the work is split evenly over the workers. */
  async sign(key: KeyObject, messages: readonly Uint8Array[]): Promise<Uint8Array[]> {
    const workers = this.start();
    const per = Math.ceil(messages.length / workers.length);
    const parts = await Promise.all(
      workers.map((w, wi) => {
        const slice = messages.slice(wi * per, (wi + 1) * per);
        if (slice.length === 0) return Promise.resolve(new Uint8Array(0));
        const offsets = new Uint32Array(slice.length + 1);
        for (let i = 0; i < slice.length; i++) offsets[i + 1] = offsets[i]! + slice[i]!.length;
        const data = new Uint8Array(offsets[slice.length]!);
        slice.forEach((m, i) => data.set(m, offsets[i]!));
        const id = this.nextId++;
        return new Promise<Uint8Array>((resolve, reject) => {
          this.pending.set(id, { resolve, reject });
          w.postMessage({ id, key, data, offsets }, [data.buffer, offsets.buffer]);
        });
      }),
    );
    const out: Uint8Array[] = [];
    for (const part of parts) for (let i = 0; i < part.length; i += 64) out.push(part.subarray(i, i + 64));
    return out;
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers = [];
  }
}
