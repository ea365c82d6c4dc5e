import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gtinCheckDigit } from '../../src/gs1/index.js';
import { startOutboxRelay } from '../../src/modules/alerts/outbox-relay.js';
import { createLogger } from '../../src/logging/logger.js';
import { liveSubscription, until, withFlippedSignature } from '../support/live.js';
import { startTestServer, type TestServer } from '../support/server.js';

let s: TestServer;
let brand: { id: string; key: string };
let other: { id: string; key: string };
let links: string[];
const clients: Client[] = [];

const SUB = 'subscription($f: AlertFilter) { fraudAlerts(filter: $f) { id kind severity gtin passportId count evidence } }';
type Alert = { id: string; kind: string; severity: string; count: number; evidence: unknown };

/** A live fraudAlerts subscription; `received` fills as alerts arrive, `error()` holds a refusal. */
const subscribe = (key: string | undefined, filter?: Record<string, unknown>) =>
  liveSubscription<Alert>(clients, { wsUrl: s.wsUrl, key, query: SUB, variables: { f: filter }, field: 'fraudAlerts' });
const forged = withFlippedSignature;

beforeAll(async () => {
  s = await startTestServer();
  brand = await s.org('BRAND', { gs1CompanyPrefixes: ['7612345'] });
  other = await s.org('BRAND', { gs1CompanyPrefixes: ['7654321'] });
  const body = '761234500001';
  const gtin = body + gtinCheckDigit(body);
  await s.gql('mutation($i: ProductModelInput!) { createProductModel(input: $i) { id } }', { i: { gtin, name: 'Live' } }, brand.key);
  const m = await s.gql<{ mintPassports: { id: string; passports: { id: string }[] } }>('mutation($i: MintInput!) { mintPassports(input: $i) { id passports { id } } }', { i: { gtin, quantity: 4, idempotencyKey: 'live' } }, brand.key);
  await s.gql('mutation($b: ID!) { signPassports(input: { batchId: $b }) { signed } }', { b: m.data!.mintPassports.id }, brand.key);
  links = await Promise.all(
    m.data!.mintPassports.passports.map(async (p) => (await s.gql<{ passport: { digitalLink: string } }>('query($id: ID!) { passport(id: $id) { digitalLink } }', { id: p.id }, brand.key)).data!.passport.digitalLink),
  );
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.dispose()));
  await s?.stop();
});

describe('fraudAlerts subscription', () => {
  it('delivers an alert raised by a scan to the brand, and nothing to another brand', async () => {
    const mine = subscribe(brand.key);
    const theirs = subscribe(other.key);
    await Promise.all([mine.ready, theirs.ready]);
    const scan = await s.gql<{ verifyScan: { verdict: string; alerts: { id: string }[] } }>('mutation($i: ScanInput!) { verifyScan(input: $i) { verdict alerts { id } } }', { i: { digitalLink: forged(links[0]!) } });
    expect(scan.data!.verifyScan.verdict).toBe('COUNTERFEIT');
    expect(await until(() => mine.received.length > 0)).toBe(true);
    expect(mine.received[0]).toMatchObject({ id: scan.data!.verifyScan.alerts[0]!.id, kind: 'INVALID_SIGNATURE', severity: 'CRITICAL' });
    await new Promise((r) => setTimeout(r, 300));
    expect(theirs.received).toHaveLength(0);
  });

  it('applies the filter', async () => {
    const onlyTravel = subscribe(brand.key, { kind: 'IMPOSSIBLE_TRAVEL' });
    const all = subscribe(brand.key);
    await Promise.all([onlyTravel.ready, all.ready]);
    await s.gql('mutation($i: ScanInput!) { verifyScan(input: $i) { verdict } }', { i: { digitalLink: forged(links[1]!) } });
    expect(await until(() => all.received.length > 0)).toBe(true);
    await new Promise((r) => setTimeout(r, 200));
    expect(onlyTravel.received).toHaveLength(0);
  });

  it('refuses subscribers without a key (UNAUTHENTICATED) and of a kind that receives no alerts (FORBIDDEN)', async () => {
    const retailer = await s.org('RETAILER');
    const anon = subscribe(undefined);
    const shop = subscribe(retailer.key);
    expect(await until(() => Boolean(anon.error()) && Boolean(shop.error()))).toBe(true);
    expect(JSON.stringify(anon.error())).toContain('UNAUTHENTICATED');
    expect(JSON.stringify(shop.error())).toContain('FORBIDDEN');
  });

  it('publishes, after a restart, an alert committed while the relay was down: once', async () => {
    const live = subscribe(brand.key);
    await live.ready;
    await s.services.outbox!.stop(); // the process "dies" between commit and publish
    const scan = await s.gql<{ verifyScan: { alerts: { id: string }[] } }>('mutation($i: ScanInput!) { verifyScan(input: $i) { alerts { id } } }', { i: { digitalLink: forged(links[2]!) } });
    const alertId = scan.data!.verifyScan.alerts[0]!.id;
    await new Promise((r) => setTimeout(r, 400));
    expect(live.received.filter((a) => a.id === alertId)).toHaveLength(0);
    const [pending] = await s.db.orm.em.fork().getConnection().execute<{ n: number }[]>("select count(*)::int as n from outbox_message where published_at is null");
    expect(pending!.n).toBeGreaterThan(0);

    const relay = startOutboxRelay(s.db.orm, s.services.alertBus, createLogger('silent'));
    s.services.outbox = relay;
    expect(await until(() => live.received.some((a) => a.id === alertId))).toBe(true);
    await relay.flush();
    expect(await relay.flush()).toBe(0);
    await new Promise((r) => setTimeout(r, 300));
    expect(live.received.filter((a) => a.id === alertId)).toHaveLength(1);
  });

  it('lets a reconnecting app catch up through the fraudAlerts query with a cursor, nothing lost', async () => {
    const first = await s.gql<{ fraudAlerts: { edges: { cursor: string; node: { id: string } }[]; pageInfo: { endCursor: string } } }>(
      '{ fraudAlerts(first: 1) { edges { cursor node { id } } pageInfo { endCursor } } }',
      {},
      brand.key,
    );
    const rest = await s.gql<{ fraudAlerts: { edges: { node: { id: string } }[] } }>('query($a: String) { fraudAlerts(after: $a) { edges { node { id } } } }', { a: first.data!.fraudAlerts.pageInfo.endCursor }, brand.key);
    const all = await s.gql<{ fraudAlerts: { edges: { node: { id: string } }[] } }>('{ fraudAlerts { edges { node { id } } } }', {}, brand.key);
    expect([...first.data!.fraudAlerts.edges, ...rest.data!.fraudAlerts.edges].map((e) => e.node.id)).toEqual(all.data!.fraudAlerts.edges.map((e) => e.node.id));
    expect(all.data!.fraudAlerts.edges.length).toBeGreaterThanOrEqual(3);
  });
});
