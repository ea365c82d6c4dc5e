import bwipjs from 'bwip-js';
import QRCode from 'qrcode';
import { BadInputError } from '../../errors/app-error.js';

/** QR (ISO/IEC 18004), or Data Matrix (ISO/IEC 16022) holding the same Digital Link URI, or a GS1 element-string Data Matrix (FNC1). */
export const SYMBOLOGIES = ['qr', 'datamatrix', 'gs1datamatrix'] as const;
export type Symbology = (typeof SYMBOLOGIES)[number];
export const EC_LEVELS = ['L', 'M', 'Q', 'H'] as const;
export type EcLevel = (typeof EC_LEVELS)[number];
/** ISO/IEC 18004 and 16022 both ask for a quiet zone; four modules is QR's, and more than Data Matrix's one. */
export const QUIET_ZONE = 4;

/** A symbol's dark modules, row by row (y down), without its quiet zone. */
export type Matrix = { width: number; height: number; dark(x: number, y: number): boolean };
export type SymbolOptions = { symbology: Symbology; ec: EcLevel };

const BCID: Record<Symbology, string> = { qr: 'qrcode', datamatrix: 'datamatrix', gs1datamatrix: 'gs1datamatrix' };

/** bwip-js options for one symbol (the encoder: BWIPP, well kept, QR, Data Matrix and GS1 forms alike). */
export function encoderOptions(text: string, o: SymbolOptions): bwipjs.RenderOptions {
  return { bcid: BCID[o.symbology], text, ...(o.symbology === 'qr' ? { eclevel: o.ec } : {}) };
}

/**
 * Encodes `text` to its module matrix: QR with `qrcode` (four times faster than BWIPP, which matters for a
 * 100,000-label sheet), Data Matrix with bwip-js. The PNG route draws with bwip-js itself (it renders the
 * human-readable text too), so a unit's PNG and SVG may pick different, equally valid QR versions or masks.
 */
export function encode(text: string, o: SymbolOptions): Matrix {
  if (o.symbology === 'qr') {
    const { modules } = QRCode.create(text, { errorCorrectionLevel: o.ec });
    return { width: modules.size, height: modules.size, dark: (x, y) => modules.get(y, x) === 1 };
  }
  const [sym] = bwipjs.raw(encoderOptions(text, o)) as unknown as { pixs: number[]; pixx: number; pixy: number }[];
  if (!sym) throw new Error('the encoder produced no symbol');
  const { pixs, pixx, pixy } = sym;
  return { width: pixx, height: pixy, dark: (x, y) => pixs[y * pixx + x] === 1 };
}

/** `(01)…(21)…(10)…`: the GS1 element string of a unit, for the gs1datamatrix form (no URI, no signature). */
export function elementString(u: { gtin: string; serial: string; lot: string | null }): string {
  return `(01)${u.gtin}(21)${u.serial}${u.lot ? `(10)${u.lot}` : ''}`;
}

/** GS1 human-readable interpretation lines under a symbol. */
export function humanReadable(u: { gtin: string; serial: string; lot: string | null }): string[] {
  return [`(01) ${u.gtin} (21) ${u.serial}`, ...(u.lot ? [`(10) ${u.lot}`] : [])];
}

/** Parses the query options shared by every label route; a bad value is a 400 naming it. */
export function parseSymbolQuery(q: Record<string, unknown>): SymbolOptions & { text: boolean } {
  const one = (name: string) => (typeof q[name] === 'string' ? (q[name] as string) : q[name] === undefined ? undefined : '\u0000');
  const symbology = (one('symbology') ?? 'qr').toLowerCase();
  if (!(SYMBOLOGIES as readonly string[]).includes(symbology)) throw new BadInputError(`symbology: one of ${SYMBOLOGIES.join(', ')}`, { field: 'symbology' });
  const ec = (one('ec') ?? 'M').toUpperCase();
  if (!(EC_LEVELS as readonly string[]).includes(ec)) throw new BadInputError(`ec: one of ${EC_LEVELS.join(', ')}`, { field: 'ec' });
  if (ec !== 'M' && symbology !== 'qr') throw new BadInputError('ec: only QR codes have error-correction levels', { field: 'ec' });
  const text = one('text');
  if (text !== undefined && text !== '0' && text !== '1') throw new BadInputError('text: 0 or 1', { field: 'text' });
  return { symbology: symbology as Symbology, ec: ec as EcLevel, text: text === '1' };
}

/**
 * `?size=`: pixels per module, 1 to 40 for SVG; for PNG an even number from 2 to 40, since its encoder draws a
 * module two pixels at a time. A bad value is a 400 naming it.
 */
export function parseModuleSize(q: Record<string, unknown>, format: 'svg' | 'png'): number {
  if (q.size === undefined) return format === 'png' ? 8 : 4;
  const n = typeof q.size === 'string' && /^\d{1,3}$/.test(q.size) ? Number(q.size) : Number.NaN;
  if (format === 'png' && !(n >= 2 && n <= 40 && n % 2 === 0)) throw new BadInputError('size: pixels per module, an even number from 2 to 40', { field: 'size' });
  if (!(n >= 1 && n <= 40)) throw new BadInputError('size: pixels per module, a whole number from 1 to 40', { field: 'size' });
  return n;
}
