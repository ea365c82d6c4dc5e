/**
 * `npm run bench:labels`: a BENCH_UNITS-unit (default 100,000) batch's PDF label sheet (A4, QR) streamed over
 * HTTP from the PostgreSQL in DATABASE_URL: labels per second, and the server's memory (it runs in this
 * process). Every 1,000 labels (counted from the PDF's page objects as they arrive) the heap is collected
 * and measured, so the figures are what is live, not garbage not yet collected: start (before the
 * download), peak and end (after it), heap and RSS, plus the highest uncollected figures sampled every
 * 50 ms. Flat memory means the peak does not grow with BENCH_UNITS.
 */
import 'reflect-metadata';
import { gtinCheckDigit } from '../src/gs1/index.js';
import { LAYOUTS } from '../src/modules/labels/pdf.js';
import { benchDatabaseUrl, line, machineLine, startBenchServer, withDatabase } from './harness.js';

const N = Number(process.env.BENCH_UNITS ?? 100_000);
const base = benchDatabaseUrl('bench:labels');
const mb = (bytes: number) => Math.round(bytes / 2 ** 20);
const perPage = LAYOUTS.a4!.cols * LAYOUTS.a4!.rows;
// pdfkit writes each page's dictionary as it flushes the page; nothing else in the file has this line.
const PAGE = Buffer.from('/Type /Page\n');

type Sample = { labels: number; heap: number; rss: number };

/** The live heap and RSS after a full collection (bench runs with --expose-gc); the time the collection took. */
function collected(labels: number): Sample & { gcMs: number } {
  const t = performance.now();
  global.gc?.();
  const m = process.memoryUsage();
  return { labels, heap: m.heapUsed, rss: m.rss, gcMs: performance.now() - t };
}

machineLine();
await withDatabase(base, async (url) => {
  const { server, gql, org } = await startBenchServer(url, { DPP_MAX_BODY_BYTES: String(8 * 1024 * 1024) });
  try {
    const brand = await org('BRAND', ', gs1CompanyPrefixes: ["0614141"]');
    const body = '061414100009';
    const gtin14 = `0${body}${gtinCheckDigit(body)}`;
    await gql('mutation($i: ProductModelInput!) { createProductModel(input: $i) { id } }', { i: { gtin: gtin14, name: 'Label bench' } }, brand.key);
    const tMint = performance.now();
    const minted = await gql<{ mintPassports: { id: string } }>('mutation($i: MintInput!) { mintPassports(input: $i) { id } }', { i: { gtin: gtin14, quantity: N, lot: 'LB', sign: true, idempotencyKey: 'labels' } }, brand.key);
    line('units minted and signed', N, `in ${((performance.now() - tMint) / 1000).toFixed(1)} s`);

    const start = collected(0);
    const samples: Sample[] = [];
    let gcMs = 0;
    let raw = { heap: start.heap, rss: start.rss };
    const sampler = setInterval(() => {
      const m = process.memoryUsage();
      raw = { heap: Math.max(raw.heap, m.heapUsed), rss: Math.max(raw.rss, m.rss) };
    }, 50);
    const t0 = performance.now();
    const res = await fetch(`${server.url}/labels/batches/${minted.mintPassports.id}.pdf`, { headers: { authorization: `Bearer ${brand.key}` } });
    let bytes = 0;
    let pages = 0;
    let tail = Buffer.alloc(0);
    for await (const chunk of res.body!) {
      bytes += (chunk as Uint8Array).length;
      const buf = Buffer.concat([tail, chunk as Uint8Array]);
      for (let at = buf.indexOf(PAGE); at >= 0; at = buf.indexOf(PAGE, at + PAGE.length)) {
        pages++;
        if ((pages * perPage) % 1000 < perPage) {
          const s = collected(Math.min(N, pages * perPage));
          gcMs += s.gcMs;
          samples.push(s);
        }
      }
      tail = buf.subarray(Math.max(0, buf.length - PAGE.length + 1));
    }
    const seconds = (performance.now() - t0) / 1000;
    clearInterval(sampler);
    const end = collected(N);
    const peak = (k: 'heap' | 'rss') => samples.reduce((p, s) => (s[k] > p[k] ? s : p), start);
    line('labels: status', res.status);
    line('labels: PDF', `${mb(bytes)} MiB, ${pages} pages of ${perPage}`);
    line('labels: rate', Math.round(N / seconds), `labels/s (${seconds.toFixed(1)} s, of which ${(gcMs / 1000).toFixed(1)} s forced collections)`);
    line('labels: live heap start / peak / end', `${mb(start.heap)} / ${mb(peak('heap').heap)} (at label ${peak('heap').labels}) / ${mb(end.heap)}`, 'MiB');
    line('labels: RSS start / peak / end', `${mb(start.rss)} / ${mb(peak('rss').rss)} (at label ${peak('rss').labels}) / ${mb(end.rss)}`, 'MiB');
    line('labels: uncollected peaks (50 ms samples): heap / RSS', `${mb(raw.heap)} / ${mb(raw.rss)}`, 'MiB');
    // Ten points across the batch, to show whether memory climbs with the labels written.
    const step = Math.max(1, Math.floor(samples.length / 10));
    line('labels: live heap / RSS every 10 %', samples.filter((_, i) => (i + 1) % step === 0).map((s) => `${s.labels}:${mb(s.heap)}/${mb(s.rss)}`).join(' '), 'MiB');
  } finally {
    await server.close();
  }
});
