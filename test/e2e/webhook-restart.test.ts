import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromBase64Url, toBase64Url } from '../../src/crypto/ed25519.js';
import { type Database, openDatabase } from '../../src/db/orm.js';
import { createLogger } from '../../src/logging/logger.js';
import { startWebhookWorker, type WebhookWorker } from '../../src/modules/webhooks/webhook-worker.js';
import { scanKit, type ScanUnit } from '../support/scans.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { startReceiver, verifyDelivery } from '../support/webhook-receiver.js';
import { CreateWebhookEndpointDocument } from '../documents/webhooks.js';

// Deliveries survive the worker's death (pending rows, and an attempt cut off mid-flight) and are never sent
// by two replicas at once. On PostgreSQL the second replica has its own ORM and connection pool.

let s: TestServer;
let receiver: Awaited<ReturnType<typeof startReceiver>>;
const silent = createLogger('silent');

async function setup(prefix: string, path: string) {
  const org = await s.org('BRAND', { gs1CompanyPrefixes: [prefix] });
  const kit = scanKit(() => s, prefix);
  const [unit] = await kit.units(org.key, await kit.model(org.key));
  const r = await s.gql(CreateWebhookEndpointDocument, { input: { url: receiver.url(path), events: ['FRAUD_ALERT_RAISED', 'FRAUD_ALERT_UPDATED'] } }, org.key);
  return { org, kit, unit: unit!, endpoint: r.data!.createWebhookEndpoint.endpoint.id, secret: r.data!.createWebhookEndpoint.secret };
}

async function forgedScan(kit: ReturnType<typeof scanKit>, u: ScanUnit) {
  const sig = new URL(u.link).searchParams.get('sig')!;
  const bytes = fromBase64Url(sig);
  bytes[7]! ^= 1;
  await kit.ok({ digitalLink: u.link.replace(sig, toBase64Url(bytes)) });
}

const sql = <T>(q: string, params: unknown[] = []) => s.db.orm.em.fork().getConnection().execute<T[]>(q, params);

beforeAll(async () => {
  receiver = await startReceiver();
  s = await startTestServer({ DPP_WEBHOOK_RETRY_SCHEDULE: '0.2,0.2,0.2', DPP_WEBHOOK_POLL_MS: '100', DPP_WEBHOOK_CONCURRENCY: '3', DPP_METRICS_TOKEN: 'webhook-metrics-token-0123456789' });
});
afterAll(async () => {
  await s?.stop();
  await receiver?.close();
});

describe('webhook delivery across restarts and replicas', () => {
  it('delivers after a restart what was pending, and an attempt cut off mid-flight, each once', async () => {
    const { kit, unit, endpoint, secret } = await setup('0772001', '/restart');
    await s.services.webhooks!.stop(); // the worker "dies": deliveries are queued but nobody sends them
    for (let i = 0; i < 4; i++) await forgedScan(kit, unit);
    await new Promise((r) => setTimeout(r, 400));
    expect(receiver.of('/restart')).toHaveLength(0);
    const pending = await sql<{ id: string }>("select id from webhook_delivery where endpoint_id = ? and status = 'PENDING' order by id", [endpoint]);
    expect(pending).toHaveLength(4);
    const scrape = await (await fetch(`${s.url}/metrics`, { headers: { authorization: 'Bearer webhook-metrics-token-0123456789' } })).text();
    expect(scrape).toContain(`dpp_webhook_queue_depth{endpoint="${endpoint}"} 4`);
    // One of them was being sent when the process was killed: claimed (SENDING, one attempt) and its claim now expired.
    await sql("update webhook_delivery set status = 'SENDING', attempts = 1, next_attempt_at = now() - interval '1 second' where id = ?", [pending[0]!.id]);

    const worker = startWebhookWorker(s.db.orm, s.services.config, s.services.masterKey, silent);
    s.services.webhooks = worker;
    const got = await receiver.waitFor('/restart', 4);
    await worker.idle();
    await new Promise((r) => setTimeout(r, 400));
    expect(receiver.of('/restart')).toHaveLength(4);
    expect(new Set(got.map((r) => r.headers['webhook-id'])).size).toBe(4);
    for (const r of got) verifyDelivery(secret, r);
    const rows = await sql<{ status: string; attempts: number }>('select status::text as status, attempts from webhook_delivery where endpoint_id = ? order by id', [endpoint]);
    expect(rows).toEqual([{ status: 'DELIVERED', attempts: 2 }, ...Array(3).fill({ status: 'DELIVERED', attempts: 1 })]);
  });

  it('two replicas on one database attempt each delivery once', async () => {
    const { kit, unit, endpoint } = await setup('0772002', '/replicas');
    await s.services.webhooks!.stop();
    for (let i = 0; i < 12; i++) await forgedScan(kit, unit);
    let second: Database | undefined;
    const workers: WebhookWorker[] = [];
    try {
      // A second replica: its own ORM on PostgreSQL; on embedded PGlite (one process by nature) a second worker on the same one.
      second = s.services.config.databaseUrl ? await openDatabase(s.services.config, silent) : undefined;
      workers.push(startWebhookWorker(s.db.orm, s.services.config, s.services.masterKey, silent));
      workers.push(startWebhookWorker((second ?? s.db).orm, s.services.config, s.services.masterKey, silent));
      const got = await receiver.waitFor('/replicas', 12);
      await Promise.all(workers.map((w) => w.idle()));
      await new Promise((r) => setTimeout(r, 400));
      expect(receiver.of('/replicas')).toHaveLength(12);
      expect(new Set(got.map((r) => r.headers['webhook-id'])).size).toBe(12);
      expect(receiver.maxInFlight('/replicas')).toBeLessThanOrEqual(3);
      const [row] = await sql<{ attempts: number }>('select sum(attempts)::int as attempts from webhook_delivery where endpoint_id = ?', [endpoint]);
      expect(row!.attempts).toBe(12);
    } finally {
      for (const w of workers) await w.stop();
      await second?.close();
      s.services.webhooks = startWebhookWorker(s.db.orm, s.services.config, s.services.masterKey, silent);
    }
  });
});
