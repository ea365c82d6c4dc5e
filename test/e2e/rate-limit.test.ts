import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer({ DPP_RATE_LIMIT_ANON_PER_MINUTE: '5' });
});
afterAll(async () => {
  await s?.stop();
});

it('limits anonymous traffic per client with RATE_LIMITED and Retry-After, but not organisations', async () => {
  const results = await Promise.all(Array.from({ length: 8 }, () => s.gql('{ me { kind } }')));
  const limited = results.filter((r) => r.status === 429);
  expect(results.filter((r) => r.status === 200)).toHaveLength(5);
  expect(limited).toHaveLength(3);
  expect(limited[0]!.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
  expect(Number(limited[0]!.headers.get('retry-after'))).toBeGreaterThan(0);
  const org = await s.gql('{ me { kind } }', {}, s.platformKey);
  expect(org.status).toBe(200);
});

it('counts owner session requests (dpo_ tokens) against the same per-IP budget as anonymous ones', async () => {
  // The budget of this client was spent above; an owner token does not lift it, an API key does.
  const owner = await s.gql('{ me { kind } }', {}, 'dpo_any-owner-session-token');
  expect([owner.status, owner.errors?.[0]?.extensions?.code]).toEqual([429, 'RATE_LIMITED']);
  expect((await s.gql('{ me { kind } }', {}, s.platformKey)).status).toBe(200);
});
