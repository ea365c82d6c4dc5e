import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { createAgents, postWebhook } from '../../src/modules/webhooks/webhook-http.js';
import { newWebhookSecret, secretBox, signatureHeader } from '../../src/modules/webhooks/webhook-secret.js';
import { checkWebhookUrl, isPublicAddress } from '../../src/modules/webhooks/webhook-url.js';
import { retryDelayMs } from '../../src/modules/webhooks/webhook-worker.js';
import { startReceiver } from '../support/webhook-receiver.js';

let receiver: Awaited<ReturnType<typeof startReceiver>>;
const agents = createAgents();
beforeAll(async () => {
  receiver = await startReceiver();
});
afterAll(async () => {
  agents.destroy();
  await receiver.close();
});

describe('webhook addresses', () => {
  it('classifies public and non-public addresses', () => {
    for (const a of ['93.184.215.14', '2606:2800:21f:cb07:6820:80da:af6b:8b2c', '8.8.8.8']) expect(isPublicAddress(a), a).toBe(true);
    for (const a of ['127.0.0.1', '10.0.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::1', '::', 'fe80::1', 'fc00::1', '::ffff:10.0.0.1', '224.0.0.1', 'not an ip']) {
      expect(isPublicAddress(a), a).toBe(false);
    }
  });

  it('accepts http and private hosts outside production only', () => {
    expect(checkWebhookUrl('http://127.0.0.1:9000/x', false)).toBe('http://127.0.0.1:9000/x');
    expect(() => checkWebhookUrl('http://127.0.0.1:9000/x', true)).toThrow(/https only/);
    expect(() => checkWebhookUrl('https://[::1]/x', true)).toThrow(/private/);
    expect(checkWebhookUrl('https://hooks.example.com/x', true)).toBe('https://hooks.example.com/x');
  });

  it('in strict mode refuses to connect to a literal private address or a name resolving to one; never follows a redirect', async () => {
    const opts = { connectTimeoutMs: 1000, timeoutMs: 2000, strict: true };
    const literal = await postWebhook(agents, receiver.url('/strict'), {}, '{}', opts);
    expect(literal).toMatchObject({ status: null, error: expect.stringMatching(/not a public address/) });
    const byName = await postWebhook(agents, receiver.url('/strict').replace('127.0.0.1', 'localhost'), {}, '{}', opts);
    expect(byName).toMatchObject({ status: null, error: expect.stringMatching(/non-public address/) });
    expect(receiver.of('/strict')).toHaveLength(0);
    receiver.plan('/redirect', [307]);
    const moved = await postWebhook(agents, receiver.url('/redirect'), {}, '{}', { ...opts, strict: false });
    expect(moved.status).toBe(307);
    expect(receiver.received.filter((r) => r.path === '/elsewhere')).toHaveLength(0);
  });

  it('times out a receiver that does not answer', async () => {
    receiver.plan('/hang', [200], 1500);
    const r = await postWebhook(agents, receiver.url('/hang'), {}, '{}', { connectTimeoutMs: 500, timeoutMs: 300, strict: false });
    expect(r).toMatchObject({ status: null, error: expect.stringMatching(/timed out after 300 ms/) });
    expect(r.durationMs).toBeLessThan(1000);
  });
});

describe('webhook secrets and retries', () => {
  it('seals secrets and signs so that standardwebhooks verifies each signature', () => {
    const a = newWebhookSecret();
    const b = newWebhookSecret();
    const box = secretBox(new Uint8Array(32).fill(1));
    expect(box.open(box.seal(a))).toBe(a);
    expect(() => secretBox(new Uint8Array(32).fill(2)).open(box.seal(a))).toThrow();
    const at = new Date();
    const header = signatureHeader([a, b], 'msg_1', at, '{"x":1}');
    const headers = { 'webhook-id': 'msg_1', 'webhook-timestamp': String(Math.floor(at.getTime() / 1000)), 'webhook-signature': header };
    expect(new Webhook(a).verify('{"x":1}', headers)).toEqual({ x: 1 });
    expect(new Webhook(b).verify('{"x":1}', headers)).toEqual({ x: 1 });
    expect(() => new Webhook(a).verify('{"x":2}', headers)).toThrow();
  });

  it('backs off on the schedule with ±20 % jitter, then gives up; the default schedule spans over 24 hours', async () => {
    const schedule = [5000, 300_000];
    expect(retryDelayMs(schedule, 1, () => 0)).toBe(4000);
    expect(retryDelayMs(schedule, 1, () => 1)).toBe(6000);
    expect(retryDelayMs(schedule, 2, () => 0.5)).toBe(300_000);
    expect(retryDelayMs(schedule, 3)).toBeNull();
    const { loadConfig } = await import('../../src/config/config.js');
    const total = loadConfig({}).webhooks.retryScheduleMs.reduce((x, y) => x + y, 0);
    expect(total).toBeGreaterThan(24 * 3600_000);
  });
});
