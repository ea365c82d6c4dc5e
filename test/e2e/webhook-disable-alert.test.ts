import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Database, openDatabase } from '../../src/db/orm.js';
import { createLogger } from '../../src/logging/logger.js';
import { startWebhookWorker, type WebhookWorker } from '../../src/modules/webhooks/webhook-worker.js';
import { CreateWebhookEndpointDocument, UpdateWebhookEndpointDocument, WebhookEndpointsDocument } from '../documents/webhooks.js';
import { liveSubscription, sleep, until, withFlippedSignature } from '../support/live.js';
import { scanKit } from '../support/scans.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { startReceiver, verifyDelivery } from '../support/webhook-receiver.js';

// An endpoint the worker disables (retries spent, or 410 Gone) raises one WEBHOOK_ENDPOINT_DISABLED alert to its
// brand: live over graphql-ws, in the fraudAlerts list, and to the brand's other endpoints; nobody else sees it.

let s: TestServer;
let receiver: Awaited<ReturnType<typeof startReceiver>>;
const clients: Client[] = [];
const silent = createLogger('silent');
let prefixNo = 0;

type Alert = { id: string; kind: string; severity: string; gtin: string | null; passportId: string | null; count: number; status: string; evidence: Record<string, unknown> | null };
const FIELDS = 'id kind severity gtin passportId count status evidence';
const SUB = `subscription { fraudAlerts { ${FIELDS} } }`;
const LIST = `query($f: AlertFilter) { fraudAlerts(filter: $f, first: 500) { edges { node { ${FIELDS} } } } }`;
const DISABLED = 'WEBHOOK_ENDPOINT_DISABLED';

const live = (key: string) => liveSubscription<Alert>(clients, { wsUrl: s.wsUrl, key, query: SUB, field: 'fraudAlerts' });
const disabledAlerts = (l: { received: Alert[] }) => l.received.filter((a) => a.kind === DISABLED);

async function list(key: string, filter?: Record<string, unknown>): Promise<Alert[]> {
  const r = await s.gql<{ fraudAlerts: { edges: { node: Alert }[] } }>(LIST, { f: filter }, key);
  if (!r.data) throw new Error(JSON.stringify(r.errors));
  return r.data.fraudAlerts.edges.map((e) => e.node);
}

async function brandWithUnit() {
  const prefix = `07${String(74000 + prefixNo++)}`;
  const org = await s.org('BRAND', { gs1CompanyPrefixes: [prefix] });
  const kit = scanKit(() => s, prefix);
  const [unit] = await kit.units(org.key, await kit.model(org.key));
  return { org, forge: () => kit.ok({ digitalLink: withFlippedSignature(unit!.link) }) };
}

async function endpoint(key: string, path: string, events: string[] = ['FRAUD_ALERT_RAISED', 'FRAUD_ALERT_UPDATED']) {
  const r = await s.gql(CreateWebhookEndpointDocument, { input: { url: receiver.url(path), events: events as never } }, key);
  if (!r.data) throw new Error(JSON.stringify(r.errors));
  return { id: r.data.createWebhookEndpoint.endpoint.id, secret: r.data.createWebhookEndpoint.secret };
}

/** Payloads of verified deliveries to `path` whose alert is of `kind`. */
const deliveredOfKind = (path: string, secret: string, kind: string) =>
  receiver.of(path).map((r) => verifyDelivery(secret, r)).filter((p) => (p.data as { kind?: string }).kind === kind);

const sql = <T>(q: string, params: unknown[] = []) => s.db.orm.em.fork().getConnection().execute<T[]>(q, params);

beforeAll(async () => {
  receiver = await startReceiver();
  // Four attempts 0.1 s apart (±20 %) instead of 75 hours.
  s = await startTestServer({ DPP_WEBHOOK_RETRY_SCHEDULE: '0.1,0.1,0.1', DPP_WEBHOOK_POLL_MS: '100', DPP_WEBHOOK_CONCURRENCY: '2' });
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.dispose()));
  await s?.stop();
  await receiver?.close();
});

