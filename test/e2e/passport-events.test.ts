import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gtinCheckDigit } from '../../src/gs1/index.js';
import { startOutboxRelay } from '../../src/modules/alerts/outbox-relay.js';
import { createLogger } from '../../src/logging/logger.js';
import { liveSubscription, sleep, until } from '../support/live.js';
import { startTestServer, type TestServer } from '../support/server.js';

type Org = { id: string; key: string };
type Event = { id: string; passportId: string; seq: number; type: string; actorId: string | null; payload: Record<string, unknown>; prevHash: string | null; hash: string; occurredAt: string };

const SUB = 'subscription($p: ID!) { passportEvents(passportId: $p) { id passportId seq type actorId payload prevHash hash occurredAt } }';
const RECORD = 'mutation($i: CustodyEventInput!) { recordCustodyEvent(input: $i) { id seq hash } }';

let s: TestServer;
let brand: Org;
let otherBrand: Org;
let retailer: Org;
let regulator: Org;
let gtin: string;
let batchNo = 0;
const clients: Client[] = [];

/** A live passportEvents subscription: `received` fills as events arrive, `error()` holds a refusal. */
const subscribe = (passportId: string, key: string | undefined) =>
  liveSubscription<Event>(clients, { wsUrl: s.wsUrl, key, query: SUB, variables: { p: passportId }, field: 'passportEvents' });

async function mint(quantity: number, sign = true): Promise<{ batchId: string; ids: string[] }> {
  const m = await s.gql<{ mintPassports: { id: string; passports: { id: string }[] } }>(
    'mutation($i: MintInput!) { mintPassports(input: $i) { id passports { id } } }',
    { i: { gtin, quantity, idempotencyKey: `events-${batchNo++}` } },
    brand.key,
  );
  if (m.errors) throw new Error(JSON.stringify(m.errors));
  const batchId = m.data!.mintPassports.id;
  if (sign) await signBatch(batchId);
  // The SIGNED events' outbox rows are relayed before a test subscribes (under load the relay may lag the answer).
  await s.services.outbox?.flush();
  return { batchId, ids: m.data!.mintPassports.passports.map((p) => p.id) };
}
async function signBatch(batchId: string) {
  const r = await s.gql('mutation($b: ID!) { signPassports(input: { batchId: $b }) { signed } }', { b: batchId }, brand.key);
  if (r.errors) throw new Error(JSON.stringify(r.errors));
}
async function ship(passportIds: string[], key = retailer.key) {
  const r = await s.gql<{ recordCustodyEvent: { id: string; seq: number; hash: string } }>(RECORD, { i: { passportIds, bizStep: 'shipping', country: 'DE' } }, key);
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  return r.data!.recordCustodyEvent;
}

beforeAll(async () => {
  s = await startTestServer();
  brand = await s.org('BRAND', { gs1CompanyPrefixes: ['7612300'] });
  otherBrand = await s.org('BRAND', { gs1CompanyPrefixes: ['7612399'] });
  retailer = await s.org('RETAILER');
  regulator = await s.org('REGULATOR');
  const body = '761230000015';
  gtin = body + gtinCheckDigit(body);
  const r = await s.gql('mutation($i: ProductModelInput!) { createProductModel(input: $i) { id } }', { i: { gtin, name: 'Events' } }, brand.key);
  if (r.errors) throw new Error(JSON.stringify(r.errors));
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.dispose()));
  await s?.stop();
});

