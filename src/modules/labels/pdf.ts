import { once } from 'node:events';
import type { Writable } from 'node:stream';
import PDFDocument from 'pdfkit';
import { BadInputError } from '../../errors/app-error.js';
import type { LabelUnit } from './label.service.js';
import { elementString, encode, humanReadable, QUIET_ZONE, type SymbolOptions } from './symbol.js';

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

/** Draws one label at (x, y) points: the symbol as vector squares, its text beside it (wide labels) or below. */
function drawLabel(doc: PDFKit.PDFDocument, unit: LabelUnit, o: SymbolOptions, at: [number, number], size: [number, number]): void {
  const margin = 2 * MM;
  const m = encode(o.symbology === 'gs1datamatrix' ? elementString(unit) : unit.digitalLink, o);
  const lines = [...humanReadable(unit), ...(unit.claimCode ? [`Claim code ${unit.claimCode}`] : [])];
  const wide = size[0] / size[1] > 1.4;
  const fontSize = 6.5;
  const textBlock = lines.length * fontSize * 1.3;
  const side = wide ? size[1] - 2 * margin : Math.min(size[0] - 2 * margin, size[1] - 2 * margin - textBlock - margin);
  // The quiet zone sits inside the square; the symbol's modules fill the rest.
  const module = side / (m.width + 2 * QUIET_ZONE);
  const ox = at[0] + margin + QUIET_ZONE * module + (wide ? 0 : (size[0] - 2 * margin - side) / 2);
  const oy = at[1] + margin + QUIET_ZONE * module;
  for (let y = 0; y < m.height; y++) {
    for (let x = 0; x < m.width; x++) {
      if (!m.dark(x, y)) continue;
      let run = 1;
      while (x + run < m.width && m.dark(x + run, y)) run++;
      doc.rect(ox + x * module, oy + y * module, run * module, module);
      x += run - 1;
    }
  }
  doc.fill('#000');
  doc.font('Courier').fontSize(fontSize);
  const tx = wide ? at[0] + margin + side + margin : at[0] + margin;
  const ty = wide ? at[1] + (size[1] - textBlock) / 2 : at[1] + margin + side + margin;
  const width = wide ? size[0] - side - 3 * margin : size[0] - 2 * margin;
  lines.forEach((line, i) => doc.text(line, tx, ty + i * fontSize * 1.3, { width, align: wide ? 'left' : 'center', lineBreak: false }));
}

/**
 * Writes a label sheet PDF to `out` page by page as the units arrive: pages are handed on as they are
 * finished, and this waits whenever `out` is full, so memory stays flat however large the batch.
 */
export async function writeLabelPdf(out: Writable, pages: AsyncIterable<LabelUnit[]>, o: SymbolOptions, layout: Layout, title: string): Promise<number> {
  const doc = new PDFDocument({ size: [layout.page[0] * MM, layout.page[1] * MM], margin: 0, autoFirstPage: false, info: { Title: title, Producer: 'dpp' } });
  doc.pipe(out);
  const perPage = layout.cols * layout.rows;
  let count = 0;
  for await (const units of pages) {
    for (const unit of units) {
      const slot = count % perPage;
      if (slot === 0) {
        doc.addPage();
        if (out.writableNeedDrain) await once(out, 'drain');
      }
      const col = slot % layout.cols;
      const row = Math.floor(slot / layout.cols);
      drawLabel(doc, unit, o, [(layout.origin[0] + col * layout.pitch[0]) * MM, (layout.origin[1] + row * layout.pitch[1]) * MM], [layout.label[0] * MM, layout.label[1] * MM]);
      count++;
    }
  }
  const ended = once(out, 'finish');
  doc.end();
  await ended;
  return count;
}
