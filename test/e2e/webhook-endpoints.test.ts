import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type GqlResponse, type TestServer } from '../support/server.js';
import {
  CreateWebhookEndpointDocument,
  DeleteWebhookEndpointDocument,
  RotateWebhookSecretDocument,
  UpdateWebhookEndpointDocument,
  WebhookEndpointsDocument,
} from '../documents/webhooks.js';

// Webhook endpoints: a brand manages its own, nobody else sees or touches them; secrets are shown once.

let s: TestServer;
let brand: { id: string; key: string };
let otherBrand: { id: string; key: string };
let retailer: { id: string; key: string };

const code = (r: GqlResponse<unknown>) => r.errors?.[0]?.extensions?.code;
const input = (url = 'https://hooks.example.com/dpp') => ({ url, events: ['FRAUD_ALERT_RAISED' as const], description: 'ERP' });

async function create(key: string, url?: string) {
  const r = await s.gql(CreateWebhookEndpointDocument, { input: input(url) }, key);
  if (!r.data) throw new Error(JSON.stringify(r.errors));
  return r.data.createWebhookEndpoint;
}

beforeAll(async () => {
  s = await startTestServer();
  brand = await s.org('BRAND');
  otherBrand = await s.org('BRAND');
  retailer = await s.org('RETAILER');
});
afterAll(async () => {
  await s?.stop();
});

describe('webhook endpoints', () => {
  it('creates an endpoint and answers a whsec_ secret of 32 random bytes once; the table holds it sealed', async () => {
    const { endpoint, secret } = await create(brand.key);
    expect(endpoint).toMatchObject({ url: 'https://hooks.example.com/dpp', events: ['FRAUD_ALERT_RAISED'], enabled: true, description: 'ERP' });
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(Buffer.from(secret.slice(6), 'base64')).toHaveLength(32);
    const rows = (await s.db.orm.em.fork().getConnection().execute('select * from webhook_endpoint where id = ?', [endpoint.id])) as Record<string, unknown>[];
    expect(JSON.stringify(rows)).not.toContain(secret.slice(6));
    const listed = await s.gql(WebhookEndpointsDocument, {}, brand.key);
    expect(listed.data?.webhookEndpoints.map((e) => e.id)).toContain(endpoint.id);
    expect(JSON.stringify(listed)).not.toContain(secret);
  });

  it('updates, pauses and deletes an endpoint', async () => {
    const { endpoint } = await create(brand.key);
    const u = await s.gql(UpdateWebhookEndpointDocument, { id: endpoint.id, input: { events: ['FRAUD_ALERT_UPDATED', 'WARRANTY_CLAIM_FILED'], enabled: false, url: 'http://example.org/x' } }, brand.key);
    expect(u.data?.updateWebhookEndpoint).toMatchObject({ events: ['FRAUD_ALERT_UPDATED', 'WARRANTY_CLAIM_FILED'], enabled: false, url: 'http://example.org/x' });
    expect((await s.gql(DeleteWebhookEndpointDocument, { id: endpoint.id }, brand.key)).data?.deleteWebhookEndpoint).toBe(true);
    const listed = await s.gql(WebhookEndpointsDocument, {}, brand.key);
    expect(listed.data?.webhookEndpoints.map((e) => e.id)).not.toContain(endpoint.id);
    expect(code(await s.gql(DeleteWebhookEndpointDocument, { id: endpoint.id }, brand.key))).toBe('NOT_FOUND');
  });

  it('rotates the secret: a new one, the previous one still valid for the grace period', async () => {
    const { endpoint, secret } = await create(brand.key);
    const r = await s.gql(RotateWebhookSecretDocument, { id: endpoint.id }, brand.key);
    const rotated = r.data!.rotateWebhookSecret;
    expect(rotated.secret).toMatch(/^whsec_/);
    expect(rotated.secret).not.toBe(secret);
    const until = new Date(rotated.endpoint.previousSecretExpiresAt as string).getTime();
    expect(until - Date.now()).toBeGreaterThan(23 * 3600_000);
  });

  it('refuses bad input with BAD_USER_INPUT and writes nothing', async () => {
    const before = (await s.gql(WebhookEndpointsDocument, {}, brand.key)).data!.webhookEndpoints.length;
    for (const bad of [{ ...input(), url: 'not a url' }, { ...input(), url: 'ftp://example.com/' }, { ...input(), url: 'https://u:p@example.com/' }, { ...input(), events: [] }]) {
      expect(code(await s.gql(CreateWebhookEndpointDocument, { input: bad as never }, brand.key))).toBe('BAD_USER_INPUT');
    }
    expect((await s.gql(WebhookEndpointsDocument, {}, brand.key)).data!.webhookEndpoints).toHaveLength(before);
  });

  it('another brand, a retailer and anonymous callers see and manage nothing', async () => {
    const { endpoint } = await create(brand.key);
    const theirs = (await s.gql(WebhookEndpointsDocument, {}, otherBrand.key)).data!.webhookEndpoints;
    expect(theirs.map((e) => e.id)).not.toContain(endpoint.id);
    expect(code(await s.gql(UpdateWebhookEndpointDocument, { id: endpoint.id, input: { url: 'https://evil.example/' } }, otherBrand.key))).toBe('NOT_FOUND');
    expect(code(await s.gql(RotateWebhookSecretDocument, { id: endpoint.id }, otherBrand.key))).toBe('NOT_FOUND');
    expect(code(await s.gql(DeleteWebhookEndpointDocument, { id: endpoint.id }, otherBrand.key))).toBe('NOT_FOUND');
    expect(code(await s.gql(WebhookEndpointsDocument, {}, retailer.key))).toBe('FORBIDDEN');
    expect(code(await s.gql(CreateWebhookEndpointDocument, { input: input() }, retailer.key))).toBe('FORBIDDEN');
    expect(code(await s.gql(RotateWebhookSecretDocument, { id: endpoint.id }, retailer.key))).toBe('FORBIDDEN');
    expect(code(await s.gql(WebhookEndpointsDocument, {}))).toBe('UNAUTHENTICATED');
    expect(code(await s.gql(DeleteWebhookEndpointDocument, { id: endpoint.id }))).toBe('UNAUTHENTICATED');
    const mine = (await s.gql(WebhookEndpointsDocument, {}, brand.key)).data!.webhookEndpoints.find((e) => e.id === endpoint.id);
    expect(mine).toMatchObject({ url: 'https://hooks.example.com/dpp', enabled: true });
  });
});

