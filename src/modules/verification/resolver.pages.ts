import type { VerificationResult } from './verification.service.js';
import type { OfferedLink } from './resolver.links.js';

/** What a unit's resolve answers about: the scan's result and the identity the link named. */
export type Answer = {
  result: VerificationResult;
  gtin: string;
  serial: string;
  lot?: string;
  /** The Digital Link without `sig`: the identity the answer is about. */
  anchor: string;
  /** For a battery: its public battery passport facts in plain words (Annex XIII point 1), and where the rest of them is. */
  battery?: { sections: readonly PlainSectionView[]; href: string };
};

/** A section of plain label and text rows, as battery-plain.ts makes them. */
export type PlainSectionView = { title: string; rows: readonly (readonly [string, string])[] };

export function escapeHtml(s: unknown): string {
  return String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const VERDICT_TEXT: Record<string, { title: string; summary: string; colour: string }> = {
  AUTHENTIC: { title: 'Authentic', summary: 'This product is registered by its brand and the check found nothing wrong.', colour: '#0a5c2b' },
  SUSPICIOUS: { title: 'Suspicious', summary: 'This product is registered, but something about this scan looks wrong.', colour: '#7a4a00' },
  COUNTERFEIT: { title: 'Counterfeit', summary: 'This code failed the authenticity check. The product is probably not genuine.', colour: '#8b0000' },
  UNKNOWN: { title: 'Unknown', summary: 'No product with this identity was ever registered.', colour: '#5a2a7a' },
  REVOKED: { title: 'Revoked', summary: 'The brand has withdrawn this product passport.', colour: '#8b0000' },
};

const WHAT_TO_DO =
  'Do not rely on this product being genuine. Keep the product and its packaging and receipt, do not pay or hand over personal details ' +
  'to anyone because of this code, and contact the seller or the brand through its official website to report where you bought it.';

/** A page of ours: `title` already escaped, `css` after the common body rule, `main` the content of <main>. */
function page(title: string, css: readonly string[], main: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${title}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:40rem;margin:1rem auto;padding:0 1rem;line-height:1.5;color:#111;background:#fff}
${css.join('\n')}
</style>
</head>
<body>
<main>
${main}
</main>
</body>
</html>
`;
}

const dlCss = (wordBreak: 'break-all' | 'break-word') =>
  `dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem}dt{font-weight:600}dd{margin:0;word-break:${wordBreak}}`;

/** Label and value rows of a <dl>, escaped. */
const definitions = (rows: readonly (readonly [string, string])[]) => rows.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`).join('\n');

/** The verification as JSON, for API clients: the verdict, why, and the unit (`revoked` says whether its brand withdrew it). */
export function jsonBody(a: Answer) {
  const { result } = a;
  const p = result.passport;
  return {
    verdict: result.verdict,
    revoked: p?.status === 'REVOKED',
    reasons: result.reasons,
    gtin: a.gtin,
    serial: a.serial,
    digitalLink: a.anchor,
    passport: p
      ? {
          gtin: p.gtin,
          serial: p.serial,
          lot: p.lot ?? null,
          status: p.status,
          brand: result.brand ? { id: result.brand.id, name: result.brand.name } : null,
          model: result.model ? { name: result.model.name, category: result.model.category ?? null } : null,
        }
      : null,
    scannedAt: result.scannedAt.toISOString(),
  };
}

/** The battery part of a scan's page: the key public facts, then a link to all of them. */
function batterySection(b: NonNullable<Answer['battery']>): string {
  const parts = b.sections.map((s) => `<h3>${escapeHtml(s.title)}</h3>\n<dl>\n${definitions(s.rows)}\n</dl>`);
  return `<section aria-labelledby="battery">
<h2 id="battery">Battery passport</h2>
<p>What EU law makes public about this battery (Regulation (EU) 2023/1542, Annex XIII point 1).</p>
${parts.join('\n')}
<p><a href="${escapeHtml(b.href)}">All public information in this battery's passport</a></p>
</section>`;
}