describe('an endpoint disabled by the worker alerts its brand', () => {
  it('retries spent: disabled FAILING, exactly one alert, live and listed, sent to the brand’s other endpoint; other brands and authorities see nothing', async () => {
    const { org, forge } = await brandWithUnit();
    const other = await brandWithUnit();
    const regulator = await s.org('REGULATOR');
    receiver.plan('/failing', [500]);
    const failing = await endpoint(org.key, '/failing');
    const sibling = await endpoint(org.key, '/sibling', ['FRAUD_ALERT_RAISED']);
    const elsewhere = await endpoint(other.org.key, '/other-brand', ['FRAUD_ALERT_RAISED', 'FRAUD_ALERT_UPDATED']);
    const mine = live(org.key);
    const theirs = live(other.org.key);
    const authority = live(regulator.key);
    await Promise.all([mine.ready, theirs.ready, authority.ready]);

    await forge();
    expect(await until(() => disabledAlerts(mine).length > 0, 5000)).toBe(true);
    await s.services.webhooks!.idle();
    await sleep(500);

    const [alert] = disabledAlerts(mine);
    expect(disabledAlerts(mine)).toHaveLength(1);
    expect(alert).toMatchObject({ kind: DISABLED, severity: 'HIGH', status: 'OPEN', count: 1, gtin: null, passportId: null });
    expect(alert!.evidence).toMatchObject({ endpointId: failing.id, url: receiver.url('/failing'), reason: 'FAILING', attempts: 4, responseCode: 500, error: 'HTTP 500' });
    expect(alert!.evidence!.webhookId).toBe(receiver.of('/failing')[0]!.headers['webhook-id']);
    expect(await list(org.key, { kind: DISABLED })).toEqual([alert]);

    const endpoints = (await s.gql(WebhookEndpointsDocument, {}, org.key)).data!.webhookEndpoints;
    expect(endpoints.find((e) => e.id === failing.id)).toMatchObject({ enabled: false, disabledReason: 'FAILING' });
    expect(endpoints.find((e) => e.id === sibling.id)).toMatchObject({ enabled: true, disabledReason: null });
    // The disabled endpoint got its four attempts and nothing more; the sibling got the alert once, signed.
    expect(receiver.of('/failing')).toHaveLength(4);
    expect(deliveredOfKind('/failing', failing.secret, DISABLED)).toHaveLength(0);
    const told = deliveredOfKind('/sibling', sibling.secret, DISABLED);
    expect(told).toHaveLength(1);
    expect(told[0]).toMatchObject({ type: 'fraud_alert.raised', data: { id: alert!.id, gtin: null, passportId: null, evidence: { endpointId: failing.id, reason: 'FAILING' } } });

    // Nobody else: not the other brand (live, listed, webhooks), not an authority (who still sees the brand's fraud alert).
    expect(theirs.received).toHaveLength(0);
    expect(await list(other.org.key, { kind: DISABLED })).toHaveLength(0);
    expect(receiver.of('/other-brand')).toHaveLength(0);
    void elsewhere;
    expect(authority.received.map((a) => a.kind)).toEqual(['INVALID_SIGNATURE']);
    expect(await list(regulator.key, { kind: DISABLED })).toHaveLength(0);
    expect((await list(regulator.key)).map((a) => a.id)).not.toContain(alert!.id);
    // Not a scan statistic either.
    const day = 86_400_000;
    const stats = await s.gql<{ scanAnalytics: { alertsByKind: { key: string }[] } }>(
      'query($f: AnalyticsFilter!) { scanAnalytics(filter: $f) { alertsByKind { key count } } }',
      { f: { from: new Date(Date.now() - day).toISOString(), to: new Date(Date.now() + day).toISOString() } },
      org.key,
    );
    expect(stats.data!.scanAnalytics.alertsByKind.map((b) => b.key)).toEqual(['INVALID_SIGNATURE']);
  });

  it('410 Gone: disabled GONE and alerted (MEDIUM); re-enabled and gone again while the alert is open, the same alert grows', async () => {
    const { org, forge } = await brandWithUnit();
    receiver.plan('/gone', [410]);
    const gone = await endpoint(org.key, '/gone');
    const mine = live(org.key);
    await mine.ready;
    await forge();
    expect(await until(() => disabledAlerts(mine).length > 0, 5000)).toBe(true);
    const [first] = disabledAlerts(mine);
    expect(first).toMatchObject({ severity: 'MEDIUM', count: 1, evidence: { endpointId: gone.id, reason: 'GONE', attempts: 1, responseCode: 410 } });
    expect((await s.gql(WebhookEndpointsDocument, {}, org.key)).data!.webhookEndpoints[0]).toMatchObject({ enabled: false, disabledReason: 'GONE' });

    const again = await s.gql(UpdateWebhookEndpointDocument, { id: gone.id, input: { enabled: true } }, org.key);
    expect(again.data!.updateWebhookEndpoint).toMatchObject({ enabled: true, disabledReason: null });
    await forge();
    expect(await until(() => disabledAlerts(mine).length > 1, 5000)).toBe(true);
    await sleep(300);
    expect(disabledAlerts(mine).map((a) => [a.id, a.count])).toEqual([
      [first!.id, 1],
      [first!.id, 2],
    ]);
    expect(receiver.of('/gone')).toHaveLength(2);
    expect(await list(org.key, { kind: DISABLED })).toMatchObject([{ id: first!.id, count: 2 }]);
  });

  it('two workers failing the last attempts at once raise one alert', async () => {
    const { org, forge } = await brandWithUnit();
    // Both deliveries' attempts are answered together (500), so the two last ones are recorded at the same moment.
    receiver.plan('/race', [500], 0, {}, 2);
    const racing = await endpoint(org.key, '/race');
    const sibling = await endpoint(org.key, '/race-sibling', ['FRAUD_ALERT_RAISED', 'FRAUD_ALERT_UPDATED']);
    const mine = live(org.key);
    await mine.ready;
    await s.services.webhooks!.stop();
    await forge(); // fraud_alert.raised
    await forge(); // fraud_alert.updated: a second delivery to the same endpoint
    let second: Database | undefined;
    const workers: WebhookWorker[] = [];
    try {
      // Two replicas: on PostgreSQL the second has its own ORM and pool; embedded PGlite is one process, one connection.
      second = s.services.config.databaseUrl ? await openDatabase(s.services.config, silent) : undefined;
      const config = { ...s.services.config, webhooks: { ...s.services.config.webhooks, retryScheduleMs: [100] } };
      workers.push(startWebhookWorker(s.db.orm, config, s.services.masterKey, silent));
      workers.push(startWebhookWorker((second ?? s.db).orm, config, s.services.masterKey, silent));
      expect(await until(() => disabledAlerts(mine).length > 0, 8000)).toBe(true);
      await receiver.waitFor('/race', 4, 8000);
      await Promise.all(workers.map((w) => w.idle()));
      await until(() => deliveredOfKind('/race-sibling', sibling.secret, DISABLED).length > 0, 3000);
      await sleep(500);
    } finally {
      for (const w of workers) await w.stop();
      await second?.close();
      s.services.webhooks = startWebhookWorker(s.db.orm, s.services.config, s.services.masterKey, silent);
    }
    const rows = await sql<{ status: string; attempts: number }>('select status::text as status, attempts from webhook_delivery where endpoint_id = ?', [racing.id]);
    expect(rows).toEqual([{ status: 'FAILED', attempts: 2 }, { status: 'FAILED', attempts: 2 }]);
    expect(receiver.of('/race')).toHaveLength(4);
    expect(disabledAlerts(mine)).toHaveLength(1);
    expect(disabledAlerts(mine)[0]).toMatchObject({ count: 1, evidence: { endpointId: racing.id, reason: 'FAILING', attempts: 2 } });
    expect(await list(org.key, { kind: DISABLED })).toMatchObject([{ count: 1 }]);
    const [outbox] = await sql<{ n: number }>("select count(*)::int as n from outbox_message where payload->>'alertId' = ?", [disabledAlerts(mine)[0]!.id]);
    expect(outbox!.n).toBe(1);
    expect(deliveredOfKind('/race-sibling', sibling.secret, DISABLED).map((p) => p.type)).toEqual(['fraud_alert.raised']);
  });
});
