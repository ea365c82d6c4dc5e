import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'csv-parse/sync';
import jsQRModule from 'jsqr';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { brandWithModel, claimUnit, registerOwner, sell } from '../support/owners.js';
import { binaryFor } from '../support/requires.js';
import { startTestServer, type TestServer } from '../support/server.js';

const run = promisify(execFile);
// jsqr is CommonJS (module.exports = jsQR); TypeScript types the default import as the namespace.
type JsQr = (data: Uint8ClampedArray, width: number, height: number) => { data: string } | null;
const jsQR = ((jsQRModule as unknown as { default?: JsQr }).default ?? jsQRModule) as unknown as JsQr;
const zbarimg = binaryFor('label decoding with zbarimg (test/e2e/labels.test.ts)', 'zbarimg', 'zbar-tools');
const dmtxread = binaryFor('Data Matrix decoding with dmtxread (test/e2e/labels.test.ts)', 'dmtxread', 'dmtx-utils', ['--help']);
const pdftoppm = binaryFor('PDF label rendering with pdftoppm (test/e2e/labels.test.ts)', 'pdftoppm', 'poppler-utils', ['-v']);

let s: TestServer;
let brand: Awaited<ReturnType<typeof brandWithModel>>;
let other: { key: string };
let retailer: { key: string };
let batchId: string;
let units: { id: string; serial: string; claimCode: string; digitalLink: string }[];
let dir: string;

const get = (path: string, key?: string) => fetch(`${s.url}${path}`, { headers: key ? { authorization: `Bearer ${key}` } : {} });

async function decodeQr(file: string): Promise<string[]> {
  const { stdout } = await run(zbarimg!, ['-q', '--raw', '-Sdisable', '-Sqrcode.enable', file]).catch((e) => ({ stdout: String(e.stdout ?? '') }));
  return stdout.split('\n').filter(Boolean);
}

