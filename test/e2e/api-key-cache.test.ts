import type { Client } from 'graphql-ws';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawQuery } from '../../src/db/raw.js';
import { API_KEY_LISTENER_APPLICATION_NAME } from '../../src/modules/organizations/api-key-listener.js';
import { hashApiKey } from '../../src/modules/organizations/organization.service.js';
import { testServerUrl } from '../support/database.js';
import { liveSubscription, sleep, until } from '../support/live.js';
import { startTestServer, type TestServer } from '../support/server.js';

const postgres = Boolean(testServerUrl);
const ME = '{ me { kind apiKeyId organization { id } } }';
const REVOKE = 'mutation($id: ID!) { revokeApiKey(id: $id) { id revokedAt } }';

const servers: TestServer[] = [];
const clients: Client[] = [];
afterAll(async () => {
  await Promise.all(clients.map((c) => c.dispose()));
  // Last started first: replicas sharing a database stop before the server that owns (and drops) it.
  for (const s of servers.reverse()) await s.stop();
});

async function start(env: Record<string, string> = {}): Promise<TestServer> {
  const s = await startTestServer(env);
  servers.push(s);
  return s;
}

/** A second server on `owner`'s database, as another replica of the same deployment (make keys through `owner`). */
async function replicaOf(owner: TestServer, env: Record<string, string> = {}): Promise<TestServer> {
  return start({
    DATABASE_URL: owner.services.config.databaseUrl!,
    DPP_MASTER_KEY: Buffer.from(owner.services.config.masterKey!).toString('hex'),
    DPP_BOOTSTRAP_API_KEY: owner.platformKey,
    ...env,
  });
}

/** A fresh BRAND key made through `s`, with its id (read from the table, so nothing has used the key yet). */
async function brandKey(s: TestServer): Promise<{ key: string; id: string }> {
  const brand = await s.org('BRAND');
  const [row] = await rawQuery<{ id: string }>(s.db.orm.em.fork(), 'select id from api_key where secret_hash = $1', [hashApiKey(brand.key)]);
  return { key: brand.key, id: row!.id };
}

/** Whether `key` is accepted by `s` right now (refusals must be UNAUTHENTICATED, nothing else). */
async function accepted(s: TestServer, key: string): Promise<boolean> {
  const r = await s.gql(ME, {}, key);
  if (r.status === 200 && !r.errors) return true;
  expect(r.status).toBe(401);
  expect(r.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  return false;
}

/** Revokes by plain SQL: what a lookup would see, without the notification revokeApiKey sends. */
async function revokeSilently(s: TestServer, id: string): Promise<void> {
  const rows = await rawQuery(s.db.orm.em.fork(), 'update api_key set revoked_at = now() where id = $1 returning id', [id]);
  expect(rows).toHaveLength(1);
}

const cached = (s: TestServer, key: string) => s.services.apiKeys.get(hashApiKey(key));

describe('API key cache on one server', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await start();
  });

  it('refuses a key on the very next request after revokeApiKey, and on the one after (no stale entry)', async () => {
    const { key, id } = await brandKey(s);
    expect(await accepted(s, key)).toBe(true);
    expect(cached(s, key)?.apiKeyId).toBe(id); // warm: the next request would be answered from memory
    const revoked = await s.gql<{ revokeApiKey: { revokedAt: string | null } }>(REVOKE, { id }, key);
    expect(revoked.errors).toBeUndefined();
    expect(revoked.data!.revokeApiKey.revokedAt).toBeTruthy();
    expect(cached(s, key)).toBeUndefined();
    expect(await accepted(s, key)).toBe(false);
    expect(await accepted(s, key)).toBe(false);
    expect(cached(s, key)).toBeUndefined();
  });

  it('answers a known key from memory: a revocation by plain SQL (no notification) goes unseen while the entry lives', async () => {
    const { key, id } = await brandKey(s);
    expect(await accepted(s, key)).toBe(true);
    await revokeSilently(s, id);
    expect(await accepted(s, key)).toBe(true);
    expect(await accepted(s, key)).toBe(true);
    // revokeApiKey on an already revoked key still evicts this replica's entry.
    expect((await s.gql(REVOKE, { id }, s.platformKey)).errors).toBeUndefined();
    expect(await accepted(s, key)).toBe(false);
  });

  it('never caches an unknown or revoked key', async () => {
    const { key, id } = await brandKey(s);
    await revokeSilently(s, id);
    expect(await accepted(s, key)).toBe(false); // never cached before: the database answers
    expect(cached(s, key)).toBeUndefined();
    const unknown = `dpp_${'u'.repeat(43)}`;
    expect(await accepted(s, unknown)).toBe(false);
    expect(cached(s, unknown)).toBeUndefined();
  });

  it('with DPP_API_KEY_CACHE_MS=0 asks the database every time: the same plain-SQL revocation is refused at once', async () => {
    const off = await start({ DPP_API_KEY_CACHE_MS: '0' });
    const { key, id } = await brandKey(off);
    expect(await accepted(off, key)).toBe(true);
    expect(cached(off, key)).toBeUndefined();
    await revokeSilently(off, id);
    expect(await accepted(off, key)).toBe(false);
  });

  it('forgets an entry after DPP_API_KEY_CACHE_MS (the backstop for a lost notification)', async () => {
    const short = await start({ DPP_API_KEY_CACHE_MS: '300' });
    const { key, id } = await brandKey(short);
    expect(await accepted(short, key)).toBe(true);
    await revokeSilently(short, id);
    await sleep(400);
    expect(await accepted(short, key)).toBe(false);
  });
});

