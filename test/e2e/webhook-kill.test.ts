import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { afterAll, describe, expect, it } from 'vitest';
import { gtinCheckDigit } from '../../src/gs1/index.js';
import { createTestDatabase, type TestDatabase, testServerUrl } from '../support/database.js';
import { sleep, until, withFlippedSignature } from '../support/live.js';
import { type ServerProcess, spawnServer } from '../support/server-process.js';

// Deliveries survive a real kill -9 of the server process: pending ones, one whose answer the kill cut off after
// the receiver had processed it, and one the receiver held unprocessed. After a restart every event is
// processed once by a receiver that deduplicates on webhook-id, and every webhook-id is acknowledged (2xx) once.

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

type Mode = 'down' | 'hold' | 'up';
type Receipt = { id: string; body: string; outcome: '503' | 'processed, answer held' | 'held, unprocessed' | '200' | '200 duplicate' | 'invalid' };

/**
 * A receiver as a brand would write one: verify with standardwebhooks, process each webhook-id once (a store
 * of ids seen), answer 2xx to repeats. `down`: 503 before processing. `hold`: the first new event is
 * processed and its answer never sent (the ack is lost), the second is held before processing, the rest
 * 503. `up`: process and answer 200.
 */
async function startDedupReceiver() {
  let secret = '';
  let mode: Mode = 'down';
  const receipts: Receipt[] = [];
  const processed = new Map<string, string>(); // webhook-id → body, what the brand's system acted on
  const acks = new Map<string, number>(); // webhook-id → 2xx answers sent
  const held: { id: string; res: ServerResponse }[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const id = String(req.headers['webhook-id'] ?? '');
      const note = (outcome: Receipt['outcome']) => receipts.push({ id, body, outcome });
      try {
        new Webhook(secret).verify(body, { 'webhook-id': id, 'webhook-timestamp': String(req.headers['webhook-timestamp']), 'webhook-signature': String(req.headers['webhook-signature']) });
      } catch {
        note('invalid');
        return void res.writeHead(400).end();
      }
      const ack = (outcome: Receipt['outcome']) => {
        note(outcome);
        acks.set(id, (acks.get(id) ?? 0) + 1);
        res.writeHead(200).end();
      };
      if (processed.has(id)) return ack('200 duplicate');
      if (mode === 'down' || (mode === 'hold' && held.length >= 2)) {
        note('503');
        return void res.writeHead(503).end();
      }
      if (mode === 'hold') {
        if (held.length === 0) processed.set(id, body);
        note(held.length === 0 ? 'processed, answer held' : 'held, unprocessed');
        held.push({ id, res });
        return;
      }
      processed.set(id, body);
      ack('200');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`,
    receipts,
    processed,
    acks,
    held,
    setSecret: (s: string) => (secret = s),
    setMode: (m: Mode) => (mode = m),
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function gql<T = any>(base: string, query: string, variables: Record<string, unknown> = {}, key?: string): Promise<T> {
  const res = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: T; errors?: unknown };
  if (!body.data || body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

const DELIVERIES = 'query($e: ID!) { webhookDeliveries(endpointId: $e, first: 50) { edges { node { webhookId status attempts } } } }';
type Delivery = { webhookId: string; status: string; attempts: number };
const deliveries = async (base: string, key: string, endpointId: string): Promise<Delivery[]> =>
  (await gql(base, DELIVERIES, { e: endpointId }, key)).webhookDeliveries.edges.map((e: { node: Delivery }) => e.node);

describe('webhook deliveries across a kill -9 of the server process', () => {
  it(`delivers everything after a restart, each webhook-id acknowledged once (${testServerUrl ? 'PostgreSQL' : 'embedded PGlite data dir'})`, async () => {
    const receiver = await startDedupReceiver();
    cleanups.push(() => receiver.close());
    let db: TestDatabase | undefined;
    let dataDir: string | undefined;
    if (testServerUrl) {
      db = await createTestDatabase();
      cleanups.push(() => db!.drop());
    } else {
      dataDir = mkdtempSync(join(tmpdir(), 'dpp-kill-'));
      cleanups.push(() => rmSync(dataDir!, { recursive: true, force: true }));
    }
    const platformKey = `dpp_${randomBytes(24).toString('base64url')}`;
    const env = {
      ...(db ? db.env : { DPP_DATA_DIR: dataDir! }),
      NODE_ENV: 'test',
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      DPP_BOOTSTRAP_API_KEY: platformKey,
      DPP_MASTER_KEY: randomBytes(32).toString('hex'),
      // A retry every 0.5 s (±20 %), 30 of them: deliveries stay pending through the outage instead of failing.
      DPP_WEBHOOK_RETRY_SCHEDULE: Array(30).fill('0.5').join(','),
      DPP_WEBHOOK_POLL_MS: '100',
      DPP_WEBHOOK_CONCURRENCY: '4',
      // Long enough that the held attempts are still in flight when the process dies; their claims then expire 30 s after this.
      DPP_WEBHOOK_TIMEOUT_MS: '4000',
      DPP_RATE_LIMIT_ANON_PER_MINUTE: '100000',
    };
    let server: ServerProcess | undefined = await spawnServer(env);
    cleanups.push(() => void server?.stop());
    const a = server.url;

    // A brand, a signed unit, an endpoint.
    const prefix = '0775001';
    const { createOrganization: brand } = await gql(a, 'mutation($i: OrganizationInput!) { createOrganization(input: $i) { id } }', { i: { name: 'Kill', kind: 'BRAND', gs1CompanyPrefixes: [prefix] } }, platformKey);
    const key = (await gql(a, 'mutation($o: ID!) { createApiKey(organizationId: $o, label: "t") { secret } }', { o: brand.id }, platformKey)).createApiKey.secret as string;
    const body = `${prefix}00001`;
    const gtin = body + gtinCheckDigit(body);
    await gql(a, 'mutation($i: ProductModelInput!) { createProductModel(input: $i) { id } }', { i: { gtin, name: 'Kill' } }, key);
    const minted = await gql(a, 'mutation($i: MintInput!) { mintPassports(input: $i) { id passports { id } } }', { i: { gtin, quantity: 1, idempotencyKey: 'kill' } }, key);
    await gql(a, 'mutation($b: ID!) { signPassports(input: { batchId: $b }) { signed } }', { b: minted.mintPassports.id }, key);
    const link = (await gql(a, 'query($id: ID!) { passport(id: $id) { digitalLink } }', { id: minted.mintPassports.passports[0].id }, key)).passport.digitalLink as string;
    const created = await gql(a, 'mutation($i: WebhookEndpointInput!) { createWebhookEndpoint(input: $i) { secret endpoint { id } } }', { i: { url: receiver.url, events: ['FRAUD_ALERT_RAISED', 'FRAUD_ALERT_UPDATED'] } }, key);
    const endpointId = created.createWebhookEndpoint.endpoint.id as string;
    receiver.setSecret(created.createWebhookEndpoint.secret);

    // The receiver is down; six forged scans raise an alert and grow it five times: six events, six deliveries.
    const EVENTS = 6;
    for (let i = 0; i < EVENTS; i++) {
      const v = await gql(a, 'mutation($i: ScanInput!) { verifyScan(input: $i) { verdict } }', { i: { digitalLink: withFlippedSignature(link) } });
      expect(v.verifyScan.verdict).toBe('COUNTERFEIT');
    }
    expect(await until(() => new Set(receiver.receipts.map((r) => r.id)).size === EVENTS, 15_000)).toBe(true);
    // Then it answers again, slowly: one event is processed but its answer is held, one is held unprocessed.
    receiver.setMode('hold');
    expect(await until(() => receiver.held.length === 2, 15_000)).toBe(true);
    const before = await deliveries(a, key, endpointId);
    expect(before).toHaveLength(EVENTS);
    // The held two are in flight (SENDING); the others wait for a retry or are between a 503 and its record.
    for (const h of receiver.held) expect(before.find((d) => d.webhookId === h.id)?.status).toBe('SENDING');
    expect(before.every((d) => d.status === 'PENDING' || d.status === 'SENDING')).toBe(true);

    // kill -9 while two attempts are in flight and four deliveries wait for their retry.
    server.child.kill('SIGKILL');
    expect(await server.exited).toEqual({ code: null, signal: 'SIGKILL' });
    const [ackLost, unprocessed] = receiver.held.map((h) => h.id);
    for (const h of receiver.held) h.res.destroy();
    receiver.setMode('up');
    const receiptsAtKill = receiver.receipts.length;

    // The same database (the PGlite directory reopened by the new process), nothing else carried over.
    server = await spawnServer(env);
    const b = server.url;
    const done = await until(() => receiver.processed.size === EVENTS, 90_000);
    let after: Delivery[] = [];
    for (let i = 0; i < 50; i++) {
      after = await deliveries(b, key, endpointId);
      if (after.every((d) => d.status === 'DELIVERED')) break;
      await sleep(200);
    }
    await sleep(1000); // anything sent twice would arrive now
    expect(done).toBe(true);

    // Every event arrived and was processed once; every webhook-id was acknowledged exactly once.
    const ids = after.map((d) => d.webhookId).sort();
    expect(after.map((d) => d.status)).toEqual(Array(EVENTS).fill('DELIVERED'));
    expect(new Set(ids).size).toBe(EVENTS);
    expect([...receiver.processed.keys()].sort()).toEqual(ids);
    expect([...receiver.acks.entries()].sort()).toEqual(ids.map((id) => [id, 1]));
    expect(receiver.receipts.filter((r) => r.outcome === 'invalid')).toHaveLength(0);
    // The same body under the same webhook-id on every attempt, before and after the kill.
    for (const id of ids) expect(new Set(receiver.receipts.filter((r) => r.id === id).map((r) => r.body)).size).toBe(1);
    // The one duplicate at-least-once allows: the event processed before the kill, whose 2xx never reached the server.
    // The receiver's store recognised it; the held, unprocessed one was simply sent again and processed then.
    expect(receiver.receipts.filter((r) => r.outcome === '200 duplicate').map((r) => r.id)).toEqual([ackLost]);
    const sinceKill = receiver.receipts.slice(receiptsAtKill);
    expect(sinceKill.map((r) => r.id).sort()).toEqual(ids);
    expect(sinceKill.find((r) => r.id === unprocessed)?.outcome).toBe('200');
    // Raw receipts: the 503s of the outage, two held attempts, then one receipt per event after the restart.
    expect(receiver.receipts.filter((r) => r.outcome === '503').length + 2 + EVENTS).toBe(receiver.receipts.length);

    expect(await server.stop()).toEqual({ code: 0, signal: null });
    server = undefined;
  }, 240_000);
});
