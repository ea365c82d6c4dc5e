// Worker thread body for the label encoder pool: encodes a chunk of texts to their modules, packed into
// one transferable buffer. Plain, erasable TypeScript, so Node runs it as is from src/ and from dist/.
import { move } from 'piscina';
import type { EcLevel, Symbology } from './encoder.js';

// Relative modules are .ts under the test runner (Node strips the types) and .js compiled.
const { encodeModules } = (await import(`./encoder.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`)) as typeof import('./encoder.js');

export type EncodeTask = { texts: string[]; symbology: Symbology; ec: EcLevel };

/**
 * Per text: one byte width, one byte height (QR is at most 177 modules a side, Data Matrix 144), then its
 * modules row by row, one byte each (1 where dark).
 */
export default function encodeChunk(task: EncodeTask): Uint8Array {
  const encoded = task.texts.map((t) => encodeModules(t, task.symbology, task.ec));
  const out = new Uint8Array(encoded.reduce((n, e) => n + 2 + e.modules.length, 0));
  let at = 0;
  for (const e of encoded) {
    out[at] = e.width;
    out[at + 1] = e.height;
    out.set(e.modules, at + 2);
    at += 2 + e.modules.length;
  }
  return move(out) as Uint8Array;
}
