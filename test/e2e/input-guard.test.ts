import { getIntrospectionQuery } from 'graphql';
import { type Client, createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { gtinCheckDigit } from '../../src/gs1/index.js';
import { until } from '../support/live.js';
import { rowCounts } from '../support/rows.js';
import { startTestServer, type TestServer } from '../support/server.js';

// Issue 15, items 2, 3 and 7 (depth): input that used to reach PostgreSQL or a library unchecked and
// answered INTERNAL_SERVER_ERROR; a subscription over POST; the depth limit on introspection.

let s: TestServer;
let brand: { id: string; key: string };
let gtin: string;
let unitId: string;
beforeAll(async () => {
  s = await startTestServer();
  brand = await s.org('BRAND', { gs1CompanyPrefixes: ['0614141'] });
  const body = '061414155555';
  gtin = (body + gtinCheckDigit(body)).padStart(14, '0');
  const m = await s.gql('mutation($i: ProductModelInput!) { createProductModel(input: $i) { id } }', { i: { gtin, name: 'Guarded', warrantyMonths: 12 } }, brand.key);
  expect(m.errors).toBeUndefined();
  const minted = await s.gql<{ mintPassports: { passports: { id: string }[] } }>(
    'mutation($i: MintInput!) { mintPassports(input: $i) { passports { id } } }',
    { i: { gtin, quantity: 1, idempotencyKey: 'guard-seed' } },
    brand.key,
  );
  expect(minted.errors).toBeUndefined();
  unitId = minted.data!.mintPassports.passports[0]!.id;
});
afterAll(async () => {
  await s?.stop();
});

const NUL = 'x\u0000y';
const CAPTURE = 'mutation($d: JSON!) { captureEpcisDocument(document: $d) { captureId } }';
const LONE = 'site \ud800';

/** Sends a request and answers its status and first error, asserting nothing was written. */
async function refused(query: string, variables: Record<string, unknown> | undefined, key?: string) {
  const before = await rowCounts(s);
  const r = await s.gql(query, variables, key);
  expect(await rowCounts(s)).toEqual(before);
  return { status: r.status, error: r.errors?.[0], errors: r.errors };
}

const cases: [string, string, Record<string, unknown> | undefined, () => string | undefined, RegExp][] = [
  ['createOrganization name with NUL', 'mutation($i: OrganizationInput!) { createOrganization(input: $i) { id } }', { i: { name: NUL, kind: 'RETAILER' } }, () => s.platformKey, /\$i\.name/],
  ['createOrganization name with NUL, as a literal', 'mutation { createOrganization(input: { name: "x\\u0000", kind: RETAILER }) { id } }', undefined, () => s.platformKey, /createOrganization\(input\.name\)/],
  ['createApiKey label with NUL', 'mutation($o: ID!, $l: String!) { createApiKey(organizationId: $o, label: $l) { id } }', { o: '__BRAND__', l: NUL }, () => s.platformKey, /\$l/],
  ['product model name with NUL', 'mutation($i: ProductModelInput!) { createProductModel(input: $i) { id } }', { i: { gtin: '__GTIN2__', name: NUL } }, () => brand.key, /\$i\.name/],
  ['product model category with NUL', 'mutation($i: ProductModelInput!) { createProductModel(input: $i) { id } }', { i: { gtin: '__GTIN2__', name: 'ok', category: NUL } }, () => brand.key, /\$i\.category/],
  ['mintPassports idempotencyKey with NUL', 'mutation($i: MintInput!) { mintPassports(input: $i) { id } }', { i: { gtin: '__GTIN__', quantity: 1, idempotencyKey: NUL } }, () => brand.key, /\$i\.idempotencyKey/],
  ['mintPassports site with a lone surrogate, sign: true', 'mutation($i: MintInput!) { mintPassports(input: $i) { id } }', { i: { gtin: '__GTIN__', quantity: 1, idempotencyKey: 'lone', site: LONE, sign: true } }, () => brand.key, /\$i\.site/],
  ['recordCustodyEvent ids with a lone surrogate', 'mutation($i: CustodyEventInput!) { recordCustodyEvent(input: $i) { id } }', { i: { passportIds: ['__UNIT__', '\udc00'], bizStep: 'shipping' } }, () => brand.key, /\$i\.passportIds\[1\]/],
  ['signPassports with an empty ID', 'mutation($i: SignInput!) { signPassports(input: $i) { kid } }', { i: { passportIds: [''] } }, () => brand.key, /\$i\.passportIds\[0\]/],
  ['signPassports with an empty ID, as a literal', 'mutation { signPassports(input: { passportIds: [""] }) { kid } }', undefined, () => brand.key, /signPassports\(input\.passportIds\[0\]\)/],
];

function fill(v: unknown): unknown {
  if (v === undefined) return v;
  const body2 = '061414155556';
  const subs: Record<string, string> = { __BRAND__: brand.id, __GTIN__: gtin, __GTIN2__: body2 + gtinCheckDigit(body2), __UNIT__: unitId };
  return JSON.parse(JSON.stringify(v), (_k, x) => (typeof x === 'string' && x in subs ? subs[x] : x));
}

describe('strings and IDs are checked where input enters (HTTP)', () => {
  it.each(cases)('%s: BAD_USER_INPUT naming the field, 400, nothing written', async (_name, query, variables, key, field) => {
    const r = await refused(query, fill(variables) as Record<string, unknown> | undefined, key());
    expect(r.error?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(r.error?.message).toMatch(field);
    expect(r.status).toBe(400);
  });

  it('refuses variables nested 5,000 arrays deep (captureEpcisDocument) without a stack overflow', async () => {
    // Written by hand: JSON.stringify itself overflows the test's stack at this depth.
    const body = `{"query":${JSON.stringify(CAPTURE)},"variables":{"d":{"type":"EPCISDocument","epcisBody":{"eventList":${'['.repeat(5000)}"leaf"${']'.repeat(5000)}}}}}`;
    const before = await rowCounts(s);
    const res = await fetch(`${s.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${brand.key}` }, body });
    const r = (await res.json()) as { errors?: { message: string; extensions?: Record<string, unknown> }[] };
    expect(await rowCounts(s)).toEqual(before);
    expect(r.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'TOO_DEEP' });
    expect(r.errors?.[0]?.message).toMatch(/\$d/);
    expect(res.status).toBe(400);
  });

  it('refuses a NUL inside a JSON scalar, key or value', async () => {
    for (const d of [{ type: 'EPCISDocument', ['k\u0000']: 1 }, { type: 'EPCISDocument', epcisBody: { eventList: [{ type: NUL }] } }]) {
      const r = await refused('mutation($d: JSON!) { captureEpcisDocument(document: $d) { captureId } }', { d }, brand.key);
      expect(r.error?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'NUL_CHARACTER' });
    }
  });

  it('still takes well-formed input, astral characters included', async () => {
    const r = await s.gql<{ createOrganization: { name: string } }>('mutation($i: OrganizationInput!) { createOrganization(input: $i) { name } }', { i: { name: 'Ünïcødé 🚲 GmbH', kind: 'RETAILER' } }, s.platformKey);
    expect(r.errors).toBeUndefined();
    expect(r.data?.createOrganization.name).toBe('Ünïcødé 🚲 GmbH');
  });
});

