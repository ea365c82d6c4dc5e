/**
 * `npm run bench:log`: the transparency log (issue 17) against the PostgreSQL in DATABASE_URL (a fresh
 * database is created beside it and dropped after). Three figures:
 *   1. leaves integrated per second: BENCH_LOG_LEAVES history events (default 1,000,000; synthetic rows
 *      COPYed into lifecycle_event and queued as minting queues them, plus BENCH_UNITS units minted and
 *      signed through the API) integrated by the sequencer, batch after batch, timed alone;
 *   2. time from commit to leaf index, p50/p99: BENCH_LATENCY_EVENTS single appends (reportTamper over
 *      HTTP, 20 a second) with the sequencer at its production settings (500 ms poll, 20,000 a batch);
 *   3. proof latency over HTTP at that tree size (≥ 1M leaves by default): inclusion proofs of the API-minted
 *      units' events (as their brand) and consistency proofs between random sizes, p50/p99.
 */
import 'reflect-metadata';
import { randomBytes, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { EntityManager } from '@mikro-orm/postgresql';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { consistencyRanges, leafHash, verifyConsistency, verifyInclusion } from '../src/crypto/merkle.js';
import { openCheckpoint } from '../src/crypto/signed-note.js';
import { rawQuery } from '../src/db/raw.js';
import { gtinCheckDigit } from '../src/gs1/index.js';
import { createLogger } from '../src/logging/logger.js';
import { startLogSequencer } from '../src/modules/log/sequencer.js';
import { benchDatabaseUrl, line, machineLine, percentile, startBenchServer, withDatabase } from './harness.js';

const LEAVES = Number(process.env.BENCH_LOG_LEAVES ?? 1_000_000);
const UNITS = Number(process.env.BENCH_UNITS ?? 1000);
const LATENCY_EVENTS = Number(process.env.BENCH_LATENCY_EVENTS ?? 200);
const PROOFS = Number(process.env.BENCH_PROOFS ?? 200);
const base = benchDatabaseUrl('bench:log');
const ms = (n: number) => `${n.toFixed(1)} ms`;

/** COPYs `n` synthetic history events (random units, random hashes) and queues them 10,000 ids a row, as insertEvents does. */
async function syntheticEvents(url: string, n: number): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const now = new Date().toISOString();
    const CHUNK = 10_000;
    for (let i = 0; i < n; i += CHUNK) {
      const ids = Array.from({ length: Math.min(CHUNK, n - i) }, () => randomUUID());
      const hashes = ids.map(() => randomBytes(32).toString('hex'));
      const rows = ids.map((id, j) => `${id}\t${randomUUID()}\t1\tMINTED\t${now}\t${now}\t\\N\t{"bench":true}\t\\N\t${hashes[j]}\n`);
      await client.query('begin');
      await pipeline(Readable.from(rows), client.query(copyFrom('copy lifecycle_event (id, passport_id, seq, type, occurred_at, recorded_at, actor_id, payload, prev_hash, hash) from stdin')));
      await client.query('insert into log_pending (event_ids, event_hashes) values ($1, $2)', [ids.join('\u001f'), hashes.join('\u001f')]);
      await client.query('commit');
    }
  } finally {
    await client.end();
  }
}

