import { once } from 'node:events';
import type { Writable } from 'node:stream';
import PDFDocument from 'pdfkit';
import { BadInputError } from '../../errors/app-error.js';
import type { LabelUnit } from './label.service.js';
import { encodeOnPool } from './encode-pool.js';
import { elementString, humanReadable, type Matrix, QUIET_ZONE, type SymbolOptions } from './symbol.js';

const MM = 72 / 25.4;

/** A sheet of labels: page and label sizes in millimetres, columns × rows, first label's offset, pitch. */
type Layout = { page: [number, number]; label: [number, number]; cols: number; rows: number; origin: [number, number]; pitch: [number, number] };

/** `?layout=`: A4 3×8 (70 × 37 mm, e.g. Avery 3474), A4 3×7 (63.5 × 38.1 mm, Avery L7160), one 62 × 80 mm label a page (thermal rolls). */
export const LAYOUTS: Record<string, Layout> = {
  a4: { page: [210, 297], label: [70, 37], cols: 3, rows: 8, origin: [0, 0.5], pitch: [70, 37] },
  'avery-l7160': { page: [210, 297], label: [63.5, 38.1], cols: 3, rows: 7, origin: [7.2, 15.15], pitch: [66.04, 38.1] },
  single: { page: [62, 80], label: [62, 80], cols: 1, rows: 1, origin: [0, 0], pitch: [62, 80] },
};

export function parseLayout(value: unknown): Layout {
  const name = value === undefined ? 'a4' : String(value);
  const layout = typeof value === 'string' || value === undefined ? LAYOUTS[name] : undefined;
  if (!layout) throw new BadInputError(`layout: one of ${Object.keys(LAYOUTS).join(', ')}`, { field: 'layout' });
  return layout;
}

/** What a unit's symbol holds: its Digital Link, or the GS1 element string for the gs1datamatrix form. */
const textOf = (unit: LabelUnit, o: SymbolOptions) => (o.symbology === 'gs1datamatrix' ? elementString(unit) : unit.digitalLink);

/**
 * Draws one label at (x, y) points: the symbol as one vector path, its text beside it (wide labels) or below.
 * The path is in module units under a scaling transform: one short `re` per run of dark modules in a row.
 */
function drawLabel(doc: PDFKit.PDFDocument, unit: LabelUnit, m: Matrix, at: [number, number], size: [number, number]): void {
  const margin = 2 * MM;
  const lines = [...humanReadable(unit), ...(unit.claimCode ? [`Claim code ${unit.claimCode}`] : [])];
  const wide = size[0] / size[1] > 1.4;
  const fontSize = 6.5;
  const textBlock = lines.length * fontSize * 1.3;
  const side = wide ? size[1] - 2 * margin : Math.min(size[0] - 2 * margin, size[1] - 2 * margin - textBlock - margin);
  // The quiet zone sits inside the square; the symbol's modules fill the rest.
  const module = side / (m.width + 2 * QUIET_ZONE);
  const ox = at[0] + margin + QUIET_ZONE * module + (wide ? 0 : (size[0] - 2 * margin - side) / 2);
  const oy = at[1] + margin + QUIET_ZONE * module;
  let path = '';
  for (let y = 0; y < m.height; y++) {
    for (let x = 0; x < m.width; x++) {
      if (!m.dark(x, y)) continue;
      let run = 1;
      while (x + run < m.width && m.dark(x + run, y)) run++;
      path += `${x} ${y} ${run} 1 re\n`;
      x += run - 1;
    }
  }
  doc.save().transform(module, 0, 0, module, ox, oy).addContent(path).fill('#000').restore();
  doc.font('Courier').fontSize(fontSize);
  const tx = wide ? at[0] + margin + side + margin : at[0] + margin;
  const ty = wide ? at[1] + (size[1] - textBlock) / 2 : at[1] + margin + side + margin;
  const width = wide ? size[0] - side - 3 * margin : size[0] - 2 * margin;
  lines.forEach((line, i) => doc.text(line, tx, ty + i * fontSize * 1.3, { width, align: wide ? 'left' : 'center', lineBreak: false }));
}

/**
 * pdfkit keeps every page's dictionary after writing it, for the page tree at the end, and with it the page's
 * content and resource objects (~0.8 KB a page: 80 MB for 100,000 one-label pages). The tree needs only the
 * page's object number, so once the page is written (it has an offset) its dictionary's entries are dropped.
 */
function release(page: PDFKit.PDFKitReference | undefined): void {
  const ref = page as unknown as { offset?: number; data: object } | undefined;
  if (ref && typeof ref.offset === 'number') ref.data = {};
}

/**
 * Writes a label sheet PDF to `out` page by page as the units arrive: the worker threads encode the symbols
 * of the next read of units (500) while this thread draws the current one (so at most two reads are held),
 * PDF pages are handed on as they are finished, and this waits whenever `out` is full, so memory stays flat
 * however large the batch.
 */
export async function writeLabelPdf(out: Writable, pages: AsyncIterable<LabelUnit[]>, o: SymbolOptions, layout: Layout, title: string): Promise<number> {
  const doc = new PDFDocument({ size: [layout.page[0] * MM, layout.page[1] * MM], margin: 0, autoFirstPage: false, info: { Title: title, Producer: 'dpp' } });
  doc.pipe(out);
  const perPage = layout.cols * layout.rows;
  let count = 0;
  const draw = async (units: LabelUnit[], symbols: Promise<Matrix[]>) => {
    const matrices = await symbols;
    for (const [i, unit] of units.entries()) {
      const slot = count % perPage;
      if (slot === 0) {
        const written = doc.page?.dictionary;
        doc.addPage();
        release(written);
        if (out.writableNeedDrain) await once(out, 'drain');
      }
      const col = slot % layout.cols;
      const row = Math.floor(slot / layout.cols);
      drawLabel(doc, unit, matrices[i]!, [(layout.origin[0] + col * layout.pitch[0]) * MM, (layout.origin[1] + row * layout.pitch[1]) * MM], [layout.label[0] * MM, layout.label[1] * MM]);
      count++;
    }
  };
  let previous: [LabelUnit[], Promise<Matrix[]>] | undefined;
  for await (const units of pages) {
    const symbols = encodeOnPool(units.map((u) => textOf(u, o)), o);
    symbols.catch(() => undefined); // handled when drawn; this keeps a failure meanwhile from being "unhandled"
    if (previous) await draw(...previous);
    previous = [units, symbols];
  }
  if (previous) await draw(...previous);
  const ended = once(out, 'finish');
  doc.end();
  await ended;
  return count;
}
