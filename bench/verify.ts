/**
 * `npm run bench:verify`: verification throughput and latency against the PostgreSQL in DATABASE_URL
 * (a fresh database is created beside it and dropped after). 100,000 units (BENCH_UNITS) are minted and
 * signed through the API, then `verifyScan` is driven over HTTP by autocannon (in a worker thread, so the
 * load generator does not share the server's event loop) at 50 connections for BENCH_SECONDS (30) with a
 * mix of 80% genuine signed Digital Links, 10% unknown serials of the brand's GTIN and 10% "travelling"
 * scans (a few units scanned alternately from Paris and Sydney). Beside it, in the same run, the limit of
 * this machine's PostgreSQL for the SQL one genuine scan needs: the same two statements, prepared, from
 * 8 pg connections for 10 s.
 *
 * Every request carries a RETAILER organisation key: the anonymous per-IP rate limit (at most 1,000,000
 * a minute by configuration) would otherwise throttle a single load generator on one address. A scan by
 * an organisation does the same work as an anonymous one (the client key is derived from the API key id
 * instead of the IP; `at` is not sent, so scans are stamped live); the only extra work is the API key
 * lookup. The load is spread over 10 retailer keys so unknown-serial probing is not all one client.
 */
import 'reflect-metadata';
import { randomBytes, randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import pg from 'pg';
import { gtinCheckDigit, generateSerial } from '../src/gs1/index.js';
import { factWindow, SCAN_SQL } from '../src/modules/verification/scan-sql.js';
import { line, machineLine, startBenchServer, withDatabase } from './harness.js';

const N = Number(process.env.BENCH_UNITS ?? 100_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 30);
const CONNECTIONS = 50;
const SQL_SECONDS = 10;
const SQL_CONNECTIONS = 8;
// autocannon ships no types; the little used here, typed by hand.
type AutocannonRequest = { method: string; path: string; headers?: Record<string, string>; body?: string };
type AutocannonResult = { requests: { total: number }; latency: { p50: number; p99: number }; non2xx: number; errors: number; timeouts: number; duration: number };
type Autocannon = ((opts: {
  url: string;
  connections: number;
  duration: number;
  requests: (AutocannonRequest & { setupRequest: (req: AutocannonRequest) => AutocannonRequest; onResponse: (status: number, body: string) => void })[];
}) => Promise<unknown>) & { aggregateResult: (results: unknown[], opts: { url: string; connections: number }) => AutocannonResult };
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

const SCAN = 'mutation($i: ScanInput!) { verifyScan(input: $i) { verdict reasons } }';

type LoadJob = { url: string; requests: { body: string; key: string }[]; seconds: number; connections: number };
type LoadResult = { requests: number; rps: number; p50: number; p99: number; non2xx: number; errors: number; timeouts: number; graphqlErrors: number; duration: number };

/** The worker: autocannon over the prepared request list, in order, shared by all connections. */
async function runLoad(job: LoadJob): Promise<LoadResult> {
  let next = 0;
  let graphqlErrors = 0;
  // In a worker thread autocannon returns the raw result (histograms encoded): aggregate it here.
  const raw = await autocannon({
    url: job.url,
    connections: job.connections,
    duration: job.seconds,
    requests: [
      {
        method: 'POST',
        path: '/graphql',
        setupRequest: (req) => {
          const r = job.requests[next++ % job.requests.length]!;
          return { ...req, method: 'POST', path: '/graphql', headers: { 'content-type': 'application/json', authorization: `Bearer ${r.key}` }, body: r.body };
        },
        onResponse: (_status, body) => {
          if (body.includes('"errors"')) graphqlErrors++;
        },
      },
    ],
  });
  const result = autocannon.aggregateResult([raw], { url: job.url, connections: job.connections });
  return {
    requests: result.requests.total,
    rps: result.requests.total / (result.duration || job.seconds),
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    graphqlErrors,
    duration: result.duration,
  };
}

if (!isMainThread) {
  runLoad(workerData as LoadJob).then(
    (r) => parentPort!.postMessage(r),
    (e: unknown) => {
      throw e;
    },
  );
} else {
  const base = process.env.DATABASE_URL;
  if (!base) {
    process.stderr.write('bench:verify needs DATABASE_URL (a PostgreSQL server; a fresh database is created on it)\n');
    process.exit(2);
  }
  main(base).catch((e: unknown) => {
    process.stderr.write(`${(e as Error).stack ?? e}\n`);
    process.exit(1);
  });
}

function shuffle<T>(a: T[]): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

/**
 * The SQL one genuine scan runs (verification.service.ts, the very statements of SCAN_SQL): read the unit
 * with its model, brand, batch, signing-key status and history in one snapshot, then insert the scan
 * numbered after that history; no transaction block (each statement commits on its own, as the server's
 * optimistic path does). Named prepared statements, from SQL_CONNECTIONS connections for SQL_SECONDS. The
 * API-key lookup is left out (the server caches keys), so the limit is the stricter one. Scans per second.
 */
async function sqlLimit(url: string, units: { gtin: string; serial: string }[]): Promise<number> {
  const clients = await Promise.all(
    Array.from({ length: SQL_CONNECTIONS }, async () => {
      const c = new pg.Client({ connectionString: url });
      c.on('error', () => undefined); // the database is dropped with (force) at the end
      await c.connect();
      return c;
    }),
  );
  const clientKey = randomBytes(32).toString('hex');
  let scans = 0;
  const until = performance.now() + SQL_SECONDS * 1000;
  await Promise.all(
    clients.map(async (c, ci) => {
      let i = ci;
      while (performance.now() < until) {
        const u = units[(i += SQL_CONNECTIONS) % units.length]!;
        const at = new Date();
        const p = (await c.query({ ...SCAN_SQL.readOne, values: [u.gtin, u.serial, ...factWindow(at), clientKey] })).rows[0];
        await c.query({
          ...SCAN_SQL.insertOne,
          values: [randomUUID(), p.id, p.lifetime + 1, u.gtin, u.serial, at.toISOString(), null, null, null, null, clientKey, 'GRAPHQL', 'VALID', 'AUTHENTIC', []],
        });
        scans++;
      }
    }),
  );
  await Promise.all(clients.map((c) => c.end()));
  return scans / SQL_SECONDS;
}

/** BENCH_CPU_PROFILE=<file>: a V8 CPU profile of the server's main thread during the measured load only. */
async function startProfile(): Promise<(file: string) => Promise<void>> {
  const { Session } = await import('node:inspector/promises');
  const { writeFile } = await import('node:fs/promises');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return async (file) => {
    const { profile } = await session.post('Profiler.stop');
    await writeFile(file, JSON.stringify(profile));
    session.disconnect();
  };
}

async function main(base: string) {
  machineLine();
  await withDatabase(base, async (url) => {
    const { server, gql, org } = await startBenchServer(url, { DPP_MAX_BODY_BYTES: String(8 * 1024 * 1024) });
    try {
      const brand = await org('BRAND', ', gs1CompanyPrefixes: ["0614141"]');
      const retailers = await Promise.all(Array.from({ length: 10 }, () => org('RETAILER')));
      const body = '061414100003';
      const gtin = body + gtinCheckDigit(body);
      await gql('mutation($i: ProductModelInput!) { createProductModel(input: $i) { id } }', { i: { gtin, name: 'Bench model' } }, brand.key);
      await gql('mutation { rotateSigningKey { kid } }', {}, brand.key);
      const minted = await gql<{ mintPassports: { id: string } }>('mutation($i: MintInput!) { mintPassports(input: $i) { id } }', { i: { gtin, quantity: N, lot: 'L1', idempotencyKey: 'bench' } }, brand.key);
      await gql('mutation($b: ID!) { signPassports(input: { batchId: $b }) { signed } }', { b: minted.mintPassports.id }, brand.key);

      const units: { gtin: string; serial: string; digitalLink: string }[] = [];
      let after: string | null = null;
      for (;;) {
        const page: { passports: { edges: { node: { gtin: string; serial: string; digitalLink: string } }[]; pageInfo: { hasNextPage: boolean; endCursor: string } } } = await gql(
          'query($a: String) { passports(first: 500, after: $a) { edges { node { gtin serial digitalLink } } pageInfo { hasNextPage endCursor } } }',
          { a: after },
          brand.key,
        );
        for (const e of page.passports.edges) units.push(e.node);
        if (!page.passports.pageInfo.hasNextPage) break;
        after = page.passports.pageInfo.endCursor;
      }
      if (units.length !== N || !units.every((u) => u.digitalLink.includes('sig='))) throw new Error(`expected ${N} signed units, got ${units.length}`);
      line('units minted and signed', units.length, 'units');

      // The request list: 80% genuine, 10% unknown serials, 10% travelling, interleaved at random.
      const travellers = units.slice(0, 20);
      const genuine = shuffle(units.slice(20));
      const total = Math.max(200_000, Math.min(1_000_000, SECONDS * 5_000));
      const leg = new Map<string, number>();
      const requests = shuffle(Array.from({ length: total }, (_, i) => (i % 10 < 8 ? 'g' : i % 10 === 8 ? 'u' : 't'))).map((kind, i) => {
        const key = retailers[i % retailers.length]!.key;
        if (kind === 'g') return { key, body: JSON.stringify({ query: SCAN, variables: { i: { digitalLink: genuine[i % genuine.length]!.digitalLink } } }) };
        if (kind === 'u') return { key, body: JSON.stringify({ query: SCAN, variables: { i: { gtin, serial: generateSerial() } } }) };
        const u = travellers[i % travellers.length]!;
        const n = (leg.get(u.serial) ?? 0) + 1;
        leg.set(u.serial, n);
        const where = n % 2 ? { latitude: 48.8566, longitude: 2.3522 } : { latitude: -33.8688, longitude: 151.2093 };
        return { key, body: JSON.stringify({ query: SCAN, variables: { i: { digitalLink: u.digitalLink, ...where } } }) };
      });

      // Warm up (plans, JIT) for 3 s, then measure.
      const load = (seconds: number) =>
        new Promise<LoadResult>((resolve, reject) => {
          const w = new Worker(fileURLToPath(import.meta.url), { workerData: { url: server.url, requests, seconds, connections: CONNECTIONS } satisfies LoadJob });
          w.once('message', resolve);
          w.once('error', reject);
        });
      await load(3);
      const profile = process.env.BENCH_CPU_PROFILE ? await startProfile() : undefined;
      const r = await load(SECONDS);
      if (profile) await profile(process.env.BENCH_CPU_PROFILE!);
      line('scans/s at 50 connections (HTTP verifyScan, 80/10/10 mix)', Math.round(r.rps), 'scans/s');
      line('p50', r.p50.toFixed(1), 'ms');
      line('p99', r.p99.toFixed(1), 'ms');
      line('requests', r.requests);
      line('non-2xx responses', r.non2xx);
      line('responses with GraphQL errors', r.graphqlErrors);
      line('connection errors / timeouts', `${r.errors} / ${r.timeouts}`);

      const limit = await sqlLimit(url, genuine).catch((e: unknown) => {
        process.stderr.write(`SQL limit failed: ${(e as Error).stack ?? e}\n`);
        throw e;
      });
      line(`limit: the SQL of one genuine scan, prepared, ${SQL_CONNECTIONS} pg connections`, Math.round(limit), 'scans/s');
      line('p99 target (< 50 ms)', r.p99 < 50 ? 'met' : 'not met');
      line('ratio target (>= 0.35 of the SQL limit)', r.rps / limit >= 0.35 ? 'met' : 'not met');
      process.stdout.write(`verify: ${Math.round(r.rps)} scans/s, ${(r.rps / limit).toFixed(2)} of limit (${Math.round(limit)} scans/s)\n`);
    } finally {
      await server.close();
    }
  });
}
