import { BadInputError } from '../../errors/app-error.js';
import { EC_LEVELS, type EcLevel, encodeModules, type Modules, SYMBOLOGIES, type Symbology } from './encoder.js';

export { EC_LEVELS, type EcLevel, encoderOptions, SYMBOLOGIES, type Symbology } from './encoder.js';

/** ISO/IEC 18004 and 16022 both ask for a quiet zone; four modules is QR's, and more than Data Matrix's one. */
export const QUIET_ZONE = 4;

/** A symbol's dark modules, row by row (y down), without its quiet zone. */
export type Matrix = { width: number; height: number; dark(x: number, y: number): boolean };
export type SymbolOptions = { symbology: Symbology; ec: EcLevel };

/** The symbol of `text` as a matrix (QR with lean-qr, Data Matrix with bwip-js; see encoder.ts). */
export function encode(text: string, o: SymbolOptions): Matrix {
  return matrixOf(encodeModules(text, o.symbology, o.ec));
}

export function matrixOf({ width, height, modules }: Modules): Matrix {
  return { width, height, dark: (x, y) => modules[y * width + x] === 1 };
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