describe('in production', () => {
  let prod: TestServer;
  let prodBrand: { id: string; key: string };
  beforeAll(async () => {
    prod = await startTestServer({ NODE_ENV: 'production' });
    prodBrand = await prod.org('BRAND');
  });
  afterAll(async () => {
    await prod?.stop();
  });

  it('refuses plain http and loopback, link-local and private addresses', async () => {
    const refused = [
      'http://hooks.example.com/',
      'https://127.0.0.1/',
      'https://localhost:8443/',
      'https://10.1.2.3/',
      'https://192.168.0.10/',
      'https://172.16.5.4/',
      'https://169.254.169.254/latest/meta-data',
      'https://[::1]/',
      'https://[fe80::1]/',
      'https://[fd00::1]/',
      'https://[::ffff:127.0.0.1]/',
      'https://0.0.0.0/',
    ];
    for (const url of refused) {
      const r = await prod.gql(CreateWebhookEndpointDocument, { input: input(url) }, prodBrand.key);
      expect(code(r), url).toBe('BAD_USER_INPUT');
    }
    const ok = await prod.gql(CreateWebhookEndpointDocument, { input: input('https://hooks.example.com/dpp') }, prodBrand.key);
    expect(ok.errors).toBeUndefined();
    const moved = await prod.gql(UpdateWebhookEndpointDocument, { id: ok.data!.createWebhookEndpoint.endpoint.id, input: { url: 'https://10.0.0.1/' } }, prodBrand.key);
    expect(code(moved)).toBe('BAD_USER_INPUT');
    expect((await prod.gql(WebhookEndpointsDocument, {}, prodBrand.key)).data!.webhookEndpoints).toHaveLength(1);
  });
});
