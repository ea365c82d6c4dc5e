import type { EntityManager } from '@mikro-orm/postgresql';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { createModel, gtinFor, mintSigned, ok, type Org, sell } from '../support/battery-fixtures.js';
import { modelData } from '../support/battery-pass.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { describeVectors } from '../unit/vectors.js';

// Passport.batteryPass (and the credentials' battery part) on a page of passports: one statement, not one per unit.
const BATTERIES = 12;
const PLAIN = 3;
const PAGE = `query($g: String!) { passports(first: 50, filter: { gtin: $g }) { edges { node { id batteryPass } } } }`;
const PAGE_WITH_CREDENTIALS = `query($g: String!) { passports(first: 50, filter: { gtin: $g }) { edges { node { id batteryPass verifiableCredential } } } }`;

let s: TestServer;
let brand: Org;
let gtin: string;
let plainGtin: string;

/** Runs `fn` and answers how many battery-facts statements (battery-pass.ts) reached the database meanwhile. */
async function factsStatements(fn: () => Promise<unknown>): Promise<number> {
  const client = (s.db.orm.em.fork() as EntityManager).getConnection().getClient() as unknown as { executeQuery: (q: { sql: string }) => Promise<unknown> };
  const spy = vi.spyOn(client, 'executeQuery');
  try {
    await fn();
    return spy.mock.calls.filter(([q]) => q.sql.includes('as put_into_service')).length;
  } finally {
    spy.mockRestore();
  }
}

describeVectors('battery passports on a page of passports (DataLoader)', () => {
  beforeAll(async () => {
    s = await startTestServer();
    brand = await s.org('BRAND', { gs1CompanyPrefixes: ['0614143'] });
    const retailer = await s.org('RETAILER');
    gtin = gtinFor('0614143', '00001');
    plainGtin = gtinFor('0614143', '00002');
    ok(await createModel(s, brand.key, gtin, { category: 'LMT', data: modelData() }));
    ok(await createModel(s, brand.key, plainGtin));
    const units = await mintSigned(s, brand.key, gtin, BATTERIES);
    for (const u of units.slice(0, 4)) await sell(s, u, retailer.id);
    await mintSigned(s, brand.key, plainGtin, PLAIN);
  });
  afterAll(async () => {
    await s?.stop();
  });

  it('reads the battery facts of a whole page in one statement', async () => {
    let data: { passports: { edges: { node: { id: string; batteryPass: Record<string, any> | null } }[] } } | undefined;
    const n = await factsStatements(async () => {
      data = ok(await s.gql<NonNullable<typeof data>>(PAGE, { g: gtin }, brand.key));
    });
    const nodes = data!.passports.edges.map((e) => e.node);
    expect(nodes).toHaveLength(BATTERIES);
    expect(nodes.every((p) => p.batteryPass?.generalProductInformation?.batteryCategory === 'lmt')).toBe(true);
    // Each unit got its own facts, not a neighbour's.
    expect(new Set(nodes.map((p) => p.batteryPass!.generalProductInformation.batteryPassportIdentifier)).size).toBe(BATTERIES);
    expect(nodes.filter((p) => p.batteryPass!.generalProductInformation.puttingIntoService)).toHaveLength(4);
    expect(n).toBe(1);
  });

  it('shares that one statement with the credentials of the same page; a page without batteries answers null', async () => {
    expect(await factsStatements(async () => ok(await s.gql(PAGE_WITH_CREDENTIALS, { g: gtin }, brand.key)))).toBe(1);
    const CREDENTIALS_ONLY = PAGE_WITH_CREDENTIALS.replace(' batteryPass ', ' ');
    expect(await factsStatements(async () => ok(await s.gql(CREDENTIALS_ONLY, { g: gtin }, brand.key)))).toBe(1);
    let plain: { passports: { edges: { node: { batteryPass: unknown } }[] } } | undefined;
    expect(await factsStatements(async () => (plain = ok(await s.gql<NonNullable<typeof plain>>(PAGE, { g: plainGtin }, brand.key))))).toBe(1);
    expect(plain!.passports.edges.map((e) => e.node.batteryPass)).toEqual(Array(PLAIN).fill(null));
  });

  it('counts one statement per unit when asked one by one (so the count above can fail)', async () => {
    const ids = ok(await s.gql<{ passports: { edges: { node: { id: string } }[] } }>(PAGE, { g: gtin }, brand.key)).passports.edges.map((e) => e.node.id);
    const n = await factsStatements(async () => {
      for (const id of ids.slice(0, 3)) ok(await s.gql('query($id: ID!) { passport(id: $id) { batteryPass } }', { id }, brand.key));
    });
    expect(n).toBe(3);
  });
});
