import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Client } from 'graphql-ws';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gtinCheckDigit } from '../../src/gs1/index.js';
import { ALERT_CHANNEL, PASSPORT_EVENT_CHANNEL } from '../../src/modules/alerts/redis-alert-bus.js';
import { testServerUrl } from '../support/database.js';
import { liveSubscription, sleep, until, withFlippedSignature } from '../support/live.js';
import { redisFor } from '../support/requires.js';
import { startTestServer, type TestServer } from '../support/server.js';

// Skipped with one line when no Redis answers; a failure under CI (see support/requires.ts).
const REDIS = await redisFor('the Redis alert bus tests (test/e2e/alerts-redis.test.ts)');
const REDIS_URL = REDIS ?? '';
const postgres = Boolean(testServerUrl);

const clients: Client[] = [];
const servers: TestServer[] = [];
const redisClients: Redis[] = [];
afterAll(async () => {
  await Promise.all(clients.map((c) => c.dispose()));
  for (const s of servers) await s.stop();
  for (const r of redisClients) r.disconnect();
});

const SUB = 'subscription { fraudAlerts { id kind severity count } }';
type Alert = { id: string; kind: string; severity: string; count: number };

/** A live fraudAlerts subscription; `received` fills as alerts arrive, `state` records how it ended. */
const subscribe = (wsUrl: string, key: string) => liveSubscription<Alert>(clients, { wsUrl, key, query: SUB, field: 'fraudAlerts', settleMs: 150 });

const EVENTS_SUB = 'subscription($p: ID!) { passportEvents(passportId: $p) { id passportId seq type } }';
type PassportEvent = { id: string; passportId: string; seq: number; type: string };

/** A live passportEvents subscription. */
const subscribeEvents = (wsUrl: string, key: string, passportId: string) =>
  liveSubscription<PassportEvent>(clients, { wsUrl, key, query: EVENTS_SUB, variables: { p: passportId }, field: 'passportEvents', settleMs: 150 });

/** Records a custody event for one unit through `s` (a retailer of that server) and answers its id. */
async function ship(s: TestServer, retailerKey: string, passportId: string): Promise<string> {
  const r = await s.gql<{ recordCustodyEvent: { id: string } }>('mutation($i: CustodyEventInput!) { recordCustodyEvent(input: $i) { id } }', { i: { passportIds: [passportId], bizStep: 'shipping' } }, retailerKey);
  expect(r.errors).toBeUndefined();
  return r.data!.recordCustodyEvent.id;
}

const forged = withFlippedSignature;

/** A brand (with signed passports' digital links) and a second brand, created through `s`. */
async function seed(s: TestServer, prefix: string, other: string) {
  const brand = await s.org('BRAND', { gs1CompanyPrefixes: [prefix] });
  const otherBrand = await s.org('BRAND', { gs1CompanyPrefixes: [other] });
  const retailer = await s.org('RETAILER');
  const body = `${prefix}00001`.slice(0, 12);
  const gtin = body + gtinCheckDigit(body);
  await s.gql('mutation($i: ProductModelInput!) { createProductModel(input: $i) { id } }', { i: { gtin, name: 'Redis' } }, brand.key);
  const m = await s.gql<{ mintPassports: { id: string; passports: { id: string }[] } }>('mutation($i: MintInput!) { mintPassports(input: $i) { id passports { id } } }', { i: { gtin, quantity: 4, idempotencyKey: `redis-${prefix}` } }, brand.key);
  await s.gql('mutation($b: ID!) { signPassports(input: { batchId: $b }) { signed } }', { b: m.data!.mintPassports.id }, brand.key);
  const links = await Promise.all(
    m.data!.mintPassports.passports.map(async (p) => (await s.gql<{ passport: { digitalLink: string } }>('query($id: ID!) { passport(id: $id) { digitalLink } }', { id: p.id }, brand.key)).data!.passport.digitalLink),
  );
  return { brand, other: otherBrand, retailer, links, ids: m.data!.mintPassports.passports.map((p) => p.id) };
}

async function scan(s: TestServer, link: string): Promise<string> {
  const r = await s.gql<{ verifyScan: { verdict: string; alerts: { id: string }[] } }>('mutation($i: ScanInput!) { verifyScan(input: $i) { verdict alerts { id } } }', { i: { digitalLink: forged(link) } });
  expect(r.data!.verifyScan.verdict).toBe('COUNTERFEIT');
  return r.data!.verifyScan.alerts[0]!.id;
}

