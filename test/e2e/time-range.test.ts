import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';

// A time JavaScript accepts but PostgreSQL cannot hold (year 0, year 294277) is bad input, never an internal
// error (found by the schema-driven fuzz test once the schema grew).
let s: TestServer;
beforeAll(async () => {
  s = await startTestServer({ DPP_RETENTION_INTERVAL_MS: '0' });
});
afterAll(async () => {
  await s?.stop();
});

it('answers BAD_USER_INPUT for times outside what PostgreSQL holds', async () => {
  for (const t of ['0000-01-01T00:00:00Z', '+294277-01-01T00:00:00Z']) {
    const r = await s.gql('query($f: PassportFilter) { passports(filter: $f) { __typename } }', { f: { manufacturedTo: t } }, s.platformKey);
    expect([t, r.errors?.[0]?.extensions?.code]).toEqual([t, 'BAD_USER_INPUT']);
  }
});