describe('API key cache across replicas (PostgreSQL only: LISTEN/NOTIFY between two servers on one database)', () => {
  let a: TestServer;
  let b: TestServer;
  let admin: pg.Client;
  beforeAll(async () => {
    if (!postgres) return;
    a = await start();
    b = await replicaOf(a, { DPP_WS_RECHECK_MS: '200' });
    admin = new pg.Client({ connectionString: a.services.config.databaseUrl });
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.end();
  });

  /** Backend pids of the revocation listeners on this test file's database (A's and B's). */
  const listenerPids = async () =>
    (await admin.query<{ pid: number }>('select pid from pg_stat_activity where application_name = $1 and datname = current_database()', [API_KEY_LISTENER_APPLICATION_NAME])).rows.map((r) => r.pid);

  it.skipIf(!postgres)('refuses on replica B, within a second, a key revoked through replica A while warm on both', async () => {
    expect(await listenerPids()).toHaveLength(2);
    const { key, id } = await brandKey(a);
    expect(await accepted(a, key)).toBe(true);
    expect(await accepted(b, key)).toBe(true);
    expect(cached(a, key)?.apiKeyId).toBe(id);
    expect(cached(b, key)?.apiKeyId).toBe(id);
    expect((await a.gql(REVOKE, { id }, key)).errors).toBeUndefined();
    expect(await accepted(a, key)).toBe(false);
    const end = Date.now() + 1000;
    let refused = !(await accepted(b, key));
    while (!refused && Date.now() < end) {
      await sleep(20);
      refused = !(await accepted(b, key));
    }
    expect(refused).toBe(true);
    expect(cached(b, key)).toBeUndefined();
  });

  it.skipIf(!postgres)('closes (4403) a subscription on replica B whose key is revoked through replica A', async () => {
    const { key, id } = await brandKey(a);
    const live = liveSubscription(clients, { wsUrl: b.wsUrl, key, query: 'subscription { fraudAlerts { id } }', field: 'fraudAlerts' });
    await live.ready;
    expect(cached(b, key)?.apiKeyId).toBe(id);
    expect((await a.gql(REVOKE, { id }, key)).errors).toBeUndefined();
    expect(await until(() => live.state.closed, 3000)).toBe(true); // B re-checks every 200 ms
  });

  it.skipIf(!postgres)('switches the cache off while the listener is down (plain-SQL revocation refused at once) and on again once it is back', async () => {
    const before = await brandKey(a);
    expect(await accepted(b, before.key)).toBe(true);
    expect(cached(b, before.key)).toBeDefined();
    const killed = await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1 and datname = current_database()', [API_KEY_LISTENER_APPLICATION_NAME]);
    expect(killed.rowCount).toBe(2);
    expect(await until(() => !b.services.apiKeys.enabled, 2000)).toBe(true);

    await revokeSilently(b, before.id);
    expect(await accepted(b, before.key)).toBe(false);
    // Other keys keep working throughout, from the database.
    const other = await brandKey(a);
    expect(await accepted(b, other.key)).toBe(true);

    // Back after the first retry (0.5 s): a new connection LISTENs and caching resumes.
    expect(await until(() => b.services.apiKeys.enabled && a.services.apiKeys.enabled, 5000)).toBe(true);
    expect(await listenerPids()).toHaveLength(2);
    const after = await brandKey(a);
    expect(await accepted(b, after.key)).toBe(true);
    await revokeSilently(b, after.id);
    expect(await accepted(b, after.key)).toBe(true); // cached again
    // And notifications reach the new connection: revoked through A, refused on B.
    expect((await a.gql(REVOKE, { id: after.id }, a.platformKey)).errors).toBeUndefined();
    expect(await until(() => cached(b, after.key) === undefined, 1000)).toBe(true);
    expect(await accepted(b, after.key)).toBe(false);
  });
});
