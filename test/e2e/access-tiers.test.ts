import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gtinCheckDigit } from '../../src/gs1/index.js';
import { AuditLog } from '../../src/modules/audit/audit-log.entity.js';
import { startTestServer, type TestServer } from '../support/server.js';

let s: TestServer;
let unitId: string;
const keys: Record<string, string | undefined> = {};

// Which field each caller may read on a brand's signed unit (EU DPP tiers, see passport.access.ts).
const FIELDS: Record<string, string> = {
  serial: 'serial',
  status: 'status',
  signature: 'signature { kid }',
  modelName: 'model { name }',
  site: 'site',
  manufacturedAt: 'manufacturedAt',
  verifiableCredential: 'verifiableCredential',
  batchId: 'batchId',
  destinationMarkets: 'destinationMarkets',
  history: 'history { edges { node { type } } }',
  historyVerification: 'historyVerification { valid }',
  lastEvent: 'lastEvent { type seq }',
};
const PUBLIC = ['serial', 'status', 'signature', 'modelName'];
const LEGITIMATE = [...PUBLIC, 'site', 'manufacturedAt', 'verifiableCredential'];
const ALL = Object.keys(FIELDS);
const EXPECTED: Record<string, string[]> = {
  anonymous: PUBLIC,
  OWN_BRAND: ALL,
  OTHER_BRAND: PUBLIC,
  RETAILER: PUBLIC,
  DISTRIBUTOR: PUBLIC,
  RECYCLER: LEGITIMATE,
  SERVICE_PARTNER: LEGITIMATE,
  REGULATOR: ALL,
  CUSTOMS: ALL,
  PLATFORM: ALL,
};

beforeAll(async () => {
  s = await startTestServer();
  const brand = await s.org('BRAND', { gs1CompanyPrefixes: ['5012345'] });
  keys.OWN_BRAND = brand.key;
  keys.OTHER_BRAND = (await s.org('BRAND')).key;
  for (const kind of ['RETAILER', 'DISTRIBUTOR', 'RECYCLER', 'SERVICE_PARTNER', 'REGULATOR', 'CUSTOMS']) keys[kind] = (await s.org(kind)).key;
  keys.PLATFORM = s.platformKey;
  keys.anonymous = undefined;
  const body = '501234500001';
  const gtin = body + gtinCheckDigit(body);
  await s.gql('mutation($i: ProductModelInput!) { createProductModel(input: $i) { id } }', { i: { gtin, name: 'Tiered' } }, brand.key);
  const minted = await s.gql<{ mintPassports: { id: string; passports: { id: string }[] } }>(
    'mutation($i: MintInput!) { mintPassports(input: $i) { id passports { id } } }',
    { i: { gtin, quantity: 1, site: 'Plant 1', destinationMarkets: ['DE'], idempotencyKey: 'tiers' } },
    brand.key,
  );
  unitId = minted.data!.mintPassports.passports[0]!.id;
  await s.gql('mutation($b: ID!) { signPassports(input: { batchId: $b }) { signed } }', { b: minted.data!.mintPassports.id }, brand.key);
});
afterAll(async () => {
  await s?.stop();
});

describe('passport field tiers, every field from every kind of caller', () => {
  for (const [caller, visible] of Object.entries(EXPECTED)) {
    for (const [field, selection] of Object.entries(FIELDS)) {
      const allowed = visible.includes(field);
      it(`${caller} ${allowed ? 'reads' : 'is refused'} ${field}`, async () => {
        const r = await s.gql<{ passport: Record<string, unknown> | null }>(`query($id: ID!) { passport(id: $id) { id ${selection} } }`, { id: unitId }, keys[caller]);
        if (allowed) {
          expect(r.errors, JSON.stringify(r.errors)).toBeUndefined();
          expect(r.data?.passport?.[field === 'modelName' ? 'model' : field]).not.toBeNull();
        } else {
          expect(r.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
          expect(r.errors?.[0]?.path).toContain(field === 'modelName' ? 'model' : field);
        }
      });
    }
  }
});

describe('audit of restricted reads', () => {
  it('logs every restricted read by an authority, not public reads and not the brand\'s own', async () => {
    const count = () => s.db.orm.em.fork().count(AuditLog, { passportId: unitId });
    const before = await count();
    await s.gql('query($id: ID!) { passport(id: $id) { serial status } }', { id: unitId }, keys.REGULATOR);
    expect(await count()).toBe(before);
    await s.gql('query($id: ID!) { passport(id: $id) { site history { edges { node { type } } } } }', { id: unitId }, keys.OWN_BRAND);
    expect(await count()).toBe(before);
    const read = await s.gql('query($id: ID!) { passport(id: $id) { site batchId history { edges { node { type } } } } }', { id: unitId }, keys.CUSTOMS);
    expect(read.errors).toBeUndefined();
    expect(await count()).toBe(before + 1);
    const rows = await s.db.orm.em.fork().find(AuditLog, { passportId: unitId }, { orderBy: { id: 'desc' }, limit: 1 });
    expect(rows[0]!.action).toBe('READ_RESTRICTED');
    expect((rows[0]!.details.fields as string[]).sort()).toEqual(['Passport.batchId', 'Passport.history', 'Passport.site']);
  });

  it('shows the trail to the platform, the unit\'s brand and the reader, and to nobody else', async () => {
    const Q = 'query($p: ID) { auditLog(passportId: $p) { entries { action passportId details } hasNextPage } }';
    type Page = { auditLog: { entries: { passportId: string }[] } };
    for (const who of ['PLATFORM', 'OWN_BRAND', 'CUSTOMS']) {
      const r = await s.gql<Page>(Q, { p: unitId }, keys[who]);
      expect(r.data!.auditLog.entries.length, who).toBeGreaterThan(0);
    }
    for (const who of ['OTHER_BRAND', 'RETAILER', 'RECYCLER']) {
      const r = await s.gql<Page>(Q, { p: unitId }, keys[who]);
      expect(r.data!.auditLog.entries, who).toHaveLength(0);
    }
    expect((await s.gql(Q, { p: unitId })).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('refuses to change an audit row at the database level', async () => {
    const conn = s.db.orm.em.fork().getConnection();
    await expect(conn.execute(`delete from audit_log where passport_id = ?`, [unitId])).rejects.toThrow(/append-only/);
  });
});

describe('verifyHistory', () => {
  it('reports a valid chain to the brand and authorities, and NOT_FOUND to others', async () => {
    const Q = 'query($id: ID!) { verifyHistory(passportId: $id) { valid length headHash firstBrokenSeq } }';
    for (const who of ['OWN_BRAND', 'REGULATOR', 'PLATFORM']) {
      const r = await s.gql<{ verifyHistory: { valid: boolean; length: number } }>(Q, { id: unitId }, keys[who]);
      expect(r.data?.verifyHistory).toMatchObject({ valid: true, length: 2 });
    }
    for (const who of ['OTHER_BRAND', 'RETAILER', 'RECYCLER']) {
      expect((await s.gql(Q, { id: unitId }, keys[who])).errors?.[0]?.extensions?.code, who).toBe('NOT_FOUND');
    }
  });
});
