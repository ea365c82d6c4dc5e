import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKey, Organization } from '../../src/modules/organizations/organization.entity.js';
import { CreateApiKeyDocument, CreateOrganizationDocument, MeDocument } from '../documents/organizations.js';
import { startTestServer, type TestServer } from '../support/server.js';

let s: TestServer;
// /metrics is served only behind a bearer token (or on a port of its own): see test/e2e/metrics-access.test.ts.
const METRICS_TOKEN = 'metrics-token-for-http-api-tests';
beforeAll(async () => {
  s = await startTestServer({ DPP_METRICS_TOKEN: METRICS_TOKEN });
});
afterAll(async () => {
  await s?.stop();
});

const CREATE_ORG = 'mutation($input: OrganizationInput!) { createOrganization(input: $input) { id name kind gs1CompanyPrefixes markets } }';
const ME = '{ me { kind apiKeyId organization { id kind name } } }';

async function counts() {
  const em = s.db.orm.em.fork();
  return { orgs: await em.count(Organization, {}), keys: await em.count(ApiKey, {}) };
}

async function raw(init: RequestInit & { path?: string; query?: string }) {
  const res = await fetch(`${s.url}${init.path ?? '/graphql'}${init.query ?? ''}`, init);
  const text = await res.text();
  let body: { errors?: { message: string; extensions?: { code?: string; reason?: string } }[] } = {};
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON: the assertions below say so */
  }
  return { status: res.status, text, body };
}

