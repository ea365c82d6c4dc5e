import bwipjs from 'bwip-js';
import { encoderOptions, type Matrix, QUIET_ZONE, type SymbolOptions } from './symbol.js';

const escapeXml = (s: string) => s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** One SVG path for the dark modules: a run of dark modules in a row is one rectangle. */
export function modulePath(m: Matrix, offset: number): string {
  const parts: string[] = [];
  for (let y = 0; y < m.height; y++) {
    for (let x = 0; x < m.width; x++) {
      if (!m.dark(x, y)) continue;
      let run = 1;
      while (x + run < m.width && m.dark(x + run, y)) run++;
      parts.push(`M${x + offset} ${y + offset}h${run}v1h-${run}z`);
      x += run - 1;
    }
  }
  return parts.join('');
}

/** The symbol as SVG in module units (quiet zone included), `moduleSize` pixels per module, text lines below. */
export function svgLabel(m: Matrix, moduleSize: number, lines: string[]): string {
  const w = m.width + 2 * QUIET_ZONE;
  const lineHeight = 2.4;
  const h = m.height + 2 * QUIET_ZONE + (lines.length ? lines.length * lineHeight + 1 : 0);
  const text = lines
    .map((l, i) => `<text x="${w / 2}" y="${m.height + 2 * QUIET_ZONE + (i + 1) * lineHeight - 0.4}" font-family="monospace" font-size="2" text-anchor="middle">${escapeXml(l)}</text>`)
    .join('');
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w * moduleSize}" height="${h * moduleSize}" viewBox="0 0 ${w} ${h}" shape-rendering="crispEdges">` +
    `<rect width="${w}" height="${h}" fill="#fff"/><path fill="#000" d="${modulePath(m, QUIET_ZONE)}"/>${text}</svg>`
  );
}

/** The symbol as PNG on white, `moduleSize` (even) pixels per module, a four-module quiet zone, text lines below. */
export async function pngLabel(text: string, o: SymbolOptions, moduleSize: number, lines: string[]): Promise<Buffer> {
  // bwip-js draws a module as 2 units at scale 1 and pads in units: 8 units = 4 modules.
  const pad = 2 * QUIET_ZONE;
  return bwipjs.toBuffer({
    ...encoderOptions(text, o),
    scale: moduleSize / 2,
    backgroundcolor: 'FFFFFF',
    paddingleft: pad,
    paddingright: pad,
    paddingtop: pad,
    paddingbottom: lines.length ? 2 : pad,
    ...(lines.length ? { alttext: lines.join('  '), includetext: true, textxalign: 'center', textsize: 6, textyoffset: -10 } : {}),
  });
}
