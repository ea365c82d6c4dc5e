import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';

// Issue 15, item 7: GET /metrics was open to anyone and names operations. Now: not served unless
// configured; behind a bearer token on the API port (DPP_METRICS_TOKEN; see http-api.test.ts), or on a
// port of its own (DPP_METRICS_PORT, bound to DPP_METRICS_HOST, 127.0.0.1 by default), token-checked too if set.

let plain: TestServer;
let separate: TestServer;
const TOKEN = 'a-metrics-token-of-thirty-two-ch';
beforeAll(async () => {
  [plain, separate] = await Promise.all([startTestServer(), startTestServer({ DPP_METRICS_PORT: '0', DPP_METRICS_TOKEN: TOKEN })]);
});
afterAll(async () => {
  await Promise.all([plain?.stop(), separate?.stop()]);
});

describe('/metrics', () => {
  it('is not served at all when neither a token nor a port is configured', async () => {
    await plain.gql('query Probe { me { kind } }');
    const r = await fetch(`${plain.url}/metrics`);
    expect(r.status).toBe(404);
    expect(await r.text()).not.toContain('dpp_graphql_requests_total');
    expect(plain.metricsPort).toBeUndefined();
  });

  it('with a port of its own, is served there (behind the token) and not on the API port', async () => {
    await separate.gql('query SeparateProbe { me { kind } }');
    expect(separate.metricsPort).toEqual(expect.any(Number));
    const on = (path: string, authorization?: string) => fetch(`http://127.0.0.1:${separate.metricsPort}${path}`, { headers: authorization ? { authorization } : {} });
    const ok = await on('/metrics', `Bearer ${TOKEN}`);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toMatch(/dpp_graphql_requests_total\{operation="SeparateProbe",type="query",outcome="ok",transport="http"\} 1/);
    expect((await on('/metrics')).status).toBe(401);
    expect((await on('/metrics', 'Bearer not-the-token-not-the-token')).status).toBe(401);
    expect((await on('/graphql', `Bearer ${TOKEN}`)).status).toBe(404);
    for (const authorization of [undefined, `Bearer ${TOKEN}`]) {
      const api = await fetch(`${separate.url}/metrics`, { headers: authorization ? { authorization } : {} });
      expect([authorization, api.status]).toEqual([authorization, 404]);
    }
  });
});
