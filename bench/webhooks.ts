/**
 * `npm run bench:webhooks`: webhook delivery against the PostgreSQL in DATABASE_URL (a fresh database is
 * created beside it and dropped after). One brand with BENCH_ENDPOINTS (20) endpoints subscribed to
 * fraud_alert.raised and .updated, all on one local receiver in a worker thread that verifies every delivery
 * with the `standardwebhooks` package; then BENCH_EVENTS (10,000) alert events from forged-signature scans over
 * HTTP with the brand key (anonymous scans are rate-limited per IP; BENCH_UNITS units, 8 scans in flight: each scan is one outbox event). Latency is from the event's commit
 * (its outbox row's `created_at`, the scan statement's time) to the receiver's receipt; one clock, one machine.
 */
import 'reflect-metadata';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { isMainThread, parentPort, Worker } from 'node:worker_threads';
import pg from 'pg';
import { Webhook } from 'standardwebhooks';
import { gtinCheckDigit } from '../src/gs1/index.js';
import { benchDatabaseUrl, forgedLink, line, machineLine, percentile, startBenchServer, withDatabase } from './harness.js';

const ENDPOINTS = Number(process.env.BENCH_ENDPOINTS ?? 20);
const EVENTS = Number(process.env.BENCH_EVENTS ?? 10_000);
const UNITS = Number(process.env.BENCH_UNITS ?? 100);
const IN_FLIGHT = 8;

type FromWorker = { port: number } | { receipts: [string, number][]; failed: number };

/** The receiver: verifies each POST with its endpoint's secret (sent once the endpoints exist), answers 204, records [endpoint + webhook-id, ms]. */
function receiver() {
  let hooks: Webhook[] = [];
  const receipts: [string, number][] = [];
  let failed = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const n = Number((req.url ?? '/0').slice(1));
      try {
        hooks[n]!.verify(Buffer.concat(chunks).toString('utf8'), req.headers as Record<string, string>);
        receipts.push([`${n} ${String(req.headers['webhook-id'])}`, Date.now()]);
      } catch {
        failed++;
      }
      res.writeHead(204).end();
    });
  });
  server.listen(0, '127.0.0.1', () => parentPort!.postMessage({ port: (server.address() as AddressInfo).port } satisfies FromWorker));
  parentPort!.on('message', (m: string[] | 'collect') => {
    if (Array.isArray(m)) hooks = m.map((secret) => new Webhook(secret));
    else parentPort!.postMessage({ receipts, failed } satisfies FromWorker);
  });
}

if (!isMainThread) {
  receiver();
} else {
  main(benchDatabaseUrl('bench:webhooks')).catch((e: unknown) => {
    process.stderr.write(`${(e as Error).stack ?? e}\n`);
    process.exit(1);
  });
}