async function start(): Promise<TestServer> {
  const s = await startTestServer({ REDIS_URL });
  servers.push(s);
  return s;
}

describe.skipIf(!REDIS)('Redis alert bus: two in-process servers, each with its own database', () => {
  let a: TestServer;
  let c: TestServer;
  let seedA: Awaited<ReturnType<typeof seed>>;
  let seedC: Awaited<ReturnType<typeof seed>>;
  beforeAll(async () => {
    [a, c] = await Promise.all([start(), start()]);
    [seedA, seedC] = await Promise.all([seed(a, '7612345', '7654321'), seed(c, '7612345', '7654321')]);
  });

  it('delivers each server’s alert to its own subscriber exactly once (locally, and not again when it comes back from Redis), and to no other brand', async () => {
    const onA = subscribe(a.wsUrl, seedA.brand.key);
    const onC = subscribe(c.wsUrl, seedC.brand.key);
    const otherOnA = subscribe(a.wsUrl, seedA.other.key);
    await Promise.all([onA.ready, onC.ready, otherOnA.ready]);
    const idA = await scan(a, seedA.links[0]!);
    const idC = await scan(c, seedC.links[0]!);
    expect(await until(() => onA.received.length > 0 && onC.received.length > 0)).toBe(true);
    await sleep(500);
    expect(onA.received.map((x) => x.id)).toEqual([idA]);
    expect(onC.received.map((x) => x.id)).toEqual([idC]);
    expect(otherOnA.received).toHaveLength(0);
  });

  it('delivers passport events through Redis once to the unit\'s subscriber, ignoring malformed channel messages', async () => {
    const pub = new Redis(REDIS_URL);
    redisClients.push(pub);
    const unit = seedA.ids[0]!;
    const live = subscribeEvents(a.wsUrl, seedA.brand.key, unit);
    const elsewhere = subscribeEvents(c.wsUrl, seedC.brand.key, seedC.ids[0]!);
    await Promise.all([live.ready, elsewhere.ready]);
    await pub.publish(PASSPORT_EVENT_CHANNEL, 'not json {');
    await pub.publish(PASSPORT_EVENT_CHANNEL, JSON.stringify({ id: 'x', passportId: unit }));
    await pub.publish(PASSPORT_EVENT_CHANNEL, JSON.stringify({ events: [[unit, 'not-an-id']] }));
    const id = await ship(a, seedA.retailer.key, unit);
    expect(await until(() => live.received.length > 0)).toBe(true);
    await sleep(500);
    expect(live.received).toMatchObject([{ id, passportId: unit, seq: 3, type: 'CUSTODY' }]);
    expect(live.state.error).toBeUndefined();
    expect(elsewhere.received).toEqual([]);
  });

  it('ignores a malformed message on the channel and keeps delivering', async () => {
    const pub = new Redis(REDIS_URL);
    redisClients.push(pub);
    const live = subscribe(a.wsUrl, seedA.brand.key);
    await live.ready;
    await pub.publish(ALERT_CHANNEL, 'not json {');
    await pub.publish(ALERT_CHANNEL, JSON.stringify({ hello: 'world' }));
    // A well-formed message from "another replica" (no origin, or another one) is delivered from the channel.
    const foreign = { id: '00000000-0000-4000-8000-000000000001', brandId: seedA.brand.id, passportId: null, gtin: '07612345000011', kind: 'INVALID_SIGNATURE', severity: 'CRITICAL', status: 'OPEN', evidence: {}, count: 1, firstSeenAt: new Date().toISOString(), lastSeenAt: new Date().toISOString() };
    await pub.publish(ALERT_CHANNEL, JSON.stringify(foreign));
    const id = await scan(a, seedA.links[1]!);
    expect(await until(() => live.received.some((x) => x.id === id))).toBe(true);
    await sleep(300);
    expect(live.received.map((x) => x.id)).toEqual([foreign.id, id]);
  });

  it('survives Redis killing its pub/sub connections: the alert is in the query, and the subscription receives it after re-subscribe or closes cleanly', async () => {
    const admin = new Redis(REDIS_URL);
    redisClients.push(admin);
    const live = subscribe(a.wsUrl, seedA.brand.key);
    await live.ready;
    const killed = (await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub')) as number;
    expect(killed).toBeGreaterThan(0);

    const ids = new Set<string>();
    const end = Date.now() + 10_000;
    const delivered = () => live.received.some((x) => ids.has(x.id));
    while (!delivered() && !live.state.closed && Date.now() < end) {
      ids.add(await scan(a, seedA.links[2]!)); // the same forged link again: the same alert, count + 1
      await until(() => delivered() || live.state.closed, 1000);
    }
    expect(delivered() || live.state.closed).toBe(true);
    expect(live.state.error).toBeUndefined();

    const q = await a.gql<{ fraudAlerts: { edges: { node: { id: string } }[] } }>('{ fraudAlerts { edges { node { id } } } }', {}, seedA.brand.key);
    for (const id of ids) expect(q.data!.fraudAlerts.edges.map((e) => e.node.id)).toContain(id);
    // The server still answers (no crash) and, with Redis back, still delivers to a new subscriber.
    const after = subscribe(a.wsUrl, seedA.brand.key);
    await after.ready;
    const id = await scan(a, seedA.links[3]!);
    expect(await until(() => after.received.some((x) => x.id === id))).toBe(true);
  });
});

describe.skipIf(!REDIS)('Redis alert bus across processes (same PostgreSQL database)', () => {
  let a: TestServer;
  let seeded: Awaited<ReturnType<typeof seed>>;
  let child: ChildProcess | undefined;
  let portB = 0;
  let stderr = '';

  beforeAll(async () => {
    if (!postgres) return;
    a = await start();
    seeded = await seed(a, '7612345', '7654321');
    const env = {
      ...process.env,
      TEST_DATABASE_URL: '',
      DATABASE_URL: a.services.config.databaseUrl!,
      DPP_MASTER_KEY: Buffer.from(a.services.config.masterKey!).toString('hex'),
      DPP_BOOTSTRAP_API_KEY: a.platformKey,
      REDIS_URL,
      NODE_ENV: 'test',
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
    };
    child = spawn(process.execPath, ['dist/src/main.js'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stderr!.on('data', (d) => (stderr += String(d)));
    portB = await new Promise<number>((resolve, reject) => {
      createInterface({ input: child!.stdout! }).on('line', (line) => {
        const m = /"port":(\d+).*server listening/.exec(line);
        if (m) resolve(Number(m[1]));
      });
      child!.once('exit', (code) => reject(new Error(`replica B exited early (${code}): ${stderr}`)));
    });
  });
  afterAll(async () => {
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    const code = await Promise.race([exited, sleep(15_000).then(() => 'timeout' as const)]);
    if (code === 'timeout') child.kill('SIGKILL');
    expect(code).toBe(0);
  });

  it.skipIf(!postgres)('delivers an alert raised on replica A to a subscriber on replica B, exactly once, and not to another brand (PostgreSQL only: two processes cannot share an embedded PGlite)', async () => {
    const wsB = `ws://127.0.0.1:${portB}/graphql`;
    const mine = subscribe(wsB, seeded.brand.key);
    const theirs = subscribe(wsB, seeded.other.key);
    await Promise.all([mine.ready, theirs.ready]);
    const id = await scan(a, seeded.links[0]!);
    expect(await until(() => mine.received.length > 0, 5000)).toBe(true);
    await sleep(500);
    expect(mine.received.map((x) => x.id)).toEqual([id]);
    expect(mine.received[0]).toMatchObject({ kind: 'INVALID_SIGNATURE', severity: 'CRITICAL' });
    expect(theirs.received).toHaveLength(0);
  });

  it.skipIf(!postgres)('delivers a history event recorded on replica A to a passportEvents subscriber on replica B, exactly once (PostgreSQL only)', async () => {
    const wsB = `ws://127.0.0.1:${portB}/graphql`;
    const unit = seeded.ids[1]!;
    const live = subscribeEvents(wsB, seeded.brand.key, unit);
    await live.ready;
    const id = await ship(a, seeded.retailer.key, unit);
    expect(await until(() => live.received.length > 0, 5000)).toBe(true);
    await sleep(500);
    expect(live.received).toMatchObject([{ id, passportId: unit, type: 'CUSTODY' }]);
    expect(live.state.error).toBeUndefined();
  });
});