async function main() {
  machineLine();
  await withDatabase(base, async (url) => {
    // The server's own sequencer is off: integration is timed alone, then a production-like one is started.
    const { server, gql, org } = await startBenchServer(url, { DPP_LOG_INTERVAL_MS: '0', DPP_LOG_CHECKPOINT_MS: '0' });
    const stops: (() => Promise<void>)[] = [];
    try {
      const brand = await org('BRAND', ', gs1CompanyPrefixes: ["0614141"]');
      const body = '061414100001';
      const gtin = body + gtinCheckDigit(body);
      await gql('mutation($i: ProductModelInput!) { createProductModel(input: $i) { id } }', { i: { gtin, name: 'Bench log' } }, brand.key);
      await gql('mutation { rotateSigningKey { kid } }', {}, brand.key);
      const minted = await gql<{ mintPassports: { passports: { id: string }[] } }>(
        'mutation($i: MintInput!) { mintPassports(input: $i) { passports { id } } }',
        { i: { gtin, quantity: UNITS, sign: true, idempotencyKey: 'bench-log' } },
        brand.key,
      );
      const units = minted.mintPassports.passports.map((p) => p.id);
      await syntheticEvents(url, LEAVES);

      // 1. Integration throughput.
      const sequencer = server.services.logSequencer!;
      const t0 = performance.now();
      let integrated = 0;
      for (;;) {
        const run = await sequencer.runOnce();
        if (!run) break;
        integrated += run.integrated;
      }
      const seconds = (performance.now() - t0) / 1000;
      line('leaves', integrated, 'leaves');
      line('leaves integrated per second', Math.round(integrated / seconds), 'leaves/s');

      // 2. Commit → leaf index, with the production settings.
      const live = startLogSequencer(server.db.orm, server.services.logKey, { intervalMs: 500, checkpointMs: 2000, batch: 20_000 }, createLogger('warn'));
      stops.push(() => live.stop());
      const em = () => server.db.orm.em.fork() as EntityManager;
      const committed = new Map<string, number>();
      const latencies: number[] = [];
      let polling = true;
      const poller = (async () => {
        while (polling || committed.size > 0) {
          if (committed.size > 0) {
            const found = await rawQuery<{ event_id: string }>(em(), 'select event_id from log_leaf where event_id = any($1::uuid[])', [[...committed.keys()]]);
            const at = performance.now();
            for (const f of found) {
              latencies.push(at - committed.get(f.event_id)!);
              committed.delete(f.event_id);
            }
          }
          await new Promise((r) => setTimeout(r, 5));
        }
      })();
      for (let i = 0; i < LATENCY_EVENTS; i++) {
        const r = await gql<{ reportTamper: { id: string } }>(
          'mutation($i: TamperReportInput!) { reportTamper(input: $i) { id } }',
          { i: { passportId: units[i % units.length], description: `bench ${i}` } },
          brand.key,
        );
        committed.set(r.reportTamper.id, performance.now());
        await new Promise((res) => setTimeout(res, 50));
      }
      polling = false;
      await poller;
      latencies.sort((a, b) => a - b);
      line('commit to leaf index p50', ms(percentile(latencies, 50)));
      line('commit to leaf index p99', ms(percentile(latencies, 99)));

      // 3. Proof latency at the tree's size now (wait for the checkpoint that covers everything).
      let note = '';
      for (let i = 0; i < 100; i++) {
        note = await (await fetch(`${server.url}/log/checkpoint`)).text();
        const [{ n }] = (await rawQuery<{ n: string }>(em(), 'select count(*) as n from lifecycle_event', [])) as [{ n: string }];
        if (Number(note.split('\n')[1]) >= Number(n)) break;
        await new Promise((r) => setTimeout(r, 500));
      }
      const checkpoint = openCheckpoint(note, server.services.logKey);
      line('tree size for proofs', checkpoint.treeSize, 'leaves');
      const real = await rawQuery<{ id: string; hash: string }>(em(), 'select id, hash from lifecycle_event where passport_id = any($1::uuid[])', [units]);
      const inclusion: number[] = [];
      for (let i = 0; i < PROOFS; i++) {
        const e = real[Math.floor(Math.random() * real.length)]!;
        const t = performance.now();
        const res = await fetch(`${server.url}/log/proof/inclusion?eventId=${e.id}&treeSize=${checkpoint.treeSize}`, { headers: { authorization: `Bearer ${brand.key}` } });
        const p = (await res.json()) as { leafIndex: number; hashes: string[] };
        inclusion.push(performance.now() - t);
        if (i < 5 && !verifyInclusion(p.leafIndex, checkpoint.treeSize, leafHash(Buffer.from(e.hash, 'hex')), p.hashes.map((h) => Buffer.from(h, 'base64')), checkpoint.rootHash)) {
          throw new Error('an inclusion proof did not verify');
        }
      }
      const consistency: number[] = [];
      for (let i = 0; i < PROOFS; i++) {
        const from = 1 + Math.floor(Math.random() * (checkpoint.treeSize - 1));
        const t = performance.now();
        const res = await fetch(`${server.url}/log/proof/consistency?from=${from}&to=${checkpoint.treeSize}`);
        const p = (await res.json()) as { hashes: string[] };
        consistency.push(performance.now() - t);
        if (p.hashes.length !== consistencyRanges(from, checkpoint.treeSize).length) throw new Error('a consistency proof has the wrong length');
      }
      // One consistency proof checked end to end against two signed roots.
      const older = await rawQuery<{ tree_size: string; root_hash: Buffer }>(em(), 'select tree_size, root_hash from log_checkpoint where tree_size < $1 order by tree_size desc limit 1', [checkpoint.treeSize]);
      if (older[0]) {
        const p = (await (await fetch(`${server.url}/log/proof/consistency?from=${older[0].tree_size}&to=${checkpoint.treeSize}`)).json()) as { hashes: string[] };
        if (!verifyConsistency(Number(older[0].tree_size), checkpoint.treeSize, older[0].root_hash, checkpoint.rootHash, p.hashes.map((h) => Buffer.from(h, 'base64')))) {
          throw new Error('a consistency proof did not verify');
        }
      }
      inclusion.sort((a, b) => a - b);
      consistency.sort((a, b) => a - b);
      line('inclusion proof (HTTP) p50', ms(percentile(inclusion, 50)));
      line('inclusion proof (HTTP) p99', ms(percentile(inclusion, 99)));
      line('consistency proof (HTTP) p50', ms(percentile(consistency, 50)));
      line('consistency proof (HTTP) p99', ms(percentile(consistency, 99)));
      process.stdout.write(`log: ${Math.round(integrated / seconds)} leaves/s, commit to leaf p99 ${ms(percentile(latencies, 99))}, inclusion proof p99 ${ms(percentile(inclusion, 99))} at ${checkpoint.treeSize} leaves\n`);
    } finally {
      for (const stop of stops) await stop();
      await server.close();
    }
  });
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