async function main(base: string) {
  machineLine();
  await withDatabase(base, async (url) => {
    const { server, config, gql } = await startBenchServer(url);
    // The receiver is on loopback, which production mode refuses: this one check is turned off for the bench.
    config.webhooks.strictUrls = false;
    let worker: Worker | undefined;
    try {
      const o = await gql<{ createOrganization: { id: string } }>('mutation { createOrganization(input: { name: "Bench", kind: BRAND, gs1CompanyPrefixes: ["0614141"] }) { id } }', {}, config.bootstrapApiKey!);
      const key = (await gql<{ createApiKey: { secret: string } }>('mutation($o: ID!) { createApiKey(organizationId: $o, label: "bench") { secret } }', { o: o.createOrganization.id }, config.bootstrapApiKey!)).createApiKey.secret;
      const body = '061414100005';
      const gtin = body + gtinCheckDigit(body);
      await gql('mutation($i: ProductModelInput!) { createProductModel(input: $i) { id } }', { i: { gtin, name: 'Bench model' } }, key);
      const m = await gql<{ mintPassports: { id: string } }>('mutation($i: MintInput!) { mintPassports(input: $i) { id } }', { i: { gtin, quantity: UNITS, idempotencyKey: 'bench' } }, key);
      await gql('mutation($b: ID!) { signPassports(input: { batchId: $b }) { signed } }', { b: m.mintPassports.id }, key);
      const page = await gql<{ passports: { edges: { node: { digitalLink: string } }[] } }>('query($n: Int) { passports(first: $n) { edges { node { digitalLink } } } }', { n: UNITS }, key);
      const links = page.passports.edges.map((e) => forgedLink(e.node.digitalLink));

      worker = new Worker(fileURLToPath(import.meta.url));
      const w = worker;
      const next = () => new Promise<FromWorker>((resolve, reject) => (w.once('message', resolve), w.once('error', reject)));
      const { port } = (await next()) as { port: number };
      const secrets: string[] = [];
      for (let i = 0; i < ENDPOINTS; i++) {
        const r = await gql<{ createWebhookEndpoint: { secret: string } }>(
          'mutation($i: WebhookEndpointInput!) { createWebhookEndpoint(input: $i) { secret } }',
          { i: { url: `http://127.0.0.1:${port}/${i}`, events: ['FRAUD_ALERT_RAISED', 'FRAUD_ALERT_UPDATED'] } },
          key,
        );
        secrets.push(r.createWebhookEndpoint.secret);
      }
      w.postMessage(secrets);
      const db = new pg.Client({ connectionString: url });
      await db.connect();
      try {
        const started = Date.now();
        let sent = 0;
        await Promise.all(
          Array.from({ length: IN_FLIGHT }, async () => {
            while (sent < EVENTS) {
              const link = links[sent++ % links.length]!;
              const r = await gql<{ verifyScan: { verdict: string } }>('mutation($i: ScanInput!) { verifyScan(input: $i) { verdict } }', { i: { digitalLink: link } }, key);
              if (r.verifyScan.verdict !== 'COUNTERFEIT') throw new Error(`unexpected verdict ${r.verifyScan.verdict}`);
            }
          }),
        );
        const scansDone = Date.now();
        const expected = (await db.query<{ n: number }>("select count(*)::int as n from outbox_message where topic = 'fraud-alert'")).rows[0]!.n * ENDPOINTS;
        let delivered = 0;
        for (;;) {
          delivered = (await db.query<{ n: number }>("select count(*)::int as n from webhook_delivery where status = 'DELIVERED'")).rows[0]!.n;
          if (delivered >= expected || Date.now() - scansDone > 900_000) break;
          await new Promise((res) => setTimeout(res, 500));
        }
        const finished = Date.now();
        w.postMessage('collect');
        const { receipts, failed } = (await next()) as { receipts: [string, number][]; failed: number };
        const commits = new Map(
          (await db.query<{ id: string; at: number }>("select id, (extract(epoch from created_at) * 1000)::float8 as at from outbox_message where topic = 'fraud-alert'")).rows.map((r) => [`msg_${r.id}`, Number(r.at)]),
        );
        const unique = new Set(receipts.map(([k]) => k));
        const deltas = receipts.map(([k, t]) => t - commits.get(k.split(' ')[1]!)!).filter((d) => Number.isFinite(d)).sort((a, b) => a - b);
        line('endpoints', ENDPOINTS);
        line('alert events', commits.size);
        line('scans', `${EVENTS} in ${((scansDone - started) / 1000).toFixed(1)} s`);
        line('deliveries', `${delivered} of ${expected} (receipts ${receipts.length}, distinct ${unique.size}, failed verification ${failed})`);
        line('delivery rate', Math.round(receipts.length / ((finished - started) / 1000)), 'deliveries/s');
        line('p50 commit to receipt', percentile(deltas, 50).toFixed(0), 'ms');
        line('p99 commit to receipt', percentile(deltas, 99).toFixed(0), 'ms');
        process.stdout.write(`webhooks: ${Math.round(receipts.length / ((finished - started) / 1000))} deliveries/s, p99 ${percentile(deltas, 99).toFixed(0)} ms commit to receipt, ${ENDPOINTS} endpoints\n`);
      } finally {
        await db.end();
      }
    } finally {
      await worker?.terminate();
      await server.close();
    }
  });
}
