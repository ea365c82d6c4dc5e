// The symbol encoders, shared by the main thread and the label worker threads. Plain, erasable TypeScript
// with no relative imports at run time, so Node runs it as is from src/ (tests) and from dist/ (compiled).
import bwipjs from 'bwip-js';
import { correction, generate, mode } from 'lean-qr';

/** QR (ISO/IEC 18004), or Data Matrix (ISO/IEC 16022) holding the same Digital Link URI, or a GS1 element-string Data Matrix (FNC1). */
export const SYMBOLOGIES = ['qr', 'datamatrix', 'gs1datamatrix'] as const;
export type Symbology = (typeof SYMBOLOGIES)[number];
export const EC_LEVELS = ['L', 'M', 'Q', 'H'] as const;
export type EcLevel = (typeof EC_LEVELS)[number];

/** A symbol's modules without its quiet zone: `modules[y * width + x]` is 1 where dark. */
export type Modules = { width: number; height: number; modules: Uint8Array };

const BCID: Record<Symbology, string> = { qr: 'qrcode', datamatrix: 'datamatrix', gs1datamatrix: 'gs1datamatrix' };

/** bwip-js options for one symbol (the encoder: BWIPP, well kept, QR, Data Matrix and GS1 forms alike). */
export function encoderOptions(text: string, o: { symbology: Symbology; ec: EcLevel }): bwipjs.RenderOptions {
  return { bcid: BCID[o.symbology], text, ...(o.symbology === 'qr' ? { eclevel: o.ec } : {}) };
}

const ASCII = /^[\x00-\x7f]*$/;
const ASCII_MODES = [mode.numeric, mode.alphaNumeric, mode.ascii];

/**
 * Encodes `text` to its modules: QR with lean-qr (the optimal mix of numeric and byte segments, so the same
 * versions as `qrcode`, five times faster; exactly the asked error-correction level), Data Matrix with
 * bwip-js. The PNG route draws with bwip-js itself, so a unit's PNG and SVG may pick different, equally
 * valid QR versions or masks.
 */
export function encodeModules(text: string, symbology: Symbology, ec: EcLevel): Modules {
  if (symbology === 'qr') {
    const level = correction[ec];
    // A Digital Link (and an element string) is ASCII: leaving out the other modes halves the time, same code.
    const modes = ASCII.test(text) ? { modes: ASCII_MODES } : {};
    const code = generate(text, { minCorrectionLevel: level, maxCorrectionLevel: level, ...modes });
    const n = code.size;
    const modules = new Uint8Array(n * n);
    for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) if (code.get(x, y)) modules[y * n + x] = 1;
    return { width: n, height: n, modules };
  }
  const [sym] = bwipjs.raw(encoderOptions(text, { symbology, ec })) as unknown as { pixs: number[]; pixx: number; pixy: number }[];
  if (!sym) throw new Error('the encoder produced no symbol');
  return { width: sym.pixx, height: sym.pixy, modules: Uint8Array.from(sym.pixs, (v) => (v === 1 ? 1 : 0)) };
}