export function htmlPage(a: Answer): string {
  const { result } = a;
  const v = VERDICT_TEXT[result.verdict] ?? { title: result.verdict, summary: '', colour: '#333' };
  const p = result.passport;
  const rows: [string, string][] = [];
  if (result.model) rows.push(['Product', result.model.name]);
  if (result.model?.category) rows.push(['Category', result.model.category]);
  if (result.brand) rows.push(['Brand', result.brand.name]);
  rows.push(['GTIN', a.gtin], ['Serial number', a.serial]);
  if (p?.lot) rows.push(['Lot', p.lot]);
  if (p) rows.push(['Passport status', p.status.replace(/_/g, ' ').toLowerCase()]);
  rows.push(['Checked at', result.scannedAt.toISOString()]);
  const warn = result.verdict !== 'AUTHENTIC';
  const heading = result.model ? `${result.model.name}` : 'Product verification';
  return page(`${escapeHtml(v.title)}: ${escapeHtml(heading)}`, [
    `.verdict{border:3px solid ${v.colour};border-radius:.5rem;padding:.75rem 1rem;margin:1rem 0}`,
    `.verdict h2{margin:0;color:${v.colour}}`,
    dlCss('break-all'),
    `.todo{border-left:4px solid ${v.colour};padding-left:1rem}`,
  ], `<h1>${escapeHtml(heading)}</h1>
<section class="verdict" aria-labelledby="verdict">
<h2 id="verdict">Verdict: ${escapeHtml(v.title)}</h2>
<p>${escapeHtml(v.summary)}</p>
</section>
<section aria-labelledby="details">
<h2 id="details">Details</h2>
<dl>
${definitions(rows)}
</dl>
</section>
${a.battery ? batterySection(a.battery) : ''}
${
  result.reasons.length
    ? `<section aria-labelledby="reasons">
<h2 id="reasons">Why</h2>
<ul>
${result.reasons.map((r) => `<li>${escapeHtml(r)}</li>`).join('\n')}
</ul>
</section>`
    : ''
}
${warn ? `<section class="todo" aria-labelledby="todo">\n<h2 id="todo">What to do</h2>\n<p>${escapeHtml(WHAT_TO_DO)}</p>\n</section>` : ''}
<p><small>This check was recorded to help the brand detect counterfeits. No app or account is needed.</small></p>`);
}


/** What a product-level resolve (`/01/{gtin}`, no serial) answers about. */
export type ProductAnswer = {
  gtin: string;
  lot?: string;
  anchor: string;
  model: { name: string; category: string | null };
  brand: { id: string; name: string };
  /** The brand's pages, by link type (redirect targets the page lists). */
  brandLinks: readonly (OfferedLink & { linkType: string })[];
};

/** The product model's page: what it is, whose, the brand's pages, and that only a unit's own code can be checked. */
export function productPage(a: ProductAnswer): string {
  const rows: [string, string][] = [['Product', a.model.name]];
  if (a.model.category) rows.push(['Category', a.model.category]);
  rows.push(['Brand', a.brand.name], ['GTIN', a.gtin]);
  if (a.lot) rows.push(['Lot', a.lot]);
  const links = a.brandLinks.map((l) => `<li><a href="${escapeHtml(l.href)}" rel="noopener noreferrer">${escapeHtml(l.title)}</a></li>`);
  return page(escapeHtml(a.model.name), [dlCss('break-all')], `<h1>${escapeHtml(a.model.name)}</h1>
<p>This code names a product, not a single unit, so it cannot show whether a particular item is genuine: scan the code on the item itself for that.</p>
<section aria-labelledby="details">
<h2 id="details">Details</h2>
<dl>
${definitions(rows)}
</dl>
</section>
${links.length ? `<section aria-labelledby="links">\n<h2 id="links">From the brand</h2>\n<ul>\n${links.join('\n')}\n</ul>\n</section>` : ''}`);
}

/** A battery's public passport page: the Annex XIII point 1 data, already in plain words, by section. */
export type BatteryPageAnswer = {
  anchor: string;
  title: string;
  sections: readonly { title: string; rows: readonly (readonly [string, string])[] }[];
};

/** The public part of a battery passport for people (`?linkType=batteryPass` in a browser); every text is escaped. */
export function batteryPage(a: BatteryPageAnswer): string {
  const sections = a.sections.map(
    (s, i) =>
      `<section aria-labelledby="s${i}">\n<h2 id="s${i}">${escapeHtml(s.title)}</h2>\n<dl>\n${definitions(s.rows)}\n</dl>\n</section>`,
  );
  return page(`Battery passport: ${escapeHtml(a.title)}`, [dlCss('break-word')], `<h1>Battery passport: ${escapeHtml(a.title)}</h1>
<p>The information about this battery that EU law makes public (Regulation (EU) 2023/1542, Annex XIII point 1). Repairers, recyclers and authorities can read more with their own access.</p>
<p><small>Battery: ${escapeHtml(a.anchor)}</small></p>
${sections.join('\n')}`);
}

/** A small error page (no scripts; the message is escaped). */
export function errorPage(title: string, message: string): string {
  return `<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<meta name="viewport" content="width=device-width, initial-scale=1">\n<title>${escapeHtml(title)}</title>\n</head>\n<body>\n<main>\n<h1>${escapeHtml(title)}</h1>\n<p>${escapeHtml(message)}</p>\n</main>\n</body>\n</html>\n`;
}
