import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gtinCheckDigit } from '../../src/gs1/index.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { startTcpProxy } from '../support/tcp-proxy.js';

// Issue 15, item 4: a database outage answered HTTP 500 with a key and 200 anonymously, both
// INTERNAL_SERVER_ERROR. The server here reaches its database through a TCP proxy the test cuts and
// restores (the shared PostgreSQL is never stopped): on PostgreSQL, the test's own database; on PGlite,
// a PGlite of the test's own behind a socket server.

let s: TestServer;
let proxy: Awaited<ReturnType<typeof startTcpProxy>>;
let database: TestDatabase | undefined;
let pglite: { db: PGlite; server: PGLiteSocketServer } | undefined;
let brand: { id: string; key: string };
let unitId: string;
let link: string;

beforeAll(async () => {
  let target: URL;
  if (process.env.TEST_DATABASE_URL || process.env.DATABASE_URL) {
    database = await createTestDatabase();
    target = new URL(database.env.DATABASE_URL!);
  } else {
    const db = await PGlite.create();
    const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 16 });
    await server.start();
    pglite = { db, server };
    target = new URL(`postgres://postgres@${server.getServerConn()}/postgres`);
  }
  proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
  const through = new URL(target);
  through.hostname = '127.0.0.1';
  through.port = String(proxy.port);
  // Keys are looked up in the database on every request (no cache), so a keyed call meets the outage first
  // where it used to answer 500: while building its context. (PGlite is one session behind several pooled
  // connections here; the test's requests are sequential, so none interleave.)
  // No retention job or log sequencer: their transactions would share the one PGlite session with the requests under test.
  s = await startTestServer({ DATABASE_URL: through.toString(), DPP_API_KEY_CACHE_MS: '0', DPP_RETENTION_INTERVAL_MS: '0', DPP_LOG_INTERVAL_MS: '0' });
  brand = await s.org('BRAND', { gs1CompanyPrefixes: ['0614141'] });
  const body = '061414177777';
  const gtin = (body + gtinCheckDigit(body)).padStart(14, '0');
  expect((await s.gql('mutation($i: ProductModelInput!) { createProductModel(input: $i) { id } }', { i: { gtin, name: 'Outage', warrantyMonths: 12 } }, brand.key)).errors).toBeUndefined();
  const minted = await s.gql<{ mintPassports: { passports: { id: string; digitalLink: string }[] } }>(
    'mutation($i: MintInput!) { mintPassports(input: $i) { passports { id digitalLink } } }',
    { i: { gtin, quantity: 1, idempotencyKey: 'outage' } },
    brand.key,
  );
  expect(minted.errors).toBeUndefined();
  unitId = minted.data!.mintPassports.passports[0]!.id;
  link = new URL(minted.data!.mintPassports.passports[0]!.digitalLink).pathname;
}, 120_000);
afterAll(async () => {
  // Draining a server whose database connections were cut can wait on a dead socket (PGlite's socket server
  // keeps a session per connection); production's DPP_SHUTDOWN_TIMEOUT_MS bounds it, and so does this.
  await Promise.race([s?.stop(), new Promise((resolve) => setTimeout(resolve, 20_000))]);
  await proxy?.close();
  await database?.drop();
  await pglite?.server.stop();
  await pglite?.db.close();
}, 120_000);

const PASSPORT = 'query($id: ID!) { passport(id: $id) { id status } }';

/** The three callers of the issue: anonymous GraphQL, keyed GraphQL, and the Digital Link resolver route. */
async function callers() {
  const anonymous = await s.gql(PASSPORT, { id: unitId });
  const keyed = await s.gql(PASSPORT, { id: unitId }, brand.key);
  // A unit's Digital Link redirects to its verification result without reading the database; the result
  // (where the scan is recorded) is the resolver route that reads it.
  const route = await fetch(`${s.url}/verification${link}`, { headers: { accept: 'application/json' }, redirect: 'manual' });
  const routeBody = (await route.json()) as { errors?: { extensions?: { code?: string } }[] };
  return [
    { who: 'anonymous', status: anonymous.status, retryAfter: anonymous.headers.get('retry-after'), code: anonymous.errors?.[0]?.extensions?.code },
    { who: 'keyed', status: keyed.status, retryAfter: keyed.headers.get('retry-after'), code: keyed.errors?.[0]?.extensions?.code },
    { who: 'resolver route', status: route.status, retryAfter: route.headers.get('retry-after'), code: routeBody.errors?.[0]?.extensions?.code },
  ];
}

describe('while the database is unreachable', () => {
  it('answers 503, Retry-After and SERVICE_UNAVAILABLE to every caller, then recovers when it returns', async () => {
    expect((await callers()).map((c) => c.status)).toEqual([200, 200, 200]);

    await proxy.cut();
    // PGlite outlives the proxy; a real server's restart forgets its sessions' prepared statements, so does this.
    await pglite?.db.exec('deallocate all');
    const down = await callers();
    expect(down).toEqual([
      { who: 'anonymous', status: 503, retryAfter: '5', code: 'SERVICE_UNAVAILABLE' },
      { who: 'keyed', status: 503, retryAfter: '5', code: 'SERVICE_UNAVAILABLE' },
      { who: 'resolver route', status: 503, retryAfter: '5', code: 'SERVICE_UNAVAILABLE' },
    ]);
    // A mutation's outage is the same answer, and no stack trace or detail leaks.
    const mutation = await s.gql('mutation($i: MintInput!) { mintPassports(input: $i) { id } }', { i: { gtin: '00614141777770', quantity: 1, idempotencyKey: 'down' } }, brand.key);
    expect(mutation.status).toBe(503);
    expect(mutation.errors).toEqual([{ message: expect.not.stringMatching(/ECONN|terminated|at /), extensions: { code: 'SERVICE_UNAVAILABLE', retryAfterSeconds: 5 } }]);
    expect((await fetch(`${s.url}/readyz`)).status).toBe(503);

    await proxy.restore();
    let up: Awaited<ReturnType<typeof callers>> = [];
    const recovered = async () => {
      up = await callers();
      return up.every((c) => c.status === 200);
    };
    const deadline = Date.now() + 10_000;
    while (!(await recovered()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(up.map((c) => [c.who, c.status, c.code])).toEqual([
      ['anonymous', 200, undefined],
      ['keyed', 200, undefined],
      ['resolver route', 200, undefined],
    ]);
  });
});