describe('passportEvents subscription', () => {
  it('delivers to the brand a custody event recorded after subscribing, as stored, and nothing of other units', async () => {
    const { ids } = await mint(2);
    const [unit, neighbour] = ids as [string, string];
    const mine = subscribe(unit, brand.key);
    await mine.ready;
    await ship([neighbour]);
    const recorded = await ship([unit]);
    expect(await until(() => mine.received.length > 0)).toBe(true);
    await sleep(300);
    expect(mine.received).toHaveLength(1);
    expect(mine.received[0]).toMatchObject({ id: recorded.id, passportId: unit, seq: 3, type: 'CUSTODY', actorId: retailer.id, hash: recorded.hash, payload: { bizStep: 'shipping', country: 'DE' } });
    // The delivered event is the one the history holds, hash chain included.
    const h = await s.gql<{ passport: { history: { edges: { node: { id: string; hash: string; prevHash: string } }[] } } }>(
      'query($id: ID!) { passport(id: $id) { history { edges { node { id hash prevHash } } } } }',
      { id: unit },
      brand.key,
    );
    expect(h.data!.passport.history.edges.at(-1)!.node).toEqual({ id: recorded.id, hash: recorded.hash, prevHash: mine.received[0]!.prevHash });
  });

  it('delivers the SIGNED event of a bulk signing, and later events in seq order (custody, sale)', async () => {
    const { batchId, ids } = await mint(3, false);
    const unit = ids[1]!;
    const live = subscribe(unit, brand.key);
    await live.ready;
    await signBatch(batchId);
    await ship([unit]);
    const sold = await s.gql('mutation($i: CustodyEventInput!) { recordCustodyEvent(input: $i) { seq } }', { i: { passportIds: [unit], bizStep: 'retail_selling' } }, retailer.key);
    expect(sold.errors).toBeUndefined();
    expect(await until(() => live.received.length >= 3)).toBe(true);
    await sleep(300);
    expect(live.received.map((e) => [e.seq, e.type])).toEqual([
      [2, 'SIGNED'],
      [3, 'CUSTODY'],
      [4, 'CUSTODY'],
    ]);
    expect(live.received.every((e) => e.passportId === unit)).toBe(true);
  });

  it('lets authorities subscribe (an audited read)', async () => {
    const { ids } = await mint(1);
    const authority = subscribe(ids[0]!, regulator.key);
    await authority.ready;
    await ship(ids);
    expect(await until(() => authority.received.length === 1)).toBe(true);
    const audit = await s.db.orm.em.fork().getConnection().execute<{ n: number }[]>("select count(*)::int as n from audit_log where passport_id = ? and details::text like '%passportEvents%'", [ids[0]]);
    expect(audit[0]!.n).toBe(1);
  });

  it('refuses another brand and a retailer (FORBIDDEN), no key (UNAUTHENTICATED), an unknown or malformed id (NOT_FOUND), and delivers them nothing', async () => {
    const { ids } = await mint(1);
    const unit = ids[0]!;
    const foreign = subscribe(unit, otherBrand.key);
    const shop = subscribe(unit, retailer.key);
    const anon = subscribe(unit, undefined);
    const unknown = subscribe('00000000-0000-4000-8000-000000000000', brand.key);
    const malformed = subscribe('not-a-passport', brand.key);
    const all = [foreign, shop, anon, unknown, malformed];
    expect(await until(() => all.every((x) => Boolean(x.error())))).toBe(true);
    const codeOf = (x: (typeof all)[number]) => JSON.stringify(x.error());
    expect(codeOf(foreign)).toContain('FORBIDDEN');
    expect(codeOf(shop)).toContain('FORBIDDEN');
    expect(codeOf(anon)).toContain('UNAUTHENTICATED');
    expect(codeOf(unknown)).toContain('NOT_FOUND');
    expect(codeOf(malformed)).toContain('NOT_FOUND');
    await ship([unit]);
    await sleep(500);
    expect(all.flatMap((x) => x.received)).toEqual([]);
  });

  it('publishes, after a restart, an event committed while the relay was down: once', async () => {
    const { ids } = await mint(1);
    const unit = ids[0]!;
    const live = subscribe(unit, brand.key);
    await live.ready;
    await s.services.outbox!.stop(); // the process "dies" between commit and publish
    const recorded = await ship([unit]);
    await sleep(400);
    expect(live.received).toHaveLength(0);

    // A relay whose timer would not fire within the test: what it publishes comes from its start-up pass
    // and from the kick every commit that wrote outbox rows gives it.
    const relay = startOutboxRelay(s.db.orm, s.services.alertBus, createLogger('silent'), 600_000);
    s.services.outbox = relay;
    expect(await until(() => live.received.length > 0)).toBe(true);
    await relay.flush();
    expect(await relay.flush()).toBe(0);
    await sleep(300);
    expect(live.received.map((e) => e.id)).toEqual([recorded.id]);

    const next = await ship([unit]);
    expect(await until(() => live.received.length === 2, 2000)).toBe(true);
    expect(live.received[1]!.id).toBe(next.id);
  });

  it('does not publish a rolled-back append (a refused custody event)', async () => {
    const { ids } = await mint(1, false); // MINTED: shipping is an illegal move before signing
    const unit = ids[0]!;
    const live = subscribe(unit, brand.key);
    await live.ready;
    const r = await s.gql(RECORD, { i: { passportIds: [unit], bizStep: 'shipping' } }, retailer.key);
    expect(r.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    await sleep(500);
    expect(live.received).toEqual([]);
    const pending = await s.db.orm.em.fork().getConnection().execute<{ n: number }[]>("select count(*)::int as n from outbox_message where published_at is null");
    expect(pending[0]!.n).toBe(0);
  });
});
