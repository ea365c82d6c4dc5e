import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { fromBase64Url, toBase64Url } from '../../src/crypto/ed25519.js';
import { scanKit, type ScanUnit } from '../support/scans.js';
import { startTestServer, type GqlResponse, type TestServer } from '../support/server.js';
import { type Received, startReceiver, verifyDelivery } from '../support/webhook-receiver.js';
import { newId } from '../../src/crypto/random.js';
import { enqueueWebhookEvents } from '../../src/modules/webhooks/webhook-enqueue.js';
import type { EntityManager } from '@mikro-orm/postgresql';
import {
  CreateWebhookEndpointDocument,
  DeleteWebhookEndpointDocument,
  UpdateWebhookEndpointDocument,
  RedeliverWebhookDocument,
  RotateWebhookSecretDocument,
  WebhookDeliveriesDocument,
  WebhookEndpointsDocument,
} from '../documents/webhooks.js';

// Deliveries to a real local receiver that verifies each one with the `standardwebhooks` package.

let s: TestServer;
let receiver: Awaited<ReturnType<typeof startReceiver>>;
let prefixNo = 0;

const code = (r: GqlResponse<unknown>) => r.errors?.[0]?.extensions?.code;
const METRICS_TOKEN = 'webhook-metrics-token-0123456789';

