/**
 * `npm run bench:labels`: a 100,000-unit batch's PDF label sheet (A4, QR) streamed over HTTP from the
 * PostgreSQL in DATABASE_URL: labels per second, and the server's peak memory (RSS and heap, sampled every
 * 50 ms in its own process) against its memory before the download, so a batch built in memory would show.
 */
import 'reflect-metadata';
import { gtinCheckDigit } from '../src/gs1/index.js';
import { benchDatabaseUrl, line, machineLine, startBenchServer, withDatabase } from './harness.js';

const N = Number(process.env.BENCH_UNITS ?? 100_000);
const base = benchDatabaseUrl('bench:labels');
const mb = (bytes: number) => Math.round(bytes / 2 ** 20);

machineLine();
await withDatabase(base, async (url) => {
  const { server, gql, org } = await startBenchServer(url, { DPP_MAX_BODY_BYTES: String(8 * 1024 * 1024) });
  try {
    const brand = await org('BRAND', ', gs1CompanyPrefixes: ["0614141"]');
    const body = '061414100009';
    const gtin14 = `0${body}${gtinCheckDigit(body)}`;
    await gql('mutation($i: ProductModelInput!) { createProductModel(input: $i) { id } }', { i: { gtin: gtin14, name: 'Label bench' } }, brand.key);
    const minted = await gql<{ mintPassports: { id: string } }>('mutation($i: MintInput!) { mintPassports(input: $i) { id } }', { i: { gtin: gtin14, quantity: N, lot: 'LB', sign: true, idempotencyKey: 'labels' } }, brand.key);
    global.gc?.();
    const before = process.memoryUsage();
    let peak = { rss: before.rss, heap: before.heapUsed };
    const sampler = setInterval(() => {
      const m = process.memoryUsage();
      peak = { rss: Math.max(peak.rss, m.rss), heap: Math.max(peak.heap, m.heapUsed) };
    }, 50);
    const t0 = performance.now();
    const res = await fetch(`${server.url}/labels/batches/${minted.mintPassports.id}.pdf`, { headers: { authorization: `Bearer ${brand.key}` } });
    let bytes = 0;
    for await (const chunk of res.body!) bytes += (chunk as Uint8Array).length;
    const seconds = (performance.now() - t0) / 1000;
    clearInterval(sampler);
    line('labels: status', res.status);
    line('labels: PDF size', mb(bytes), 'MiB');
    line('labels: rate', Math.round(N / seconds), 'labels/s');
    line('labels: server RSS before / peak', `${mb(before.rss)} / ${mb(peak.rss)}`, 'MiB');
    line('labels: server heap before / peak', `${mb(before.heapUsed)} / ${mb(peak.heap)}`, 'MiB');
  } finally {
    await server.close();
  }
});
