import { describe, expect, it } from 'vitest';
import { retryAfterMs } from '../../src/modules/webhooks/webhook-http.js';
import { honourRetryAfter } from '../../src/modules/webhooks/webhook-worker.js';

describe('Retry-After (RFC 9110 §10.2.3)', () => {
  const now = Date.parse('2026-12-07T12:00:00Z');

  it('reads delay-seconds and HTTP dates, and nothing else', () => {
    expect(retryAfterMs('120', now)).toBe(120_000);
    expect(retryAfterMs(' 0 ', now)).toBe(0);
    expect(retryAfterMs('Mon, 07 Dec 2026 12:01:30 GMT', now)).toBe(90_000);
    expect(retryAfterMs('Mon, 07 Dec 2026 11:00:00 GMT', now)).toBe(0);
    expect(retryAfterMs(undefined, now)).toBeNull();
    expect(retryAfterMs('soon', now)).toBeNull();
    expect(retryAfterMs('-5', now)).toBeNull();
  });

  it('postpones a 429 or 503 retry, never brings one forward, caps at six hours and ends nothing', () => {
    expect(honourRetryAfter(200, { status: 429, retryAfterMs: 5_000 })).toBe(5_000);
    expect(honourRetryAfter(200, { status: 503, retryAfterMs: 5_000 })).toBe(5_000);
    expect(honourRetryAfter(60_000, { status: 429, retryAfterMs: 5_000 })).toBe(60_000);
    expect(honourRetryAfter(200, { status: 500, retryAfterMs: 5_000 })).toBe(200);
    expect(honourRetryAfter(200, { status: 429, retryAfterMs: null })).toBe(200);
    expect(honourRetryAfter(200, { status: 429, retryAfterMs: 30 * 86_400_000 })).toBe(6 * 3_600_000);
    expect(honourRetryAfter(null, { status: 429, retryAfterMs: 5_000 })).toBeNull();
  });
});