describe('organisations and API keys', () => {
  it('tells an anonymous caller who they are', async () => {
    const r = await s.gql<{ me: { kind: string; organization: null } }>(ME);
    expect(r.errors).toBeUndefined();
    expect(r.data?.me).toEqual({ kind: 'ANONYMOUS', apiKeyId: null, organization: null });
  });

  it('lets the platform create a brand and a key for it, shown once, stored only as a hash', async () => {
    const created = await s.gql(
      CreateOrganizationDocument,
      { input: { name: 'Acme Audio', kind: 'BRAND', gs1CompanyPrefixes: ['0614141'], markets: ['de', 'FR', 'DE'] } },
      s.platformKey,
    );
    expect(created.errors).toBeUndefined();
    expect(created.data?.createOrganization).toMatchObject({ name: 'Acme Audio', kind: 'BRAND', gs1CompanyPrefixes: ['0614141'], markets: ['DE', 'FR'] });
    const orgId = created.data!.createOrganization.id;

    const key = await s.gql(CreateApiKeyDocument, { organizationId: orgId, label: 'ci' }, s.platformKey);
    expect(key.errors).toBeUndefined();
    const secret = key.data!.createApiKey.secret;
    expect(secret).toMatch(/^dpp_[A-Za-z0-9_-]{43}$/);

    const stored = await s.db.orm.em.fork().findOneOrFail(ApiKey, { id: key.data!.createApiKey.id });
    expect(stored.secretHash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(stored)).not.toContain(secret);

    const me = await s.gql(MeDocument, {}, secret);
    expect(me.data?.me).toMatchObject({ kind: 'ORGANIZATION', organization: { id: orgId, kind: 'BRAND' } });

    const list = await s.gql<{ me: { organization: { apiKeys: { hint: string }[] } } }>('{ me { organization { apiKeys { id hint label } } } }', {}, secret);
    expect(list.data?.me.organization.apiKeys).toHaveLength(1);
    expect(JSON.stringify(list.data)).not.toContain(secret);
  });

  it('revokes a key: the next request with it is UNAUTHENTICATED', async () => {
    const brand = await s.org('BRAND');
    expect((await s.gql(ME, {}, brand.key)).status).toBe(200);
    const me = await s.gql<{ me: { apiKeyId: string } }>(ME, {}, brand.key);
    const revoked = await s.gql('mutation($id: ID!) { revokeApiKey(id: $id) { revokedAt } }', { id: me.data!.me.apiKeyId }, brand.key);
    expect(revoked.errors).toBeUndefined();
    const after = await s.gql(ME, {}, brand.key);
    expect(after.status).toBe(401);
    expect(after.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('answers UNAUTHENTICATED for a made-up key and a malformed Authorization header, and writes nothing', async () => {
    const before = await counts();
    for (const authorization of ['Bearer dpp_madeupmadeupmadeupmadeupmadeupmadeupmadeup1', 'Bearer nope', 'Basic Zm9vOmJhcg==', 'Bearer']) {
      const res = await raw({
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization },
        body: JSON.stringify({ query: CREATE_ORG, variables: { input: { name: 'x', kind: 'BRAND' } } }),
      });
      expect(res.status, authorization).toBe(401);
      expect(res.body.errors?.[0]?.extensions?.code, authorization).toBe('UNAUTHENTICATED');
    }
    expect(await counts()).toEqual(before);
  });

  it('answers UNAUTHENTICATED to an anonymous write and FORBIDDEN to the wrong organisation kind', async () => {
    const before = await counts();
    const anon = await s.gql(CREATE_ORG, { input: { name: 'x', kind: 'BRAND' } });
    expect(anon.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const retailer = await s.org('RETAILER');
    const after1 = await counts();
    const forbidden = await s.gql(CREATE_ORG, { input: { name: 'x', kind: 'BRAND' } }, retailer.key);
    expect(forbidden.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(await counts()).toEqual(after1);
    expect(after1.orgs).toBe(before.orgs + 1);
  });

  it('keeps an organisation to its own keys', async () => {
    const a = await s.org('BRAND');
    const b = await s.org('RETAILER');
    const before = await counts();
    const cross = await s.gql('mutation($id: ID!) { createApiKey(organizationId: $id, label: "x") { secret } }', { id: a.id }, b.key);
    expect(cross.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const own = await s.gql<{ me: { apiKeyId: string } }>(ME, {}, a.key);
    const revoke = await s.gql('mutation($id: ID!) { revokeApiKey(id: $id) { id } }', { id: own.data!.me.apiKeyId }, b.key);
    expect(revoke.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const read = await s.gql('query($id: ID!) { organization(id: $id) { name } }', { id: a.id }, b.key);
    expect(read.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(await counts()).toEqual(before);
    expect((await s.gql(ME, {}, a.key)).status).toBe(200);
  });

  it.each([
    [{ name: '', kind: 'BRAND' }, 'name'],
    [{ name: 'x'.repeat(201), kind: 'BRAND' }, 'name'],
    [{ name: 'Shop', kind: 'RETAILER', gs1CompanyPrefixes: ['0614141'] }, 'gs1CompanyPrefixes'],
    [{ name: 'Brand', kind: 'BRAND', gs1CompanyPrefixes: ['12AB5'] }, 'gs1CompanyPrefixes'],
    [{ name: 'Brand', kind: 'BRAND', markets: ['XX'] }, 'markets'],
    [{ name: 'Brand', kind: 'BRAND', markets: ['Germany'] }, 'markets'],
  ])('refuses bad organisation input %j with BAD_USER_INPUT naming %s, writing nothing', async (input, field) => {
    const before = await counts();
    const r = await s.gql(CREATE_ORG, { input }, s.platformKey);
    expect(r.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(r.errors?.[0]?.message).toContain(field);
    expect(await counts()).toEqual(before);
  });

  it('creates ten organisations at once without losing or merging any (race)', async () => {
    const before = await counts();
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => s.gql<{ createOrganization: { id: string } }>(CREATE_ORG, { input: { name: `Race ${i}`, kind: 'RECYCLER' } }, s.platformKey)),
    );
    expect(results.every((r) => !r.errors)).toBe(true);
    expect(new Set(results.map((r) => r.data!.createOrganization.id)).size).toBe(10);
    expect((await counts()).orgs).toBe(before.orgs + 10);
  });

  it('creates five keys for one organisation at once: five distinct secrets, all working (race)', async () => {
    const brand = await s.org('BRAND');
    const before = await counts();
    const results = await Promise.all(Array.from({ length: 5 }, (_, i) => s.gql(CreateApiKeyDocument, { organizationId: brand.id, label: `k${i}` }, s.platformKey)));
    const secrets = results.map((r) => r.data!.createApiKey.secret);
    expect(new Set(secrets).size).toBe(5);
    expect((await counts()).keys).toBe(before.keys + 5);
    for (const secret of secrets) expect((await s.gql(MeDocument, {}, secret)).data?.me.organization?.id).toBe(brand.id);
  });

  it('refuses bad API key input: empty or 201-character label, unknown or malformed organisation, writing nothing', async () => {
    const brand = await s.org('BRAND');
    const before = await counts();
    for (const [organizationId, label, code] of [
      [brand.id, '', 'BAD_USER_INPUT'],
      [brand.id, 'x'.repeat(201), 'BAD_USER_INPUT'],
      ['00000000-0000-4000-8000-000000000000', 'ok', 'NOT_FOUND'],
      ['not-a-uuid', 'ok', 'NOT_FOUND'],
      ['', 'ok', 'BAD_USER_INPUT'],
    ] as const) {
      const r = await s.gql(CreateApiKeyDocument, { organizationId, label }, s.platformKey);
      expect(r.errors?.[0]?.extensions?.code, `${organizationId} ${label.length}`).toBe(code);
    }
    expect(await counts()).toEqual(before);
  });

  it('revokes one key from two requests at once: both answer, the key stays revoked once (race)', async () => {
    const brand = await s.org('BRAND');
    const me = await s.gql<{ me: { apiKeyId: string } }>(ME, {}, brand.key);
    const id = me.data!.me.apiKeyId;
    const [r1, r2] = await Promise.all([
      s.gql<{ revokeApiKey: { revokedAt: string } }>('mutation($id: ID!) { revokeApiKey(id: $id) { revokedAt } }', { id }, s.platformKey),
      s.gql<{ revokeApiKey: { revokedAt: string } }>('mutation($id: ID!) { revokeApiKey(id: $id) { revokedAt } }', { id }, s.platformKey),
    ]);
    expect(r1.errors).toBeUndefined();
    expect(r2.errors).toBeUndefined();
    expect((await s.gql(ME, {}, brand.key)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});

describe('bad requests', () => {
  it('answers malformed JSON with BAD_USER_INPUT and no stack trace', async () => {
    const r = await raw({ method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query": "{ me { kind } }"' });
    expect(r.status).toBe(400);
    expect(r.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'MALFORMED_JSON' });
    expect(r.text).not.toMatch(/at .*\.(js|ts):\d+/);
  });

  it('answers an unknown operation name, an unknown field and a syntax error with BAD_USER_INPUT', async () => {
    const unknownOp = await raw({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: 'query A { me { kind } }', operationName: 'B' }) });
    expect(unknownOp.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const unknownField = await s.gql('{ nope }');
    expect(unknownField.status).toBe(400);
    expect(unknownField.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'GRAPHQL_VALIDATION_FAILED' });
    const syntax = await s.gql('{ me { kind }');
    expect(syntax.status).toBe(400);
    expect(syntax.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(syntax.errors?.[0]?.message).toMatch(/Syntax Error/);
  });

  it('answers wrong variable types with BAD_USER_INPUT and writes nothing', async () => {
    const before = await counts();
    const r = await s.gql(CREATE_ORG, { input: { name: 42, kind: 'NOT_A_KIND' } }, s.platformKey);
    expect(r.status).toBe(400);
    expect(r.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(await counts()).toEqual(before);
  });

  it('refuses a 40-deep query', async () => {
    // Depth is measured on the document before execution, so the schema need not have a 40-level path.
    const nested = '{ me { ' + 'organization { '.repeat(40) + 'id' + ' }'.repeat(40) + ' } }';
    const r = await s.gql(nested);
    expect(r.status).toBe(400);
    expect(r.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(r.errors?.map((e) => e.message).join(' ')).toMatch(/depth/i);
  });

  it('refuses 1,000 aliases of one field', async () => {
    const aliases = Array.from({ length: 1000 }, (_, i) => `a${i}: me { kind }`).join(' ');
    const r = await s.gql(`{ ${aliases} }`);
    expect(r.status).toBe(400);
    expect(r.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('refuses a 2 MB body with 413 and writes nothing', async () => {
    const before = await counts();
    const body = JSON.stringify({ query: CREATE_ORG, variables: { input: { name: 'x'.repeat(2 * 1024 * 1024), kind: 'BRAND' } } });
    const r = await raw({ method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${s.platformKey}` }, body });
    expect(r.status).toBe(413);
    expect(r.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'PAYLOAD_TOO_LARGE' });
    expect(await counts()).toEqual(before);
  });

  it('refuses a mutation over GET and writes nothing', async () => {
    const before = await counts();
    const query = encodeURIComponent('mutation { createOrganization(input: { name: "viaGet", kind: BRAND }) { id } }');
    const r = await raw({ method: 'GET', query: `?query=${query}`, headers: { authorization: `Bearer ${s.platformKey}`, 'apollo-require-preflight': 'true' } });
    expect(r.status).toBe(405);
    expect(r.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(await counts()).toEqual(before);
  });

  it('blocks a text/plain POST without a preflight header (CSRF) and writes nothing', async () => {
    const before = await counts();
    const r = await raw({
      method: 'POST',
      headers: { 'content-type': 'text/plain', authorization: `Bearer ${s.platformKey}` },
      body: JSON.stringify({ query: 'mutation { createOrganization(input: { name: "csrf", kind: BRAND }) { id } }' }),
    });
    expect(r.status).toBe(400);
    expect(r.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(r.body.errors?.[0]?.message).toMatch(/CSRF|Cross-Site/i);
    expect(await counts()).toEqual(before);
  });

  it('refuses a JSON body that is not an object or array, and an unsupported charset, with BAD_USER_INPUT', async () => {
    const scalar = await raw({ method: 'POST', headers: { 'content-type': 'application/json' }, body: '"{ me { kind } }"' });
    expect(scalar.status).toBe(400);
    expect(scalar.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'MALFORMED_JSON' });
    const latin1 = await raw({ method: 'POST', headers: { 'content-type': 'application/json; charset=latin1' }, body: JSON.stringify({ query: '{ me { kind } }' }) });
    expect(latin1.status).toBe(415);
    expect(latin1.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'BAD_REQUEST' });
    const empty = await raw({ method: 'POST', headers: { 'content-type': 'application/json' }, body: '' });
    expect(empty.status).toBe(400);
    expect(empty.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('reads a gzip-compressed body, within the same size limit after inflating', async () => {
    const { gzipSync } = await import('node:zlib');
    const small = await raw({ method: 'POST', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, body: gzipSync(JSON.stringify({ query: '{ me { kind } }' })) });
    expect(small.status).toBe(200);
    expect(small.text).toContain('ANONYMOUS');
    const bomb = gzipSync(JSON.stringify({ query: '{ me { kind } }', variables: { pad: 'x'.repeat(3 * 1024 * 1024) } }));
    expect(bomb.length).toBeLessThan(64 * 1024);
    const big = await raw({ method: 'POST', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, body: bomb });
    expect(big.status).toBe(413);
    expect(big.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'PAYLOAD_TOO_LARGE' });
  });

  it('serves GraphQL at /graphql with a trailing slash or a query string, and nowhere else', async () => {
    const post = (path: string) => raw({ method: 'POST', path, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ me { kind } }' }) });
    for (const path of ['/graphql/', '/graphql?x=1', '/graphql/?x=1']) {
      const r = await post(path);
      expect([path, r.status, r.text]).toEqual([path, 200, expect.stringContaining('ANONYMOUS')]);
    }
    for (const path of ['/graphqlx', '/graphql/x', '/graph']) expect([path, (await post(path)).status]).toEqual([path, 404]);
  });

  it('allows a query over GET with a preflight header', async () => {
    const r = await raw({ method: 'GET', query: `?query=${encodeURIComponent('{ me { kind } }')}`, headers: { 'apollo-require-preflight': 'true' } });
    expect(r.status).toBe(200);
  });
});

describe('operations', () => {
  it('serves /healthz, /readyz and Prometheus /metrics', async () => {
    expect((await raw({ path: '/healthz' })).status).toBe(200);
    const ready = await raw({ path: '/readyz' });
    expect(ready.status).toBe(200);
    expect(ready.text).toContain('ready');
    await s.gql('query MetricsProbe { me { kind } }');
    const metrics = await raw({ path: '/metrics', headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(metrics.status).toBe(200);
    expect(metrics.text).toMatch(/dpp_graphql_requests_total\{operation="MetricsProbe",type="query",outcome="ok",transport="http"\} \d+/);
    expect(metrics.text).toContain('dpp_graphql_request_duration_seconds_bucket');
    for (const authorization of [undefined, 'Bearer wrong-token-wrong-token-wrong', `Basic ${METRICS_TOKEN}`]) {
      const refused = await raw({ path: '/metrics', headers: authorization ? { authorization } : {} });
      expect([authorization, refused.status, refused.text]).toEqual([authorization, 401, expect.not.stringContaining('dpp_')]);
    }
  });

  it('answers every request with an x-request-id, echoing a well-formed one and replacing any other', async () => {
    for (const path of ['/graphql', '/healthz', '/nope']) {
      const init = (id?: string) => ({
        method: path === '/graphql' ? 'POST' : 'GET',
        headers: { 'content-type': 'application/json', ...(id ? { 'x-request-id': id } : {}) },
        body: path === '/graphql' ? JSON.stringify({ query: '{ me { kind } }' }) : undefined,
      });
      const given = await fetch(`${s.url}${path}`, init('trace-0123456789'));
      expect([path, given.headers.get('x-request-id')]).toEqual([path, 'trace-0123456789']);
      const bad = await fetch(`${s.url}${path}`, init('bad id with spaces'));
      expect(bad.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
      const none = await fetch(`${s.url}${path}`, init());
      expect(none.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    }
  });

  it('counts HTTP responses by route, method and status in /metrics', async () => {
    const count = async (labels: string) => Number(new RegExp(`dpp_http_requests_total\\{${labels}\\} (\\d+)`).exec((await raw({ path: '/metrics', headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text)?.[1] ?? 0);
    const graphqlOk = 'route="/graphql",method="POST",status="200"';
    const graphqlBad = 'route="/graphql",method="POST",status="400"';
    const health = 'route="/healthz",method="GET",status="200"';
    const before = { ok: await count(graphqlOk), bad: await count(graphqlBad), health: await count(health) };
    await s.gql('{ me { kind } }');
    await raw({ method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' });
    await raw({ path: '/healthz' });
    expect({ ok: await count(graphqlOk), bad: await count(graphqlBad), health: await count(health) }).toEqual({ ok: before.ok + 1, bad: before.bad + 1, health: before.health + 1 });
  });

  it('does not leak internals in an unknown route', async () => {
    const r = await raw({ path: '/nope' });
    expect(r.status).toBe(404);
  });
});