describe('the same check over graphql-ws', () => {
  let client: Client;
  beforeAll(() => {
    client = createClient({ url: s.wsUrl, webSocketImpl: WebSocket, retryAttempts: 0, connectionParams: { authorization: `Bearer ${s.platformKey}` } });
  });
  afterAll(async () => {
    await client?.dispose();
  });
  const run = (query: string, variables: Record<string, unknown>) =>
    new Promise<{ errors?: readonly { message: string; extensions?: Record<string, unknown> }[] }>((resolve) => {
      client.subscribe({ query, variables }, { next: (r) => resolve(r as never), error: (e) => resolve({ errors: e as never }), complete: () => undefined });
    });

  it('refuses a NUL, a lone surrogate and an empty ID with BAD_USER_INPUT, writing nothing', async () => {
    const before = await rowCounts(s);
    const outcomes = [
      await run('mutation($i: OrganizationInput!) { createOrganization(input: $i) { id } }', { i: { name: NUL, kind: 'RETAILER' } }),
      await run('mutation($i: OrganizationInput!) { createOrganization(input: $i) { id } }', { i: { name: LONE, kind: 'RETAILER' } }),
      await run('mutation($o: ID!) { createApiKey(organizationId: $o, label: "x") { id } }', { o: '' }),
    ];
    expect(await rowCounts(s)).toEqual(before);
    expect(outcomes.map((o) => [o.errors?.[0]?.extensions?.code, o.errors?.[0]?.extensions?.reason])).toEqual([
      ['BAD_USER_INPUT', 'NUL_CHARACTER'],
      ['BAD_USER_INPUT', 'LONE_SURROGATE'],
      ['BAD_USER_INPUT', 'EMPTY_ID'],
    ]);
  });

  it('refuses variables nested 5,000 arrays deep, sent as raw protocol messages', async () => {
    const ws = new WebSocket(s.wsUrl, 'graphql-transport-ws');
    const messages: { type: string; id?: string; payload?: unknown }[] = [];
    ws.on('message', (m) => messages.push(JSON.parse(String(m))));
    await new Promise((resolve) => ws.once('open', resolve));
    ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${brand.key}` } }));
    await until(() => messages.some((m) => m.type === 'connection_ack'));
    ws.send(`{"type":"subscribe","id":"deep","payload":{"query":${JSON.stringify(CAPTURE)},"variables":{"d":${'['.repeat(5000)}1${']'.repeat(5000)}}}}`);
    expect(await until(() => messages.some((m) => m.id === 'deep'))).toBe(true);
    ws.close();
    const answer = messages.find((m) => m.id === 'deep')!;
    expect(answer.type).toBe('error');
    expect((answer.payload as { extensions?: unknown }[])[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'TOO_DEEP' });
  });
});

describe('a subscription sent over HTTP', () => {
  it.each([
    ['fraudAlerts with a brand key', 'subscription { fraudAlerts { id } }', () => brand.key],
    ['passportEvents, anonymous', 'subscription($p: ID!) { passportEvents(passportId: $p) { id } }', () => undefined],
  ])('%s is refused before execution with 400, naming the websocket URL', async (_name, query, key) => {
    const r = await refused(query, { p: unitId }, key());
    expect(r.status).toBe(400);
    expect(r.error?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'OPERATION_NOT_SUPPORTED', websocketUrl: s.wsUrl });
    expect(r.error?.message).toContain(s.wsUrl);
  });
});

describe('the depth limit holds for introspection', () => {
  it('refuses a 16-deep __schema query (limit 12), answers a shallow one', async () => {
    const deep = '{ __schema { types { fields { type ' + '{ ofType '.repeat(11) + '{ name }' + ' }'.repeat(11) + ' } } } }';
    const r = await s.gql(deep);
    expect(r.status).toBe(400);
    expect(r.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(r.errors?.map((e) => e.message).join(' ')).toMatch(/depth/i);
    // The standard full introspection query is 21 deep: refused at the default limit too (README, Configuration).
    expect((await s.gql(getIntrospectionQuery())).status).toBe(400);
    const shallow = await s.gql<{ __schema: { queryType: { name: string } } }>('{ __schema { queryType { name } } }');
    expect(shallow.data?.__schema.queryType.name).toBe('Query');
  });
});