/** The value of one series in /metrics, or undefined. */
async function metric(series: string): Promise<number | undefined> {
  const text = await (await fetch(`${s.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** A brand with its own company prefix, a signed unit, and a way to forge scans of it. */
async function brandWithUnit() {
  const prefix = `07${String(71000 + prefixNo++)}`;
  const org = await s.org('BRAND', { gs1CompanyPrefixes: [prefix] });
  const kit = scanKit(() => s, prefix);
  const gtin = await kit.model(org.key);
  const [unit] = await kit.units(org.key, gtin);
  return { org, kit, unit: unit! };
}

/** A scan of the unit with one signature byte flipped: COUNTERFEIT, and an INVALID_SIGNATURE alert (raised, then grown). */
async function forgedScan(kit: ReturnType<typeof scanKit>, u: ScanUnit) {
  const sig = new URL(u.link).searchParams.get('sig')!;
  const bytes = fromBase64Url(sig);
  bytes[3]! ^= 1;
  return kit.ok({ digitalLink: u.link.replace(sig, toBase64Url(bytes)) });
}

async function endpoint(key: string, path: string, events: string[] = ['FRAUD_ALERT_RAISED', 'FRAUD_ALERT_UPDATED']) {
  const r = await s.gql(CreateWebhookEndpointDocument, { input: { url: receiver.url(path), events: events as never } }, key);
  if (!r.data) throw new Error(JSON.stringify(r.errors));
  return { id: r.data.createWebhookEndpoint.endpoint.id, secret: r.data.createWebhookEndpoint.secret };
}

/** The endpoint's deliveries, once the worker has recorded the attempts the receiver already answered. */
async function deliveries(key: string, endpointId: string) {
  await s.services.webhooks!.idle();
  const r = await s.gql(WebhookDeliveriesDocument, { endpointId, first: 50 }, key);
  if (!r.data) throw new Error(JSON.stringify(r.errors));
  return r.data.webhookDeliveries.edges.map((e) => e.node);
}

beforeAll(async () => {
  receiver = await startReceiver();
  // Retries after 0.2 s each (±20 % jitter) instead of the 75-hour production schedule.
  s = await startTestServer({ DPP_WEBHOOK_RETRY_SCHEDULE: '0.2,0.2,0.2,0.2', DPP_WEBHOOK_POLL_MS: '100', DPP_WEBHOOK_CONCURRENCY: '2', DPP_METRICS_TOKEN: METRICS_TOKEN });
});
afterAll(async () => {
  await s?.stop();
  await receiver?.close();
});

describe('webhook delivery', () => {
  it('a forged scan: one fraud_alert.raised within a second, verified by standardwebhooks; a repeat: fraud_alert.updated', async () => {
    const { org, kit, unit } = await brandWithUnit();
    const other = await brandWithUnit();
    const ep = await endpoint(org.key, '/raised');
    const bystander = await endpoint(other.org.key, '/bystander');
    const scannedAt = Date.now();
    const v = await forgedScan(kit, unit);
    expect(v.verdict).toBe('COUNTERFEIT');
    const [got] = await receiver.waitFor('/raised', 1, 1000);
    expect(got!.at - scannedAt).toBeLessThan(1000);
    const payload = verifyDelivery(ep.secret, got!);
    expect(payload.type).toBe('fraud_alert.raised');
    expect(payload.data).toMatchObject({ kind: 'INVALID_SIGNATURE', severity: 'CRITICAL', status: 'OPEN', passportId: unit.id, gtin: unit.gtin, count: 1 });
    expect(new Date(payload.timestamp).toISOString()).toBe(payload.timestamp);
    expect(got!.headers['webhook-id']).toMatch(/^msg_[0-9a-f-]{36}$/);
    expect(() => verifyDelivery(bystander.secret, got!)).toThrow(WebhookVerificationError);

    await forgedScan(kit, unit);
    const both = await receiver.waitFor('/raised', 2, 1000);
    const updated = verifyDelivery(ep.secret, both[1]!);
    expect(updated).toMatchObject({ type: 'fraud_alert.updated', data: { id: payload.data.id, count: 2 } });
    expect(both[1]!.headers['webhook-id']).not.toBe(got!.headers['webhook-id']);
    await new Promise((r) => setTimeout(r, 300));
    expect(receiver.of('/raised')).toHaveLength(2);
    expect(receiver.of('/bystander')).toHaveLength(0);
    const list = await deliveries(org.key, ep.id);
    expect(list.map((d) => [d.eventType, d.status, d.attempts, d.responseCode])).toEqual([
      ['fraud_alert.updated', 'DELIVERED', 1, 200],
      ['fraud_alert.raised', 'DELIVERED', 1, 200],
    ]);
    expect(list[0]!.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('only the event types an endpoint asked for', async () => {
    const { org, kit, unit } = await brandWithUnit();
    await endpoint(org.key, '/updates-only', ['FRAUD_ALERT_UPDATED']);
    await forgedScan(kit, unit);
    await forgedScan(kit, unit);
    const [got] = await receiver.waitFor('/updates-only', 1);
    expect(JSON.parse(got!.body).type).toBe('fraud_alert.updated');
    await new Promise((r) => setTimeout(r, 300));
    expect(receiver.of('/updates-only')).toHaveLength(1);
  });

  it('a receiver failing three times gets the event on the fourth attempt with the same webhook-id', async () => {
    const { org, kit, unit } = await brandWithUnit();
    receiver.plan('/flaky', [500, 503, 302, 200]);
    const ep = await endpoint(org.key, '/flaky');
    await forgedScan(kit, unit);
    const got = await receiver.waitFor('/flaky', 4, 5000);
    expect(new Set(got.map((r) => r.headers['webhook-id'])).size).toBe(1);
    for (const r of got) expect(verifyDelivery(ep.secret, r).type).toBe('fraud_alert.raised');
    expect(new Set(got.map((r) => r.body)).size).toBe(1);
    // The redirect was not followed: nothing reached its target, and no fifth request came.
    const [d] = await deliveries(org.key, ep.id);
    expect(d).toMatchObject({ status: 'DELIVERED', attempts: 4, responseCode: 200, error: null, nextAttemptAt: null });
    expect(d!.deliveredAt).not.toBeNull();
    expect(await metric(`dpp_webhook_attempts_total{endpoint="${ep.id}",outcome="retry"}`)).toBe(3);
    expect(await metric(`dpp_webhook_attempts_total{endpoint="${ep.id}",outcome="delivered"}`)).toBe(1);
    expect(await metric(`dpp_webhook_attempt_duration_seconds_count{endpoint="${ep.id}"}`)).toBe(4);
    expect(await metric(`dpp_webhook_queue_depth{endpoint="${ep.id}"}`)).toBeUndefined();
  });

  it('a receiver unreachable for three attempts (connection dropped, no answer) gets the event on the fourth, same webhook-id', async () => {
    const { org, kit, unit } = await brandWithUnit();
    // Its own server: the first three connections are reset before any answer, as with a receiver that is down.
    const got: Received[] = [];
    let connections = 0;
    const down = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => (got.push({ path: req.url ?? '/', headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() }), res.writeHead(204).end()));
    });
    down.on('connection', (socket) => void (++connections <= 3 && socket.destroy()));
    await new Promise<void>((resolve) => down.listen(0, '127.0.0.1', resolve));
    try {
      const r = await s.gql(CreateWebhookEndpointDocument, { input: { url: `http://127.0.0.1:${(down.address() as AddressInfo).port}/down`, events: ['FRAUD_ALERT_RAISED'] } }, org.key);
      const ep = { id: r.data!.createWebhookEndpoint.endpoint.id, secret: r.data!.createWebhookEndpoint.secret };
      await forgedScan(kit, unit);
      for (let i = 0; i < 100 && got.length === 0; i++) await new Promise((res) => setTimeout(res, 50));
      const [d] = await deliveries(org.key, ep.id);
      expect(connections).toBe(4);
      expect(got).toHaveLength(1);
      // One delivery row, four attempts: the fourth carried the webhook-id every attempt had.
      expect(d).toMatchObject({ status: 'DELIVERED', attempts: 4, responseCode: 204, webhookId: got[0]!.headers['webhook-id'] });
      expect(verifyDelivery(ep.secret, got[0]!).type).toBe('fraud_alert.raised');
    } finally {
      down.closeAllConnections();
      await new Promise<void>((resolve) => down.close(() => resolve()));
    }
  });

  it("a 429 with Retry-After waits as long as the receiver asked, not the schedule's 0.2 s", async () => {
    const { org, kit, unit } = await brandWithUnit();
    receiver.plan('/busy', [429, 200], 0, { 'retry-after': '1' });
    const ep = await endpoint(org.key, '/busy');
    await forgedScan(kit, unit);
    const [first, second] = await receiver.waitFor('/busy', 2, 5000);
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(950);
    expect(second!.headers['webhook-id']).toBe(first!.headers['webhook-id']);
    const [d] = await deliveries(org.key, ep.id);
    expect(d).toMatchObject({ status: 'DELIVERED', attempts: 2 });
  });

  it('during a rotation every delivery carries two v1 signatures, one under each secret', async () => {
    const { org, kit, unit } = await brandWithUnit();
    const ep = await endpoint(org.key, '/rotated');
    const rotated = (await s.gql(RotateWebhookSecretDocument, { id: ep.id }, org.key)).data!.rotateWebhookSecret.secret;
    await forgedScan(kit, unit);
    const [got] = await receiver.waitFor('/rotated', 1);
    const signatures = String(got!.headers['webhook-signature']).split(' ');
    expect(signatures).toHaveLength(2);
    for (const sig of signatures) expect(sig).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    expect(verifyDelivery(rotated, got!).type).toBe('fraud_alert.raised');
    expect(verifyDelivery(ep.secret, got!).type).toBe('fraud_alert.raised');
    // Each signature is one secret's: with only the new one, the old secret no longer verifies.
    const onlyNew = { ...got!, headers: { ...got!.headers, 'webhook-signature': signatures[0] } };
    expect(verifyDelivery(rotated, onlyNew).type).toBe('fraud_alert.raised');
    expect(() => verifyDelivery(ep.secret, onlyNew)).toThrow(WebhookVerificationError);
    expect(() => new Webhook(`whsec_${Buffer.alloc(32, 7).toString('base64')}`).verify(got!.body, got!.headers as Record<string, string>)).toThrow(WebhookVerificationError);
  });

  it('410 Gone disables the endpoint and fails the delivery without retries', async () => {
    const { org, kit, unit } = await brandWithUnit();
    receiver.plan('/gone', [410]);
    const ep = await endpoint(org.key, '/gone');
    await forgedScan(kit, unit);
    await receiver.waitFor('/gone', 1);
    const [d] = await deliveries(org.key, ep.id);
    expect(d).toMatchObject({ status: 'FAILED', attempts: 1, responseCode: 410 });
    expect(await metric(`dpp_webhook_attempts_total{endpoint="${ep.id}",outcome="gone"}`)).toBe(1);
    const mine = (await s.gql(WebhookEndpointsDocument, {}, org.key)).data!.webhookEndpoints.find((e) => e.id === ep.id);
    expect(mine?.enabled).toBe(false);
    await forgedScan(kit, unit);
    await new Promise((r) => setTimeout(r, 500));
    expect(receiver.of('/gone')).toHaveLength(1);
  });

  it('gives up after the schedule: FAILED with the last status, and the endpoint disabled', async () => {
    const { org, kit, unit } = await brandWithUnit();
    receiver.plan('/down', [500]);
    const ep = await endpoint(org.key, '/down');
    await forgedScan(kit, unit);
    await receiver.waitFor('/down', 5, 5000);
    const [d] = await deliveries(org.key, ep.id);
    expect(d).toMatchObject({ status: 'FAILED', attempts: 5, responseCode: 500, error: 'HTTP 500', nextAttemptAt: null });
    expect(await metric(`dpp_webhook_attempts_total{endpoint="${ep.id}",outcome="failed"}`)).toBe(1);
    const mine = (await s.gql(UpdateWebhookEndpointDocument, { id: ep.id, input: {} }, org.key)).data!.updateWebhookEndpoint;
    expect(mine).toMatchObject({ enabled: false, disabledReason: 'FAILING' });
  });

  it('holds at most DPP_WEBHOOK_CONCURRENCY attempts in flight per endpoint', async () => {
    const { org, kit, unit } = await brandWithUnit();
    receiver.plan('/slow', [200], 250);
    await endpoint(org.key, '/slow');
    for (let i = 0; i < 6; i++) await forgedScan(kit, unit);
    await receiver.waitFor('/slow', 6, 5000);
    expect(receiver.maxInFlight('/slow')).toBe(2);
  });

  it('redelivers an event with the same webhook-id; another brand can neither list nor redeliver', async () => {
    const { org, kit, unit } = await brandWithUnit();
    const stranger = await s.org('BRAND');
    const retailer = await s.org('RETAILER');
    const ep = await endpoint(org.key, '/again');
    await forgedScan(kit, unit);
    const [first] = await receiver.waitFor('/again', 1);
    const [d] = await deliveries(org.key, ep.id);
    expect(code(await s.gql(WebhookDeliveriesDocument, { endpointId: ep.id }, stranger.key))).toBe('NOT_FOUND');
    expect(code(await s.gql(WebhookDeliveriesDocument, { endpointId: ep.id }, retailer.key))).toBe('FORBIDDEN');
    expect(code(await s.gql(WebhookDeliveriesDocument, { endpointId: ep.id }))).toBe('UNAUTHENTICATED');
    expect(code(await s.gql(RedeliverWebhookDocument, { deliveryId: d!.id }, stranger.key))).toBe('NOT_FOUND');
    const again = await s.gql(RedeliverWebhookDocument, { deliveryId: d!.id }, org.key);
    expect(again.data?.redeliverWebhook).toMatchObject({ webhookId: d!.webhookId, status: 'PENDING' });
    const both = await receiver.waitFor('/again', 2);
    expect(both[1]!.headers['webhook-id']).toBe(first!.headers['webhook-id']);
    expect(verifyDelivery(ep.secret, both[1]!).data).toEqual(verifyDelivery(ep.secret, first!).data);
    expect((await deliveries(org.key, ep.id)).map((x) => x.status)).toEqual(['DELIVERED', 'DELIVERED']);
  });

  it("one endpoint's backlog does not starve another endpoint", async () => {
    const { org } = await brandWithUnit();
    receiver.plan('/backlog', [200], 1500);
    const slow = await endpoint(org.key, '/backlog', ['FRAUD_ALERT_RAISED']);
    // 200 events queued straight into the delivery table (as the relay would), far more than one claim takes.
    const events = (n: number) => Array.from({ length: n }, (_, i) => ({ eventId: newId(), brandId: org.id, type: 'FRAUD_ALERT_RAISED' as const, occurredAt: new Date().toISOString(), data: { n: i } }));
    await (s.db.orm.em.fork() as EntityManager).transactional((tx) => enqueueWebhookEvents(tx as EntityManager, events(200)));
    await receiver.waitFor('/backlog', 2, 2000).catch(() => undefined);
    const fresh = await endpoint(org.key, '/fresh', ['FRAUD_ALERT_RAISED']);
    const queuedAt = Date.now();
    await (s.db.orm.em.fork() as EntityManager).transactional((tx) => enqueueWebhookEvents(tx as EntityManager, events(1)));
    const [got] = await receiver.waitFor('/fresh', 1, 1000);
    expect(got!.at - queuedAt).toBeLessThan(1000);
    verifyDelivery(fresh.secret, got!);
    expect(receiver.maxInFlight('/backlog')).toBe(2);
    expect((await s.gql(DeleteWebhookEndpointDocument, { id: slow.id }, org.key)).data?.deleteWebhookEndpoint).toBe(true);
  });
});
