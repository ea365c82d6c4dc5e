/**
 * `npm run bench:passport`: read-path benchmark against the PostgreSQL in DATABASE_URL (a fresh database
 * is created beside it and dropped after). One passport with 1,000 history events and 20 service records,
 * and a page of 100 passports with their models and last event: SQL statements per request (counted at
 * the pg driver) and p50/p99 latency at 50 concurrent clients.
 */
import 'reflect-metadata';
import pg from 'pg';
import { gtinCheckDigit } from '../src/gs1/index.js';
import { benchDatabaseUrl, line, machineLine, percentile, startBenchServer, withDatabase } from './harness.js';

const base = benchDatabaseUrl('bench:passport');
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 50);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);

// Every statement any pg client sends in this process (the ORM's pool, Kysely raw queries, bulk writes).
let statements = 0;
const originalQuery = pg.Client.prototype.query;
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  statements++;
  return (originalQuery as (...a: unknown[]) => unknown).apply(this, args);
} as typeof pg.Client.prototype.query;

async function main() {
  machineLine();
  await withDatabase(base, async (url) => {
    const { server, gql, org } = await startBenchServer(url);
    try {
      const brand = await org('BRAND', ', gs1CompanyPrefixes: ["0614141"]');
      const retailer = await org('RETAILER');
      const partner = await org('SERVICE_PARTNER');
      const body = '061414100002';
      const gtin = body + gtinCheckDigit(body);
      await gql('mutation($i: ProductModelInput!) { createProductModel(input: $i) { id } }', { i: { gtin, name: 'Bench model', dpp: { materials: [{ name: 'steel', massPercent: 80 }] } } }, brand.key);
      const mint = async (quantity: number, key: string) => {
        const m = await gql<{ mintPassports: { id: string; passports: { id: string }[] } }>('mutation($i: MintInput!) { mintPassports(input: $i) { id passports { id } } }', { i: { gtin, quantity, idempotencyKey: key } }, brand.key);
        await gql('mutation($b: ID!) { signPassports(input: { batchId: $b }) { signed } }', { b: m.mintPassports.id }, brand.key);
        return m.mintPassports.passports.map((p) => p.id);
      };
      const [unit] = await mint(1, 'one');
      for (let i = 0; i < 978; i++) {
        await gql('mutation($i: CustodyEventInput!) { recordCustodyEvent(input: $i) { seq } }', { i: { passportIds: [unit], bizStep: i % 2 ? 'receiving' : 'shipping', readPoint: 'urn:epc:id:sgln:0614141.07346.1234' } }, retailer.key);
      }
      await gql('mutation($p: ID!) { authoriseServicePartner(partnerId: $p) { id } }', { p: partner.id }, brand.key);
      for (let i = 0; i < 20; i++) {
        await gql('mutation($i: ServiceRecordInput!) { recordService(input: $i) { id } }', { i: { passportId: unit, workDone: `service ${i}` } }, partner.key);
      }
      await mint(100, 'page');

      const DETAIL = `query($id: ID!) { passport(id: $id) { id serial status model { name dpp }
        history(first: 1000) { edges { node { seq type hash prevHash } } pageInfo { hasNextPage } }
        serviceRecords { id workDone parts } } }`;
      const PAGE = `query { passports(first: 100) { edges { node { id serial status model { name } lastEvent { type seq hash } } } pageInfo { hasNextPage } } }`;
      const PAGE10 = PAGE.replace('first: 100', 'first: 10');
      const detail = await gql<{ passport: { history: { edges: unknown[] }; serviceRecords: unknown[] } }>(DETAIL, { id: unit }, brand.key);
      line('history events in the detail response', detail.passport.history.edges.length);
      line('service records in the detail response', detail.passport.serviceRecords.length);

      const count = async (query: string, variables: unknown) => {
        await gql(query, variables, brand.key); // warm caches (schema, plans), not counted
        const before = statements;
        await gql(query, variables, brand.key);
        return statements - before;
      };
      const detailStatements = await count(DETAIL, { id: unit });
      const pageStatements = await count(PAGE, {});
      const page10Statements = await count(PAGE10, {});
      line('statements: passport with 1,000 events and 20 service records', detailStatements);
      line('statements: page of 100 passports with model and last event', pageStatements);
      line('statements: page of 10 passports with model and last event', page10Statements);

      const load = async (name: string, query: string, variables: unknown) => {
        const latencies: number[] = [];
        const until = performance.now() + SECONDS * 1000;
        const body = JSON.stringify({ query, variables });
        await Promise.all(
          Array.from({ length: CLIENTS }, async () => {
            while (performance.now() < until) {
              const t0 = performance.now();
              const res = await fetch(`${server.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${brand.key}` }, body });
              await res.arrayBuffer();
              if (!res.ok) throw new Error(`HTTP ${res.status}`);
              latencies.push(performance.now() - t0);
            }
          }),
        );
        latencies.sort((a, b) => a - b);
        line(`${name}: requests/s at ${CLIENTS} clients`, Math.round(latencies.length / SECONDS));
        line(`${name}: p50`, percentile(latencies, 50).toFixed(1), 'ms');
        line(`${name}: p99`, percentile(latencies, 99).toFixed(1), 'ms');
        return { p99: percentile(latencies, 99), rps: latencies.length / SECONDS };
      };
      const d = await load('detail', DETAIL, { id: unit });
      await load('page', PAGE, {});
      process.stdout.write(`passport: ${d.p99.toFixed(1)} ms p99 at ${CLIENTS} clients, ${detailStatements} statements per request\n`);
    } finally {
      await server.close();
    }
  });
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
