import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { preparedQuery } from '../../src/db/raw.js';
import { testServerUrl } from '../support/database.js';
import { startTestServer, type TestServer } from '../support/server.js';

const postgres = Boolean(testServerUrl);
let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(async () => {
  await s?.stop();
});

const em = () => s.db.orm.em.fork();
const PID = { name: 'test_backend_pid', text: 'select pg_backend_pid() as pid' };
const DIVIDE = { name: 'test_divide_by_zero', text: 'select 1 / (select count(*)::int - count(*)::int from organization) as x' };
const UNIQUE = { name: 'test_unique_violation', text: `insert into organization (id, name, kind, gs1_company_prefixes, created_at) select id, name, kind, gs1_company_prefixes, created_at from organization limit 1` };

describe('preparedQuery (the scan hot path\'s statements)', () => {
  it('answers rows of a named statement and the same again on the next call', async () => {
    const [a] = await preparedQuery<{ pid: number }>(em(), PID, []);
    const [b] = await preparedQuery<{ pid: number }>(em(), PID, []);
    expect(typeof a!.pid).toBe('number');
    expect(b).toEqual(a);
  });

  it('passes PostgreSQL errors through with their code', async () => {
    await expect(preparedQuery(em(), UNIQUE, [])).rejects.toMatchObject({ code: '23505' });
    await expect(preparedQuery(em(), DIVIDE, [])).rejects.toMatchObject({ code: '22012' });
  });

  it.skipIf(!postgres)('keeps its connection after an error PostgreSQL answered, such as a lost race for a scan number (PostgreSQL only: one backend per connection)', async () => {
    // The pool hands out the connection released last, so a kept connection answers the next call.
    const [before] = await preparedQuery<{ pid: number }>(em(), PID, []);
    await expect(preparedQuery(em(), UNIQUE, [])).rejects.toMatchObject({ code: '23505' });
    const [after] = await preparedQuery<{ pid: number }>(em(), PID, []);
    expect(after!.pid).toBe(before!.pid);
    const [named] = await preparedQuery<{ n: number }>(em(), { name: 'test_prepared_here', text: `select count(*)::int as n from pg_prepared_statements where name = 'test_backend_pid'` }, []);
    expect(named!.n).toBe(1);
  });
});
