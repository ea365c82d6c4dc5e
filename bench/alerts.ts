/**
 * `npm run bench:alerts`: alert delivery latency against the PostgreSQL in DATABASE_URL (a fresh database
 * is created beside it and dropped after). One brand, BENCH_SUBSCRIBERS (500) graphql-ws clients subscribed
 * to `fraudAlerts` with the brand key (opened in batches of 50; they run in a worker thread so parsing
 * 25,000 messages does not share the server's event loop), then BENCH_SCANS (50) forged-signature scans of
 * distinct units over HTTP, 100 ms apart. For each scan, the time from its response to each subscriber's
 * receipt of that alert id (clocks: performance.timeOrigin + performance.now() in both threads).
 */
import 'reflect-metadata';
import { fileURLToPath } from 'node:url';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { gtinCheckDigit } from '../src/gs1/index.js';
import { benchDatabaseUrl, forgedLink, line, machineLine, percentile, startBenchServer, withDatabase } from './harness.js';

const SUBSCRIBERS = Number(process.env.BENCH_SUBSCRIBERS ?? 500);
const SCANS = Number(process.env.BENCH_SCANS ?? 50);
const SUB = 'subscription { fraudAlerts { id kind } }';
const now = () => performance.timeOrigin + performance.now();

type Job = { wsUrl: string; key: string; subscribers: number };
/** Messages between the main thread and the subscriber worker. */
type FromWorker = { ready: number; failed: number } | { receipts: [string, number][] };

/** The worker: SUBSCRIBERS clients, each recording [alert id, receipt time]; reports on 'collect'. */
async function subscribers(job: Job) {
  const receipts: [string, number][] = [];
  const clients: Client[] = [];
  let failed = 0;
  for (let i = 0; i < job.subscribers; i += 50) {
    await Promise.all(
      Array.from({ length: Math.min(50, job.subscribers - i) }, () => {
        const client = createClient({ url: job.wsUrl, webSocketImpl: WebSocket, retryAttempts: 0, lazy: false, connectionParams: { authorization: `Bearer ${job.key}` } });
        clients.push(client);
        return new Promise<void>((resolve) => {
          client.on('connected', () => resolve());
          client.on('error', () => {
            failed++;
            resolve();
          });
          client.subscribe(
            { query: SUB },
            {
              next: (r) => {
                const a = (r.data as { fraudAlerts?: { id: string } } | undefined)?.fraudAlerts;
                if (a) receipts.push([a.id, now()]);
              },
              error: () => undefined,
              complete: () => undefined,
            },
          );
        });
      }),
    );
  }
  // The subscribe message follows the connection ack; give the server a moment to register them all.
  await new Promise((r) => setTimeout(r, 1000));
  parentPort!.postMessage({ ready: clients.length - failed, failed } satisfies FromWorker);
  parentPort!.once('message', async () => {
    parentPort!.postMessage({ receipts } satisfies FromWorker);
    await Promise.all(clients.map((c) => c.dispose()));
    process.exit(0);
  });
}

if (!isMainThread) {
  void subscribers(workerData as Job);
} else {
  main(benchDatabaseUrl('bench:alerts')).catch((e: unknown) => {
    process.stderr.write(`${(e as Error).stack ?? e}\n`);
    process.exit(1);
  });
}


async function main(base: string) {
  machineLine();
  await withDatabase(base, async (url) => {
    const { server, config, gql } = await startBenchServer(url);
    let worker: Worker | undefined;
    try {
      const o = await gql<{ createOrganization: { id: string } }>('mutation { createOrganization(input: { name: "Bench", kind: BRAND, gs1CompanyPrefixes: ["0614141"] }) { id } }', {}, config.bootstrapApiKey!);
      const key = (await gql<{ createApiKey: { secret: string } }>('mutation($o: ID!) { createApiKey(organizationId: $o, label: "bench") { secret } }', { o: o.createOrganization.id }, config.bootstrapApiKey!)).createApiKey.secret;
      const body = '061414100004';
      const gtin = body + gtinCheckDigit(body);
      await gql('mutation($i: ProductModelInput!) { createProductModel(input: $i) { id } }', { i: { gtin, name: 'Bench model' } }, key);
      const m = await gql<{ mintPassports: { id: string } }>('mutation($i: MintInput!) { mintPassports(input: $i) { id } }', { i: { gtin, quantity: SCANS, idempotencyKey: 'bench' } }, key);
      await gql('mutation($b: ID!) { signPassports(input: { batchId: $b }) { signed } }', { b: m.mintPassports.id }, key);
      const page = await gql<{ passports: { edges: { node: { digitalLink: string } }[] } }>('query($n: Int) { passports(first: $n) { edges { node { digitalLink } } } }', { n: SCANS }, key);
      const links = page.passports.edges.map((e) => e.node.digitalLink);

      const wsUrl = server.url.replace(/^http/, 'ws') + '/graphql';
      worker = new Worker(fileURLToPath(import.meta.url), { workerData: { wsUrl, key, subscribers: SUBSCRIBERS } satisfies Job });
      const w = worker;
      const fromWorker = () => new Promise<FromWorker>((resolve, reject) => {
        w.once('message', resolve);
        w.once('error', reject);
      });
      const ready = (await fromWorker()) as { ready: number; failed: number };
      line('subscribers connected', ready.ready);
      if (ready.failed) line('subscribers refused or failed', ready.failed);

      // Forged scans (anonymous, as a counterfeiter's would be), 100 ms apart; the response time of each.
      const responded = new Map<string, number>();
      for (const link of links) {
        const r = await gql<{ verifyScan: { verdict: string; alerts: { id: string }[] } }>('mutation($i: ScanInput!) { verifyScan(input: $i) { verdict alerts { id } } }', { i: { digitalLink: forgedLink(link) } });
        const t = now();
        const alert = r.verifyScan.alerts[0];
        if (r.verifyScan.verdict !== 'COUNTERFEIT' || !alert) throw new Error(`unexpected scan result ${JSON.stringify(r)}`);
        responded.set(alert.id, t);
        await new Promise((res) => setTimeout(res, 100));
      }
      await new Promise((res) => setTimeout(res, 2000)); // stragglers
      const collected = fromWorker();
      w.postMessage('collect');
      const { receipts } = (await collected) as { receipts: [string, number][] };

      const deltas = receipts.filter(([id]) => responded.has(id)).map(([id, t]) => t - responded.get(id)!).sort((a, b) => a - b);
      const expected = ready.ready * SCANS;
      line('alerts raised', responded.size);
      line('deliveries', `${deltas.length} of ${expected}`);
      line('delivered before the scan response arrived', deltas.filter((d) => d < 0).length);
      line('p50', percentile(deltas, 50).toFixed(1), 'ms');
      line('p99', percentile(deltas, 99).toFixed(1), 'ms');
      line('max', deltas[deltas.length - 1]!.toFixed(1), 'ms');
      line('p99 target (< 100 ms)', percentile(deltas, 99) < 100 && deltas.length === expected ? 'met' : 'not met');
      process.stdout.write(`alerts: p99 ${percentile(deltas, 99).toFixed(1)} ms to ${ready.ready} subscribers\n`);
    } finally {
      await worker?.terminate();
      await server.close();
    }
  });
}