async function dppVerify(link: string): Promise<number> {
  const jwks = join(dir, 'jwks.json');
  writeFileSync(jwks, await (await fetch(`${s.url}/.well-known/jwks.json`)).text());
  return run(process.execPath, ['dist/src/cli/dpp.js', 'verify', link, '--keys', jwks]).then(() => 0, (e) => e.code as number);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dpp-labels-'));
  s = await startTestServer();
  brand = await brandWithModel(s, { prefix: '4012346', item: '88001' });
  other = await s.org('BRAND', { gs1CompanyPrefixes: ['4012347'] });
  retailer = await s.org('RETAILER');
  const minted = await s.gql<{ mintPassports: { id: string; labels: { csvUrl: string; pdfUrl: string }; passports: { id: string; serial: string; claimCode: string; digitalLink: string }[] } }>(
    'mutation($i: MintInput!) { mintPassports(input: $i) { id labels { csvUrl pdfUrl } passports { id serial claimCode digitalLink } } }',
    { i: { gtin: brand.gtin, quantity: 30, lot: 'LB1', sign: true, idempotencyKey: 'labels' } },
    brand.key,
  );
  expect(minted.errors).toBeUndefined();
  batchId = minted.data!.mintPassports.id;
  units = minted.data!.mintPassports.passports;
  expect(minted.data!.mintPassports.labels.csvUrl).toMatch(new RegExp(`/labels/batches/${batchId}\\.csv$`));
  // One unit gets an owner: its claim code must not appear in the files any more.
  await sell(s, units[0]!.id);
  await claimUnit(s, await registerOwner(s), units[0]!);
});
afterAll(async () => {
  await s?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('GET /labels/units/<id>.svg|.png', () => {
  it('the PNG holds exactly the signed Digital Link at every error-correction level (zbarimg and jsQR), and it verifies', async () => {
    for (const ec of ['L', 'M', 'Q', 'H']) {
      const res = await get(`/labels/units/${units[1]!.id}.png?ec=${ec}&text=1`, brand.key);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('image/png');
      const png = Buffer.from(await res.arrayBuffer());
      const img = PNG.sync.read(png);
      expect(jsQR(new Uint8ClampedArray(img.data), img.width, img.height)?.data).toBe(units[1]!.digitalLink);
      if (zbarimg) {
        writeFileSync(join(dir, `u-${ec}.png`), png);
        expect(await decodeQr(join(dir, `u-${ec}.png`))).toEqual([units[1]!.digitalLink]);
      }
    }
    expect(await dppVerify(units[1]!.digitalLink)).toBe(0);
  });

  it('the SVG is the same symbol, drawn as vectors with a four-module quiet zone; its size follows ?size=', async () => {
    const res = await get(`/labels/units/${units[1]!.id}.svg?size=5&text=1`, brand.key);
    const svg = await res.text();
    expect(res.headers.get('content-type')).toMatch(/^image\/svg\+xml/);
    const [, w, vb] = /width="(\d+)".*viewBox="0 0 (\d+)/.exec(svg)!;
    expect(Number(w)).toBe(Number(vb) * 5);
    expect(svg).toContain(`(01) ${brand.gtin} (21) ${units[1]!.serial}`);
    expect(svg).toContain('(10) LB1');
    // Rendered by Chromium? Not needed: the PNG and PDF come from the same matrix; the path starts inside the quiet zone.
    expect(svg).toMatch(/d="M4 4h/);
  });

  it('Data Matrix carries the same URI (dmtxread); the GS1 element-string form carries (01)(21)(10)', async () => {
    if (!dmtxread) return;
    const dm = await get(`/labels/units/${units[2]!.id}.png?symbology=datamatrix`, brand.key);
    writeFileSync(join(dir, 'dm.png'), Buffer.from(await dm.arrayBuffer()));
    expect((await run(dmtxread, [join(dir, 'dm.png')])).stdout.trim()).toBe(units[2]!.digitalLink);
    const gs1 = await get(`/labels/units/${units[2]!.id}.png?symbology=gs1datamatrix`, brand.key);
    writeFileSync(join(dir, 'gs1.png'), Buffer.from(await gs1.arrayBuffer()));
    // In GS1 mode dmtxread prints each FNC1 as the character given (|): the leading one marks a GS1 symbol,
    // the next ends the variable-length serial.
    const text = (await run(dmtxread, ['-G', '124', join(dir, 'gs1.png')])).stdout.trim();
    expect(text).toBe(`|01${brand.gtin}21${units[2]!.serial}|10LB1`);
  });

  it('refuses bad options with a 400 naming them', async () => {
    for (const [q, field] of [['ec=X', 'ec'], ['size=0', 'size'], ['size=41', 'size'], ['symbology=aztec', 'symbology'], ['text=yes', 'text']] as const) {
      const res = await get(`/labels/units/${units[1]!.id}.svg?${q}`, brand.key);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { code: string; message: string } }).error.message).toMatch(new RegExp(`^${field}:`));
    }
    expect((await get(`/labels/units/${units[1]!.id}.png?size=3`, brand.key)).status).toBe(400);
  });

  it('is for the unit\'s brand and the platform only: 401 anonymous, 403 other brands and retailers, 404 unknown', async () => {
    expect((await get(`/labels/units/${units[1]!.id}.svg`)).status).toBe(401);
    expect((await get(`/labels/units/${units[1]!.id}.svg`, 'dpp_not_a_key_at_all_000000000')).status).toBe(401);
    expect((await get(`/labels/units/${units[1]!.id}.svg`, other.key)).status).toBe(403);
    expect((await get(`/labels/units/${units[1]!.id}.svg`, retailer.key)).status).toBe(403);
    expect((await get(`/labels/units/${units[1]!.id}.svg`, s.platformKey)).status).toBe(200);
    expect((await get('/labels/units/00000000-0000-4000-8000-000000000000.svg', brand.key)).status).toBe(404);
    const gql = await s.gql<{ passport: { labelUrl: string | null } }>('query($id: ID!) { passport(id: $id) { labelUrl } }', { id: units[1]!.id }, brand.key);
    expect(gql.data!.passport.labelUrl).toMatch(new RegExp(`/labels/units/${units[1]!.id}\\.svg$`));
    const foreign = await s.gql('query($id: ID!) { passport(id: $id) { labelUrl } }', { id: units[1]!.id }, other.key);
    expect(foreign.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});

describe('GET /labels/batches/<id>.csv|.pdf', () => {
  it('the CSV has one row per unit; claim codes only for unowned units, and they claim them; the download is audited', async () => {
    const res = await get(`/labels/batches/${batchId}.csv`, brand.key);
    expect(res.status).toBe(200);
    const rows = parse(await res.text(), { columns: true }) as Record<string, string>[];
    expect(rows).toHaveLength(30);
    const bySerial = new Map(rows.map((r) => [r.serial!, r]));
    for (const u of units) expect(bySerial.get(u.serial)).toMatchObject({ gtin: brand.gtin, lot: 'LB1', digital_link: u.digitalLink, epc_uri: expect.stringMatching(/^urn:epc:id:sgtin:/) });
    expect(bySerial.get(units[0]!.serial)!.claim_code).toBe('');
    expect(bySerial.get(units[3]!.serial)!.claim_code).toBe(units[3]!.claimCode);
    await sell(s, units[3]!.id);
    await claimUnit(s, await registerOwner(s), { id: units[3]!.id, claimCode: bySerial.get(units[3]!.serial)!.claim_code! });
    for (const key of [brand.key, s.platformKey]) {
      const audit = await s.gql<{ auditLog: { entries: { action: string; details: Record<string, unknown> }[] } }>('{ auditLog(first: 500) { entries { action details } } }', {}, key);
      expect(audit.errors).toBeUndefined();
      expect(audit.data!.auditLog.entries.filter((e) => e.action === 'LABELS_DOWNLOADED').map((e) => e.details)).toContainEqual(expect.objectContaining({ batchId, format: 'csv', claimCodes: true }));
    }
    for (const key of [undefined, other.key, retailer.key]) expect((await get(`/labels/batches/${batchId}.csv`, key)).status).toBe(key ? 403 : 401);
  });

  it('the PDF label sheet decodes label by label to each unit\'s Digital Link (pdftoppm + zbarimg), in every layout', async () => {
    if (!pdftoppm || !zbarimg) return;
    for (const layout of ['a4', 'avery-l7160', 'single']) {
      const res = await get(`/labels/batches/${batchId}.pdf?layout=${layout}`, brand.key);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/pdf');
      const pdf = join(dir, `${layout}.pdf`);
      writeFileSync(pdf, Buffer.from(await res.arrayBuffer()));
      // zbar now and then misses one of 24 symbols on a page at one resolution: further renders at other
      // resolutions read the page again, and every label must be read in one of them.
      const decoded = new Set<string>();
      for (const dpi of ['200', '300', '400']) {
        const out = join(dir, `${layout}-${dpi}-page`);
        await run(pdftoppm, ['-r', dpi, '-png', pdf, out]);
        for (const page of readdirSync(dir).filter((f) => f.startsWith(`${layout}-${dpi}-page`))) for (const text of await decodeQr(join(dir, page))) decoded.add(text);
        if (decoded.size === units.length) break;
      }
      const missing = units.filter((u) => !decoded.has(u.digitalLink)).map((u) => u.serial);
      expect([...decoded].sort(), `${layout}: not read: ${missing.join(', ')}`).toEqual(units.map((u) => u.digitalLink).sort());
    }
    expect((await get(`/labels/batches/${batchId}.pdf?layout=letter`, brand.key)).status).toBe(400);
  }, 180_000);

  it('the PDF label sheet in Data Matrix decodes to the units\' Digital Links (pdftoppm + dmtxread)', async () => {
    if (!pdftoppm || !dmtxread) return;
    const res = await get(`/labels/batches/${batchId}.pdf?layout=single&symbology=datamatrix`, brand.key);
    expect(res.status).toBe(200);
    const pdf = join(dir, 'dm.pdf');
    writeFileSync(pdf, Buffer.from(await res.arrayBuffer()));
    // One label a page: the first four pages are enough to show the symbols are the units' own.
    await run(pdftoppm, ['-r', '200', '-f', '1', '-l', '4', '-png', pdf, join(dir, 'dm-page')]);
    const pages = readdirSync(dir).filter((f) => f.startsWith('dm-page')).sort();
    expect(pages).toHaveLength(4);
    const decoded = await Promise.all(pages.map(async (page) => (await run(dmtxread!, ['-N1', join(dir, page)])).stdout.trim()));
    // Labels come in unit id order (the PDF's order), each symbol encoded on a worker thread.
    const first = [...units].sort((a, b) => (a.id < b.id ? -1 : 1)).slice(0, 4);
    expect(decoded).toEqual(first.map((u) => u.digitalLink));
  }, 120_000);
});
