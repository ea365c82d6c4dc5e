import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import type { EncodeTask } from './encode-worker.js';
import { type Matrix, matrixOf, type SymbolOptions } from './symbol.js';

/** Texts per task: large enough that a message's cost (~0.1 ms) is small beside encoding (~1 ms each). */
const CHUNK = 50;

let pool: Piscina<EncodeTask, Uint8Array> | undefined;

/**
 * Worker threads that encode symbols for the PDF label sheet, so QR and Data Matrix encoding (most of a
 * label's cost) runs beside the main thread's PDF writing. One thread fewer than the cores (at least one,
 * at most four); they start on first use, stop after 10 s idle and never keep the process alive.
 */
function encoderPool(): Piscina<EncodeTask, Uint8Array> {
  // From src/ under the test runner the module is .ts (Node strips the types); compiled it is .js.
  pool ??= new Piscina({
    filename: new URL(`./encode-worker.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`, import.meta.url).href,
    minThreads: 0,
    maxThreads: Math.max(1, Math.min(4, availableParallelism() - 1)),
    idleTimeout: 10_000,
  });
  return pool;
}

/** Encodes every text on the pool, in order. */
export async function encodeOnPool(texts: string[], o: SymbolOptions): Promise<Matrix[]> {
  const p = encoderPool();
  const chunks: Promise<Uint8Array>[] = [];
  for (let i = 0; i < texts.length; i += CHUNK) chunks.push(p.run({ texts: texts.slice(i, i + CHUNK), symbology: o.symbology, ec: o.ec }));
  const out: Matrix[] = [];
  for (const buf of await Promise.all(chunks)) {
    for (let at = 0; at < buf.length; ) {
      const width = buf[at]!;
      const height = buf[at + 1]!;
      out.push(matrixOf({ width, height, modules: buf.subarray(at + 2, at + 2 + width * height) }));
      at += 2 + width * height;
    }
  }
  return out;
}
