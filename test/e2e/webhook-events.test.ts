import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileWarrantyClaimDocument } from '../documents/ownership.js';
import { CreateWebhookEndpointDocument } from '../documents/webhooks.js';
import { assertionFor, brandWithModel, claimUnit, registerOwner, sell } from '../support/owners.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { type Received, startReceiver, verifyDelivery } from '../support/webhook-receiver.js';

// passport.event_appended and warranty_claim.filed, delivered to the unit's brand only, verified with standardwebhooks.

let s: TestServer;
let receiver: Awaited<ReturnType<typeof startReceiver>>;

async function endpoint(key: string, path: string, events: string[]) {
  const r = await s.gql(CreateWebhookEndpointDocument, { input: { url: receiver.url(path), events: events as never } }, key);
  if (!r.data) throw new Error(JSON.stringify(r.errors));
  return r.data.createWebhookEndpoint.secret;
}

/** Waits until a delivery to `path` verifies and matches `pick`; answers its payload. */
async function waitForEvent(path: string, secret: string, pick: (p: { type: string; data: Record<string, unknown> }) => boolean, timeoutMs = 3000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const hit = receiver.of(path).map((r: Received) => verifyDelivery(secret, r)).find(pick);
    if (hit) return hit;
    if (Date.now() > deadline) throw new Error(`${path}: no matching delivery among ${receiver.of(path).map((r) => r.body).join('\n')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  receiver = await startReceiver();
  s = await startTestServer({ DPP_WEBHOOK_POLL_MS: '100' });
});
afterAll(async () => {
  await s?.stop();
  await receiver?.close();
});

describe('webhook event types', () => {
  it('sends passport.event_appended and warranty_claim.filed to the unit brand, and nothing to others', async () => {
    const brand = await brandWithModel(s, { prefix: '0773001', item: '99101' });
    const other = await brandWithModel(s, { prefix: '0773002', item: '99102' });
    const [unit] = await brand.mint(1);
    const secret = await endpoint(brand.key, '/events', ['PASSPORT_EVENT_APPENDED', 'WARRANTY_CLAIM_FILED']);
    const alertsOnly = await endpoint(brand.key, '/alerts-only', ['FRAUD_ALERT_RAISED']);
    const otherSecret = await endpoint(other.key, '/other', ['PASSPORT_EVENT_APPENDED', 'WARRANTY_CLAIM_FILED']);

    await sell(s, unit!.id, new Date(Date.now() - 30 * 86_400_000));
    const custody = await waitForEvent('/events', secret, (p) => p.type === 'passport.event_appended' && p.data.type === 'CUSTODY');
    expect(custody.data).toMatchObject({ passportId: unit!.id, payload: { bizStep: 'retail_selling' } });
    expect(custody.data.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(typeof custody.data.seq).toBe('number');

    const owner = await registerOwner(s);
    await claimUnit(s, owner, unit!);
    const { assertion } = await assertionFor(s, owner, 'WARRANTY_CLAIM', unit!.id);
    const filed = await s.gql(FileWarrantyClaimDocument, { input: { passportId: unit!.id, issue: 'The screen flickers' }, assertion }, owner.token);
    const claim = filed.data!.fileWarrantyClaim;
    const got = await waitForEvent('/events', secret, (p) => p.type === 'warranty_claim.filed');
    expect(got.data).toMatchObject({ id: claim.id, passportId: unit!.id, status: 'OPEN', issue: 'The screen flickers', riskScore: claim.riskScore, reasons: claim.reasons });
    // The claimant does not see the signals; the brand does, and so does its webhook.
    expect(claim.signals).toBeNull();
    expect(got.data.signals).toEqual(expect.arrayContaining([expect.objectContaining({ code: 'RECENT_OWNERSHIP' })]));
    await waitForEvent('/events', secret, (p) => p.type === 'passport.event_appended' && p.data.type === 'WARRANTY_CLAIMED');

    await s.services.webhooks!.idle();
    const ids = receiver.of('/events').map((r) => r.headers['webhook-id']);
    expect(new Set(ids).size).toBe(ids.length);
    expect(receiver.of('/events').filter((r) => JSON.parse(r.body).type === 'warranty_claim.filed')).toHaveLength(1);
    expect(receiver.of('/alerts-only')).toHaveLength(0);
    expect(receiver.of('/other')).toHaveLength(0);
    void alertsOnly;
    void otherSecret;
  });
});
