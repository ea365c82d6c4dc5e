import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { EntityManager } from '@mikro-orm/postgresql';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawQuery } from '../../src/db/raw.js';
import { gtinCheckDigit } from '../../src/gs1/index.js';
import { PROJECTION_EXTENSION } from '../../src/modules/custody/custody-export.js';
import { COUNTRY_EXTENSION, MAX_CLOCK_SKEW_MS } from '../../src/modules/custody/custody.service.js';
import { EPCIS_CONTEXT } from '../../src/modules/history/epcis.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { MADE_FIXED, model, sign, unitsWithSerials } from '../support/units.js';
import { describeVectors, vectorsDir } from '../unit/vectors.js';

// See test/unit/epcis.test.ts for why ajv-formats is called through `.default`.
const addFormats = addFormatsModule.default;

/** Both servers write Digital Links on the same resolver host, so their exports compare byte for byte. */
const HOST = 'https://id.example.com';
const PREFIX = '0614141';
/** When minted units were made: before every event time the tests use (2024). */
const MADE = '2020-01-01T00:00:00.000Z';
const LGTIN_PREFIX = '4012345';

const RECORD = `mutation($i: CustodyEventInput!) { recordCustodyEvent(input: $i) { id passportId seq type occurredAt actorId payload hash } }`;
const CAPTURE = `mutation($d: JSON!, $k: String) { captureEpcisDocument(document: $d, idempotencyKey: $k) { captureId accepted duplicates replayed } }`;
const EPCIS = `query($id: ID!) { passport(id: $id) { id status epcis } }`;
const STATUS = `query($id: ID!) { passport(id: $id) { status } }`;

type Org = { id: string; key: string };
type Unit = { id: string; serial: string; sgtinUri: string };
type Recorded = { recordCustodyEvent: { id: string; passportId: string; seq: number; type: string; occurredAt: string; actorId: string; payload: Record<string, unknown>; hash: string } };
type Captured = { captureEpcisDocument: { captureId: string; accepted: number; duplicates: number; replayed: boolean } };
type Exported = { passport: { id: string; status: string; epcis: EpcisDoc | null } | null };
type EpcisDoc = { id: string; '@context': unknown; epcisBody: { eventList: Array<Record<string, unknown>> } } & Record<string, unknown>;

let s: TestServer;
let brand: Org;
let otherBrand: Org;
let retailer: Org;
let distributor: Org;
let gtin: string;
let item = 200000;
let batchNo = 0;

const code = (r: { errors?: { extensions?: { code?: string } }[] }) => r.errors?.[0]?.extensions?.code;
const em = (server = s) => server.db.orm.em.fork() as EntityManager;

/** A fresh valid GTIN-13 under `prefix`. */
function nextGtin(prefix = PREFIX): string {
  const body = `${prefix}${String(item++).slice(-(12 - prefix.length))}`.padStart(12, '0');
  return body + gtinCheckDigit(body);
}

/** Mints `quantity` units through the API and signs the first `signed` (all by default). */
async function units(quantity: number, opts: { signed?: number; gtin?: string; lot?: string; server?: TestServer; key?: string; made?: string } = {}): Promise<Unit[]> {
  const server = opts.server ?? s;
  const key = opts.key ?? brand.key;
  const r = await server.gql<{ mintPassports: { passports: Unit[] } }>(
    'mutation($i: MintInput!) { mintPassports(input: $i) { passports { id serial sgtinUri } } }',
    // Made long before the 2024 event times used here: events before a unit's manufacture are refused.
    { i: { gtin: opts.gtin ?? gtin, quantity, lot: opts.lot, manufacturedAt: opts.made ?? MADE, idempotencyKey: `custody-${batchNo++}` } },
    key,
  );
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  const minted = r.data!.mintPassports.passports;
  const signed = opts.signed ?? quantity;
  if (signed > 0) await sign(server, key, minted.slice(0, signed).map((u) => u.id));
  return minted;
}

async function counts(server = s) {
  const [row] = await rawQuery<{ events: number; captures: number; captured: number }>(
    em(server),
    `select (select count(*)::int from lifecycle_event) as events, (select count(*)::int from epcis_capture) as captures,
       (select count(*)::int from captured_epcis_event) as captured`,
    [],
  );
  return row!;
}

type StoredCustody = { seq: number; type: string; occurred_at: string; actor_id: string; payload: Record<string, unknown> };

async function custodyOf(passportId: string, server = s): Promise<StoredCustody[]> {
  return rawQuery<StoredCustody>(
    em(server),
    `select seq, type, actor_id, payload, to_char(occurred_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as occurred_at
     from lifecycle_event where passport_id = $1 and type = 'CUSTODY' order by seq`,
    [passportId],
  );
}

async function status(id: string): Promise<string> {
  const r = await s.gql<{ passport: { status: string } }>(STATUS, { id }, brand.key);
  return r.data!.passport.status;
}

const dl = (g: string, serial: string) => `${HOST}/01/${g}/21/${serial}`;
let eventNo = 0;

function objectEvent(epcList: string[] | undefined, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'ObjectEvent',
    eventID: `urn:uuid:${uuidv7()}`,
    eventTime: new Date(Date.UTC(2024, 4, 1, 10, 0, 0, eventNo++ % 1000)).toISOString(),
    eventTimeZoneOffset: '+00:00',
    action: 'OBSERVE',
    bizStep: 'shipping',
    disposition: 'in_transit',
    ...(epcList ? { epcList } : {}),
    readPoint: { id: 'urn:epc:id:sgln:0614141.00777.0' },
    ...overrides,
  };
}

function epcisDoc(eventList: unknown[], context: unknown = [EPCIS_CONTEXT]): Record<string, unknown> {
  return { '@context': context, type: 'EPCISDocument', schemaVersion: '2.0', creationDate: '2024-05-01T10:00:00Z', epcisBody: { eventList } };
}

let validate: ValidateFunction | undefined;
/** GS1's EPCIS 2.0 JSON schema (from the shared vectors); undefined when the folder is absent. */
function schemaValidator(): ValidateFunction | undefined {
  if (!vectorsDir) return undefined;
  if (!validate) {
    const ajv = new Ajv({ strict: true, strictRequired: false, allErrors: true });
    addFormats(ajv);
    validate = ajv.compile(JSON.parse(readFileSync(path.join(vectorsDir, 'epcis', 'EPCIS-JSON-Schema.json'), 'utf8')) as object);
  }
  return validate;
}

function expectSchemaValid(doc: unknown): void {
  const v = schemaValidator();
  if (!v) return; // no vectors folder (a user's clone): the structural checks in each test still run
  const ok = v(doc);
  expect(v.errors ?? [], JSON.stringify(v.errors, null, 1)).toEqual([]);
  expect(ok).toBe(true);
}

beforeAll(async () => {
  s = await startTestServer({ DPP_RESOLVER_HOST: HOST });
  brand = await s.org('BRAND', { gs1CompanyPrefixes: [PREFIX, LGTIN_PREFIX] });
  otherBrand = await s.org('BRAND', { gs1CompanyPrefixes: ['0700000'] });
  retailer = await s.org('RETAILER');
  distributor = await s.org('DISTRIBUTOR');
  gtin = await model(s, brand.key, nextGtin());
});
afterAll(async () => {
  await s?.stop();
});

describe('recordCustodyEvent', () => {
  it('moves a unit through shipping, receiving (IN_SUPPLY_CHAIN) and retail_selling (SOLD) by a retailer', async () => {
    const [u] = await units(1);
    const ship = await s.gql<Recorded>(
      RECORD,
      { i: { passportIds: [u!.id], bizStep: 'shipping', disposition: 'urn:epcglobal:cbv:disp:in_transit', readPoint: 'urn:epc:id:sgln:0614141.00001.0', country: 'de' } },
      distributor.key,
    );
    expect(ship.errors).toBeUndefined();
    const e = ship.data!.recordCustodyEvent;
    expect(e).toMatchObject({ passportId: u!.id, seq: 3, type: 'CUSTODY', actorId: distributor.id });
    expect(e.payload).toEqual({
      eventID: expect.stringMatching(/^urn:uuid:[0-9a-f-]{36}$/),
      eventTimeZoneOffset: '+00:00',
      action: 'OBSERVE',
      bizStep: 'shipping',
      disposition: 'in_transit',
      readPoint: 'urn:epc:id:sgln:0614141.00001.0',
      country: 'DE',
      epcIndex: 0,
    });
    expect(await status(u!.id)).toBe('IN_SUPPLY_CHAIN');

    const at = '2024-06-01T09:30:00.000Z';
    const receive = await s.gql<Recorded>(
      RECORD,
      { i: { passportIds: [u!.id], bizStep: 'https://ref.gs1.org/cbv/BizStep-receiving', bizLocation: 'urn:epc:id:sgln:0614141.00002.0', eventTime: at } },
      retailer.key,
    );
    expect(receive.data!.recordCustodyEvent).toMatchObject({ seq: 4, occurredAt: at, payload: { bizStep: 'receiving', bizLocation: 'urn:epc:id:sgln:0614141.00002.0' } });
    expect(await status(u!.id)).toBe('IN_SUPPLY_CHAIN');

    const sell = await s.gql<Recorded>(RECORD, { i: { passportIds: [u!.id], bizStep: 'retail_selling', disposition: 'retail_sold', country: 'FR' } }, retailer.key);
    expect(sell.data!.recordCustodyEvent).toMatchObject({ seq: 5, payload: { bizStep: 'retail_selling', disposition: 'retail_sold' } });
    expect(await status(u!.id)).toBe('SOLD');

    // a sold unit cannot be sold again, and the refusal writes nothing
    const before = await counts();
    const again = await s.gql(RECORD, { i: { passportIds: [u!.id], bizStep: 'retail_selling' } }, retailer.key);
    expect(code(again)).toBe('CONFLICT');
    expect(await counts()).toEqual(before);
  });

  it('writes one event per passport for many passports in one call (repeated ids once), answering the first', async () => {
    const list = await units(5);
    const ids = list.map((u) => u.id);
    const before = await counts();
    const r = await s.gql<Recorded>(RECORD, { i: { passportIds: [ids[3], ...ids, ids[0]], bizStep: 'receiving' } }, distributor.key);
    expect(r.errors).toBeUndefined();
    expect(r.data!.recordCustodyEvent.passportId).toBe(ids[3]);
    const after = await counts();
    expect(after.events - before.events).toBe(5);
    expect(after.captured - before.captured).toBe(1);
    const eventIds = new Set<unknown>();
    for (const id of ids) {
      const events = await custodyOf(id);
      expect(events).toHaveLength(1);
      eventIds.add(events[0]!.payload.eventID);
      expect(await status(id)).toBe('IN_SUPPLY_CHAIN');
    }
    expect(eventIds.size).toBe(1);
  });

  it('refuses an illegal move (CUSTODY on a MINTED unit) with CONFLICT, writing nothing for any listed unit', async () => {
    const list = await units(3, { signed: 2 });
    const minted = list[2]!.id;
    const before = await counts();
    const r = await s.gql(RECORD, { i: { passportIds: [list[0]!.id, minted, list[1]!.id], bizStep: 'shipping' } }, retailer.key);
    expect(code(r)).toBe('CONFLICT');
    expect(r.errors![0]!.extensions).toMatchObject({ passportId: minted, from: 'MINTED', event: 'CUSTODY' });
    expect(await counts()).toEqual(before);
    expect(await status(list[0]!.id)).toBe('SIGNED');
    expect(await status(minted)).toBe('MINTED');
  });

  const future = () => new Date(Date.now() + 2 * 86_400_000).toISOString();
  it.each([
    ['an unknown bizStep', { bizStep: 'teleporting' }, 'bizStep'],
    ['an unknown term in the CBV namespace', { bizStep: 'https://ref.gs1.org/cbv/BizStep-teleporting' }, 'bizStep'],
    ['an unknown disposition', { disposition: 'lost' }, 'disposition'],
    ['a bad country', { country: 'XX' }, 'country'],
    ['a country name', { country: 'Germany' }, 'country'],
    ['a 501-character readPoint', { readPoint: `urn:x:${'a'.repeat(495)}` }, 'readPoint'],
    ['a 501-character bizLocation', { bizLocation: `urn:x:${'a'.repeat(495)}` }, 'bizLocation'],
    ['a readPoint that is not a URI', { readPoint: 'Shop 12, Berlin' }, 'readPoint'],
    ['an eventTime two days ahead', { eventTime: future() }, 'eventTime'],
    ['an eventTime before 1970', { eventTime: '1969-12-31T23:59:59Z' }, 'eventTime'],
    ['an eventTime six minutes ahead (past the clock-skew allowance)', { eventTime: new Date(Date.now() + 6 * 60_000).toISOString() }, 'eventTime'],
    ['an eventTime before the unit was made', { eventTime: '2019-12-31T23:59:59Z' }, 'eventTime'],
    ['no passports', { passportIds: [] }, 'passportIds'],
    ['1001 passports', { passportIds: Array.from({ length: 1001 }, () => uuidv7()) }, 'passportIds'],
  ])('refuses %s with BAD_USER_INPUT naming the field, writing nothing', async (_name, patch, field) => {
    const [u] = await units(1);
    const before = await counts();
    const r = await s.gql(RECORD, { i: { passportIds: [u!.id], bizStep: 'shipping', ...patch } }, retailer.key);
    expect(code(r)).toBe('BAD_USER_INPUT');
    expect(r.errors![0]!.message).toContain(field);
    expect(await counts()).toEqual(before);
    expect(await status(u!.id)).toBe('SIGNED');
  });

  it('refuses a malformed eventTime at the GraphQL layer', async () => {
    const [u] = await units(1);
    const r = await s.gql(RECORD, { i: { passportIds: [u!.id], bizStep: 'shipping', eventTime: '2024-13-01T00:00:00Z' } }, retailer.key);
    expect(code(r)).toBe('BAD_USER_INPUT');
  });

  it.each([
    ['an unknown id', () => uuidv7()],
    ['a malformed id', () => 'not-a-passport'],
  ])('answers NOT_FOUND naming %s, writing nothing for the known ones', async (_name, make) => {
    const [u] = await units(1);
    const missing = make();
    const before = await counts();
    const r = await s.gql(RECORD, { i: { passportIds: [u!.id, missing], bizStep: 'shipping' } }, retailer.key);
    expect(code(r)).toBe('NOT_FOUND');
    expect(r.errors![0]!.extensions!.id).toBe(missing);
    expect(await counts()).toEqual(before);
  });

  it('answers FORBIDDEN to recyclers, service partners and regulators, UNAUTHENTICATED to anonymous callers', async () => {
    const [u] = await units(1);
    const before = await counts();
    for (const kind of ['RECYCLER', 'SERVICE_PARTNER', 'REGULATOR', 'CUSTOMS']) {
      const org = await s.org(kind);
      expect(code(await s.gql(RECORD, { i: { passportIds: [u!.id], bizStep: 'shipping' } }, org.key)), kind).toBe('FORBIDDEN');
      expect(code(await s.gql(CAPTURE, { d: epcisDoc([objectEvent([u!.sgtinUri])]) }, org.key)), kind).toBe('FORBIDDEN');
    }
    expect(code(await s.gql(RECORD, { i: { passportIds: [u!.id], bizStep: 'shipping' } }))).toBe('UNAUTHENTICATED');
    expect(code(await s.gql(CAPTURE, { d: epcisDoc([objectEvent([u!.sgtinUri])]) }))).toBe('UNAUTHENTICATED');
    expect(await counts()).toEqual(before);
  });

  it("lets a brand record custody of its own units only (another brand's unit is FORBIDDEN, nothing written)", async () => {
    const [a, b] = await units(2);
    const before = await counts();
    const r = await s.gql(RECORD, { i: { passportIds: [a!.id, b!.id], bizStep: 'shipping' } }, otherBrand.key);
    expect(code(r)).toBe('FORBIDDEN');
    expect(r.errors![0]!.message).toContain(a!.id);
    expect(await counts()).toEqual(before);
    const own = await s.gql<Recorded>(RECORD, { i: { passportIds: [a!.id], bizStep: 'packing' } }, brand.key);
    expect(own.data!.recordCustodyEvent.actorId).toBe(brand.id);
  });
});

describe('captureEpcisDocument', () => {
  it('rejects a 100-event document with one bad event, naming it and writing nothing; the fixed one is accepted', async () => {
    const list = await units(10);
    const events = Array.from({ length: 100 }, (_, i) =>
      objectEvent([dl(gtin, list[i % 10]!.serial)], { bizStep: i < 10 ? 'shipping' : 'receiving', disposition: i < 10 ? 'in_transit' : 'in_progress' }),
    );
    const bad = structuredClone(events);
    bad[42] = { ...bad[42]!, bizStep: 'teleporting' };
    const before = await counts();
    const r = await s.gql(CAPTURE, { d: epcisDoc(bad), k: 'hundred' }, retailer.key);
    expect(code(r)).toBe('BAD_USER_INPUT');
    expect(r.errors![0]!.message).toBe("EPCIS document rejected: it does not validate against GS1's EPCIS 2.0 JSON schema (1 problem, in 1 event)");
    expect(r.errors![0]!.extensions!.errors).toEqual([{ index: 42, eventID: bad[42]!.eventID, path: 'bizStep', message: expect.stringContaining('must be one of') }]);
    expect(await counts()).toEqual(before);

    // The key is not spent by a rejected document.
    const ok = await s.gql<Captured>(CAPTURE, { d: epcisDoc(events), k: 'hundred' }, retailer.key);
    expect(ok.errors).toBeUndefined();
    expect(ok.data!.captureEpcisDocument).toMatchObject({ accepted: 100, duplicates: 0, replayed: false });
    const after = await counts();
    expect(after.events - before.events).toBe(100);
    expect(after.captures - before.captures).toBe(1);
    const history = await custodyOf(list[3]!.id);
    expect(history.map((e) => e.payload.eventID)).toEqual(events.filter((_, i) => i % 10 === 3).map((e) => e.eventID));
    expect(history[0]!.actor_id).toBe(retailer.id);
  });

  it('rejects unknown identifiers (serials and lots), each listed with its event, nothing written', async () => {
    const [u] = await units(1);
    const before = await counts();
    const doc = epcisDoc([
      objectEvent([u!.sgtinUri]),
      objectEvent([dl(gtin, u!.serial), dl(gtin, 'NEVERMINTED1')]),
      objectEvent(undefined, { quantityList: [{ epcClass: `${HOST}/01/${gtin}/10/NOLOT` }] }),
    ]);
    const r = await s.gql(CAPTURE, { d: doc }, retailer.key);
    expect(code(r)).toBe('BAD_USER_INPUT');
    expect(r.errors![0]!.message).toBe('EPCIS document rejected: 2 of 3 events name unknown units');
    expect(r.errors![0]!.extensions!.errors).toEqual([
      { index: 1, eventID: expect.any(String), path: 'epcList[1]', message: expect.stringContaining('NEVERMINTED1') },
      { index: 2, eventID: expect.any(String), path: 'quantityList[0].epcClass', message: expect.stringContaining('NOLOT') },
    ]);
    expect(await counts()).toEqual(before);
  });

  it('refuses an illegal move with CONFLICT naming the event and passport, writing nothing', async () => {
    const list = await units(2, { signed: 1 });
    const before = await counts();
    const doc = epcisDoc([objectEvent([list[0]!.sgtinUri]), objectEvent([list[0]!.sgtinUri, list[1]!.sgtinUri], { bizStep: 'receiving' })]);
    const r = await s.gql(CAPTURE, { d: doc }, retailer.key);
    expect(code(r)).toBe('CONFLICT');
    expect(r.errors![0]!.extensions).toMatchObject({ index: 1, passportId: list[1]!.id, from: 'MINTED' });
    expect(await counts()).toEqual(before);
    expect(await status(list[0]!.id)).toBe('SIGNED');
  });

  it('refuses, per event, times past the clock-skew allowance or before a named unit was made; writes nothing', async () => {
    const [u] = await units(1);
    const [lot1] = await units(1, { lot: 'SKEW1', made: '2024-06-01T00:00:00.000Z' });
    const ahead = (minutes: number) => new Date(Date.now() + minutes * 60_000).toISOString();
    expect(MAX_CLOCK_SKEW_MS).toBe(5 * 60_000);
    const before = await counts();
    const events = [
      objectEvent([u!.sgtinUri], { eventTime: ahead(6) }),
      objectEvent([u!.sgtinUri], { eventTime: '2019-12-31T23:59:59.999Z' }),
      objectEvent(undefined, { eventTime: '2024-05-31T00:00:00.000Z', quantityList: [{ epcClass: `${HOST}/01/${gtin}/10/SKEW1` }] }),
      objectEvent([u!.sgtinUri], { eventTime: ahead(3) }),
    ];
    const r = await s.gql(CAPTURE, { d: epcisDoc(events) }, retailer.key);
    expect(code(r)).toBe('BAD_USER_INPUT');
    expect(r.errors![0]!.extensions!.errors).toEqual([expect.objectContaining({ index: 0, path: 'eventTime', message: expect.stringMatching(/future: at most 5 minutes/) })]);
    // Without the future event, the two that predate manufacture are named, each with its unit or lot.
    const r2 = await s.gql(CAPTURE, { d: epcisDoc(events.slice(1)) }, retailer.key);
    expect(code(r2)).toBe('BAD_USER_INPUT');
    expect(r2.errors![0]!.message).toBe('EPCIS document rejected: 2 of 3 events predate the units they name');
    expect(r2.errors![0]!.extensions!.errors).toEqual([
      { index: 0, eventID: events[1]!.eventID, path: 'eventTime', message: expect.stringContaining(`predates the manufacture of epcList[0] ${u!.sgtinUri} (${MADE})`) },
      { index: 1, eventID: events[2]!.eventID, path: 'eventTime', message: expect.stringContaining('predates the manufacture of units of quantityList[0]') },
    ]);
    expect(await counts()).toEqual(before);
    expect(lot1).toBeDefined();
    // Three minutes ahead is within the allowance.
    const ok = await s.gql<Captured>(CAPTURE, { d: epcisDoc([events[3]!]) }, retailer.key);
    expect(ok.errors).toBeUndefined();
  });

  it('keeps recordedAt beside occurredAt: a late event sorts by recording (seq), its occurredAt says when it happened', async () => {
    const [u] = await units(1);
    const HISTORY = `query($id: ID!) { passport(id: $id) { history { edges { node { seq type occurredAt recordedAt } } } } }`;
    const r = await s.gql<Captured>(CAPTURE, { d: epcisDoc([objectEvent([u!.sgtinUri], { eventTime: '2024-05-01T10:00:00.000Z' })]) }, retailer.key);
    expect(r.errors).toBeUndefined();
    const h = await s.gql<{ passport: { history: { edges: Array<{ node: { seq: number; type: string; occurredAt: string; recordedAt: string } }> } } }>(HISTORY, { id: u!.id }, brand.key);
    const nodes = h.data!.passport.history.edges.map((e) => e.node);
    expect(nodes.map((n) => n.type)).toEqual(['MINTED', 'SIGNED', 'CUSTODY']);
    const custody = nodes[2]!;
    expect(custody.occurredAt).toBe('2024-05-01T10:00:00.000Z');
    expect(new Date(custody.occurredAt) < new Date(nodes[1]!.occurredAt)).toBe(true);
    for (let i = 1; i < nodes.length; i++) expect(new Date(nodes[i]!.recordedAt) >= new Date(nodes[i - 1]!.recordedAt)).toBe(true);
  });

  it("lets a brand capture events about its own units only (FORBIDDEN naming the other's unit)", async () => {
    const [u] = await units(1);
    const before = await counts();
    const r = await s.gql(CAPTURE, { d: epcisDoc([objectEvent([u!.sgtinUri])]) }, otherBrand.key);
    expect(code(r)).toBe('FORBIDDEN');
    expect(r.errors![0]!.message).toContain(u!.sgtinUri);
    expect(await counts()).toEqual(before);
    const own = await s.gql<Captured>(CAPTURE, { d: epcisDoc([objectEvent([u!.sgtinUri])]) }, brand.key);
    expect(own.data!.captureEpcisDocument.accepted).toBe(1);
  });

  it('is idempotent by key: a retry replays the same result; the key with another document is CONFLICT', async () => {
    const list = await units(2);
    const doc = epcisDoc([objectEvent([list[0]!.sgtinUri]), objectEvent([list[1]!.sgtinUri])]);
    const first = await s.gql<Captured>(CAPTURE, { d: doc, k: 'retry-me' }, distributor.key);
    expect(first.data!.captureEpcisDocument).toMatchObject({ accepted: 2, duplicates: 0, replayed: false });
    const before = await counts();
    const again = await s.gql<Captured>(CAPTURE, { d: structuredClone(doc), k: 'retry-me' }, distributor.key);
    expect(again.data!.captureEpcisDocument).toEqual({ ...first.data!.captureEpcisDocument, replayed: true });
    expect(await counts()).toEqual(before);

    const other = epcisDoc([objectEvent([list[0]!.sgtinUri], { bizStep: 'receiving' })]);
    const conflict = await s.gql(CAPTURE, { d: other, k: 'retry-me' }, distributor.key);
    expect(code(conflict)).toBe('CONFLICT');
    expect(conflict.errors![0]!.extensions).toMatchObject({ field: 'idempotencyKey', captureId: first.data!.captureEpcisDocument.captureId });
    expect(await counts()).toEqual(before);

    // keys belong to the organisation: another one may use the same key (its events are then duplicates)
    const elsewhere = await s.gql<Captured>(CAPTURE, { d: doc, k: 'retry-me' }, retailer.key);
    expect(elsewhere.data!.captureEpcisDocument).toMatchObject({ accepted: 0, duplicates: 2, replayed: false });
  });

  it('refuses a blank or overlong idempotency key', async () => {
    const [u] = await units(1);
    for (const k of ['  ', 'k'.repeat(201)]) {
      const r = await s.gql(CAPTURE, { d: epcisDoc([objectEvent([u!.sgtinUri])]), k }, retailer.key);
      expect(code(r)).toBe('BAD_USER_INPUT');
      expect(r.errors![0]!.message).toContain('idempotencyKey');
    }
  });

  it('skips events whose eventID was captured before (by anyone), counting them as duplicates', async () => {
    const list = await units(2);
    const e1 = objectEvent([list[0]!.sgtinUri]);
    const first = await s.gql<Captured>(CAPTURE, { d: epcisDoc([e1]) }, retailer.key);
    expect(first.data!.captureEpcisDocument).toMatchObject({ accepted: 1, duplicates: 0 });
    const e2 = objectEvent([list[1]!.sgtinUri]);
    const second = await s.gql<Captured>(CAPTURE, { d: epcisDoc([e1, e2]) }, distributor.key);
    expect(second.data!.captureEpcisDocument).toMatchObject({ accepted: 1, duplicates: 1, replayed: false });
    expect(second.data!.captureEpcisDocument.captureId).not.toBe(first.data!.captureEpcisDocument.captureId);
    expect(await custodyOf(list[0]!.id)).toHaveLength(1);
    expect(await custodyOf(list[1]!.id)).toHaveLength(1);
  });

  it('makes one capture of two identical concurrent captures, with a key (one replays) and without (one is all duplicates)', async () => {
    const list = await units(3);
    const doc = epcisDoc(list.map((u) => objectEvent([u.sgtinUri])));
    const before = await counts();
    const keyed = await Promise.all([1, 2].map(() => s.gql<Captured>(CAPTURE, { d: doc, k: 'same-time' }, retailer.key)));
    expect(keyed.map((r) => r.errors)).toEqual([undefined, undefined]);
    const results = keyed.map((r) => r.data!.captureEpcisDocument);
    expect(new Set(results.map((r) => r.captureId)).size).toBe(1);
    expect(results.map((r) => r.replayed).sort()).toEqual([false, true]);
    expect(results.every((r) => r.accepted === 3 && r.duplicates === 0)).toBe(true);
    const mid = await counts();
    expect(mid.captures - before.captures).toBe(1);
    expect(mid.events - before.events).toBe(3);

    const doc2 = epcisDoc(list.map((u) => objectEvent([u.sgtinUri], { bizStep: 'receiving' })));
    const unkeyed = (await Promise.all([1, 2].map(() => s.gql<Captured>(CAPTURE, { d: doc2 }, retailer.key)))).map((r) => r.data!.captureEpcisDocument);
    expect(unkeyed.map((r) => [r.accepted, r.duplicates]).sort()).toEqual([
      [0, 3],
      [3, 0],
    ]);
    expect((await counts()).events - mid.events).toBe(3);
    for (const u of list) expect(await custodyOf(u.id)).toHaveLength(2);
  });

  it('applies a class-level event (quantityList LGTIN) to every minted unit of the lot, keeping quantity and uom', async () => {
    const lotUnits = await units(3, { lot: 'LOT77' });
    const otherLot = await units(1, { lot: 'LOT78' });
    const r = await s.gql<Captured>(
      CAPTURE,
      { d: epcisDoc([objectEvent(undefined, { bizStep: 'receiving', quantityList: [{ epcClass: `urn:epc:class:lgtin:${PREFIX}.${gtin[0]}${gtin.slice(8, 13)}.LOT77`, quantity: 3, uom: 'H87' }] })]) },
      retailer.key,
    );
    expect(r.errors).toBeUndefined();
    expect(r.data!.captureEpcisDocument.accepted).toBe(1);
    for (const u of lotUnits) {
      const [e] = await custodyOf(u.id);
      expect(e!.payload).toMatchObject({ bizStep: 'receiving', viaLot: true, quantityList: [{ gtin, lot: 'LOT77', quantity: 3, uom: 'H87' }] });
    }
    expect(await custodyOf(otherLot[0]!.id)).toEqual([]);
  });
});

describe('forged chain data in captured documents', () => {
  it('ignores a prevHash or hash claimed inside captured data: the server links and hashes every event itself', async () => {
    const [unit] = await units(1);
    const forged = '0'.repeat(64);
    const event = { ...objectEvent([dl(gtin, unit!.serial)], { bizStep: 'shipping', disposition: 'in_transit' }), 'dpp:prevHash': forged, 'dpp:hash': forged };
    const doc = { ...epcisDoc([event]), '@context': ['https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld', { dpp: 'https://dpp.example/ns/' }] };
    const r = await s.gql(CAPTURE, { d: doc, k: 'forged-prevhash' }, retailer.key);
    expect(r.errors).toBeUndefined();
    const v = await s.gql<{ verifyHistory: { valid: boolean; length: number } }>('query($id: ID!) { verifyHistory(passportId: $id) { valid length } }', { id: unit!.id }, brand.key);
    expect(v.data!.verifyHistory).toEqual({ valid: true, length: 3 });
    const rows = await em().getConnection().execute<{ seq: number; prev_hash: string; hash: string }[]>('select seq, prev_hash, hash from lifecycle_event where passport_id = ? order by seq', [unit!.id]);
    expect(rows[2]!.prev_hash).toBe(rows[1]!.hash);
    expect(rows.every((e) => e.prev_hash !== forged && e.hash !== forged)).toBe(true);
  });
});

describe('Passport.epcis export', () => {
  it('is readable by the owning brand, regulators, customs and the platform; FORBIDDEN to a retailer; invisible to another brand', async () => {
    const [u] = await units(1);
    await s.gql(RECORD, { i: { passportIds: [u!.id], bizStep: 'shipping' } }, distributor.key);
    for (const key of [brand.key, (await s.org('REGULATOR')).key, (await s.org('CUSTOMS')).key, s.platformKey]) {
      const r = await s.gql<Exported>(EPCIS, { id: u!.id }, key);
      expect(r.errors).toBeUndefined();
      expect(r.data!.passport!.epcis!.epcisBody.eventList).toHaveLength(1);
    }
    const asRetailer = await s.gql<Exported>(EPCIS, { id: u!.id }, retailer.key);
    expect(code(asRetailer)).toBe('FORBIDDEN');
    expect(asRetailer.errors![0]!.path).toEqual(['passport', 'epcis']);
    expect(asRetailer.data!.passport).toMatchObject({ id: u!.id, epcis: null });
    const asOther = await s.gql<Exported>(EPCIS, { id: u!.id }, otherBrand.key);
    expect(asOther.data?.passport?.epcis ?? null).toBeNull();
    if (asOther.data?.passport) expect(code(asOther)).toBe('FORBIDDEN');
  });

  it('exports an event naming several units once: the same eventID and epcList from each unit, a projection where units are hidden', async () => {
    const [a, b] = await units(2);
    const g2 = await model(s, otherBrand.key, nextGtin('0700000'));
    const [c] = await units(1, { gtin: g2, key: otherBrand.key });
    const regulator = await s.org('REGULATOR');
    const event = objectEvent([b!.sgtinUri, c!.sgtinUri, a!.sgtinUri]);
    expect((await s.gql<Captured>(CAPTURE, { d: epcisDoc([event]) }, retailer.key)).errors).toBeUndefined();
    const exported = async (id: string, key: string) => (await s.gql<Exported>(EPCIS, { id }, key)).data!.passport!.epcis!.epcisBody.eventList;
    const full = [dl(gtin, b!.serial), dl(g2, c!.serial), dl(gtin, a!.serial)];
    // A regulator sees every unit: one event, its captured id and epcList (in captured order), from each unit.
    for (const u of [a!, b!, c!]) {
      const [e, more] = await exported(u.id, regulator.key);
      expect(more).toBeUndefined();
      expect(e).toMatchObject({ eventID: event.eventID, epcList: full });
      expect(e).not.toHaveProperty([PROJECTION_EXTENSION]);
    }
    // The brand may not see the other brand's unit: it gets a projection with its own id, related to the original.
    const [pa] = await exported(a!.id, brand.key);
    const [pb] = await exported(b!.id, brand.key);
    expect(pa).toEqual(pb);
    expect(pa).toMatchObject({ epcList: [dl(gtin, b!.serial), dl(gtin, a!.serial)], [PROJECTION_EXTENSION]: event.eventID });
    expect(pa!.eventID).toMatch(/^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5/);
    expect(pa!.eventID).not.toBe(event.eventID);
    const [pc] = await exported(c!.id, otherBrand.key);
    expect(pc).toMatchObject({ epcList: [dl(g2, c!.serial)], [PROJECTION_EXTENSION]: event.eventID });
    expect(pc!.eventID).not.toBe(pa!.eventID);
  });

  it('exports an empty, schema-valid document for a unit without custody events', async () => {
    const [u] = await units(1);
    const r = await s.gql<Exported>(EPCIS, { id: u!.id }, brand.key);
    expect(r.data!.passport!.epcis).toMatchObject({ id: `urn:uuid:${u!.id}`, type: 'EPCISDocument', schemaVersion: '2.0', epcisBody: { eventList: [] } });
    expectSchemaValid(r.data!.passport!.epcis);
  });

  it('round-trips losslessly: export, schema-valid, captured on a second server, the same events and the same export', async () => {
    const g = await model(s, brand.key, nextGtin());
    const [id] = await unitsWithSerials(s, brand, g, ['RT2017'], 'RTLOT1');
    // 1. commissioning (ADD) with ilmd, in +02:00; 2. shipping recorded with a country; 3. receiving of the
    // whole lot (quantityList) with transactions, sources, destinations and an extension; 4. retail sale.
    const commissioning = objectEvent([`urn:epc:id:sgtin:${PREFIX}.${g[0]}${g.slice(8, 13)}.RT2017`], {
      action: 'ADD',
      bizStep: 'commissioning',
      disposition: 'active',
      eventTime: '2024-05-01T12:00:00.250+02:00',
      eventTimeZoneOffset: '+02:00',
      ilmd: { 'cbvmda:lotNumber': 'RTLOT1' },
    });
    const c1 = await s.gql<Captured>(CAPTURE, { d: epcisDoc([commissioning]) }, brand.key);
    expect(c1.data!.captureEpcisDocument.accepted).toBe(1);
    const shipped = await s.gql<Recorded>(
      RECORD,
      { i: { passportIds: [id], bizStep: 'shipping', disposition: 'in_transit', readPoint: 'urn:epc:id:sgln:0614141.00001.0', country: 'DE', eventTime: '2024-05-02T08:00:00.000Z' } },
      distributor.key,
    );
    expect(shipped.errors).toBeUndefined();
    const receiving = objectEvent(undefined, {
      bizStep: 'receiving',
      disposition: 'in_progress',
      eventTime: '2024-05-03T07:00:00.000-05:00',
      eventTimeZoneOffset: '-05:00',
      bizLocation: { id: 'urn:epc:id:sgln:0614141.00888.0' },
      quantityList: [{ epcClass: `${HOST}/01/${g}/10/RTLOT1`, quantity: 1, uom: 'H87' }],
      bizTransactionList: [{ type: 'po', bizTransaction: 'http://transaction.acme.com/po/12345678' }, { bizTransaction: 'urn:epcglobal:cbv:bt:0614141073467:1152' }],
      sourceList: [{ type: 'possessing_party', source: 'urn:epc:id:pgln:0614141.00001' }],
      destinationList: [{ type: 'location', destination: 'urn:epc:id:sgln:0614141.00777.0' }],
      'example:myField': { note: 'Example of a vendor/user extension', n: [1, 2] },
    });
    const c2 = await s.gql<Captured>(CAPTURE, { d: epcisDoc([receiving], [EPCIS_CONTEXT, { example: 'http://ns.example.com/epcis/' }]) }, retailer.key);
    expect(c2.errors).toBeUndefined();
    await s.gql(RECORD, { i: { passportIds: [id], bizStep: 'retail_selling', disposition: 'retail_sold', country: 'DE', eventTime: '2024-05-04T10:00:00.000Z' } }, retailer.key);
    expect(await status(id!)).toBe('SOLD');

    const exported = (await s.gql<Exported>(EPCIS, { id }, brand.key)).data!.passport!.epcis!;
    expectSchemaValid(exported);
    expect(exported.id).toBe(`urn:uuid:${id}`);
    expect(exported['@context']).toEqual([EPCIS_CONTEXT, { example: 'http://ns.example.com/epcis/' }]);
    const list = exported.epcisBody.eventList;
    expect(list.map((e) => e.bizStep)).toEqual(['commissioning', 'shipping', 'receiving', 'retail_selling']);
    expect(list[0]).toMatchObject({ action: 'ADD', eventTime: '2024-05-01T12:00:00.250+02:00', ilmd: { 'cbvmda:lotNumber': 'RTLOT1' }, epcList: [`${HOST}/01/${g}/21/RT2017`] });
    expect(list[1]).toMatchObject({ eventID: shipped.data!.recordCustodyEvent.payload.eventID, [COUNTRY_EXTENSION]: 'DE', readPoint: { id: 'urn:epc:id:sgln:0614141.00001.0' } });
    expect(list[2]).toMatchObject({ eventTime: '2024-05-03T07:00:00.000-05:00', quantityList: [{ epcClass: `${HOST}/01/${g}/10/RTLOT1`, quantity: 1, uom: 'H87' }] });
    expect(list[2]).not.toHaveProperty('epcList');

    // Capturing our own export again here adds nothing: every event id is already known.
    const same = await s.gql<Captured>(CAPTURE, { d: exported }, retailer.key);
    expect(same.data!.captureEpcisDocument).toMatchObject({ accepted: 0, duplicates: 4 });

    const s2 = await startTestServer({ DPP_RESOLVER_HOST: HOST });
    try {
      const brand2 = await s2.org('BRAND', { gs1CompanyPrefixes: [PREFIX] });
      const retailer2 = await s2.org('RETAILER');
      await model(s2, brand2.key, g);
      const [id2] = await unitsWithSerials(s2, brand2, g, ['RT2017'], 'RTLOT1');
      const captured = await s2.gql<Captured>(CAPTURE, { d: exported, k: 'import' }, retailer2.key);
      expect(captured.errors).toBeUndefined();
      expect(captured.data!.captureEpcisDocument).toMatchObject({ accepted: 4, duplicates: 0 });

      const strip = (events: StoredCustody[]) => events.map(({ occurred_at, payload }) => ({ occurred_at, payload }));
      expect(strip(await custodyOf(id2!, s2))).toEqual(strip(await custodyOf(id!)));
      const status2 = await s2.gql<{ passport: { status: string } }>(STATUS, { id: id2 }, brand2.key);
      expect(status2.data!.passport.status).toBe('SOLD');

      const again = (await s2.gql<Exported>(EPCIS, { id: id2 }, brand2.key)).data!.passport!.epcis!;
      const body = ({ id: _id, creationDate: _at, ...rest }: EpcisDoc) => rest;
      expect(body(again)).toEqual(body(exported));
    } finally {
      await s2.stop();
    }
  });
});

describeVectors("GS1's EPCIS 2.0 example documents (shared vectors)", () => {
  const readJson = (name: string) => JSON.parse(readFileSync(path.join(vectorsDir!, 'epcis', name), 'utf8')) as EpcisDoc;

  it('refuses 9.6.1 while its units are not minted, and accepts both forms of 9.6.1 and 9.6.2 once they are', async () => {
    const epc = readJson('Example_9.6.1-ObjectEvent.jsonld');
    const before = await counts();
    const unknown = await s.gql(CAPTURE, { d: epc }, retailer.key);
    expect(code(unknown)).toBe('BAD_USER_INPUT');
    expect((unknown.errors![0]!.extensions!.errors as unknown[]).length).toBe(3);
    expect(await counts()).toEqual(before);

    // The identifiers the examples use: SGTINs 10614141073464 and 70614141123451 (serials 2017, 2018) and
    // the lots 998877 of LGTINs 4012345.012345 (GTIN 04012345123456) and 70614141123451.
    for (const g of ['10614141073464', '70614141123451', '04012345123456']) await model(s, brand.key, g);
    const [epc2017, epc2018] = await unitsWithSerials(s, brand, '10614141073464', ['2017', '2018']);
    const [dl2017, dl2018] = await unitsWithSerials(s, brand, '70614141123451', ['2017', '2018']);
    const lgtinUnits = await units(2, { gtin: '04012345123456', lot: '998877', made: MADE_FIXED });
    const dlLotUnits = await units(2, { gtin: '70614141123451', lot: '998877', made: MADE_FIXED });

    for (const [name, accepted] of [
      ['Example_9.6.1-ObjectEvent.jsonld', 2],
      ['Example_9.6.1-ObjectEventWithDigitalLink.jsonld', 2],
      ['Example_9.6.2-ObjectEvent.jsonld', 1],
      ['Example_9.6.2-ObjectEventWithDigitalLink.jsonld', 1],
    ] as const) {
      const r = await s.gql<Captured>(CAPTURE, { d: readJson(name), k: name }, retailer.key);
      expect(r.errors, name).toBeUndefined();
      expect(r.data!.captureEpcisDocument, name).toMatchObject({ accepted, duplicates: 0, replayed: false });
    }

    for (const [u2017, u2018, doc] of [
      [epc2017!, epc2018!, epc],
      [dl2017!, dl2018!, readJson('Example_9.6.1-ObjectEventWithDigitalLink.jsonld')],
    ] as const) {
      const ids = doc.epcisBody.eventList.map((e) => e.eventID);
      expect((await custodyOf(u2017)).map((e) => e.payload.eventID)).toEqual([ids[0]]);
      const h2018 = await custodyOf(u2018);
      expect(h2018.map((e) => e.payload.eventID)).toEqual(ids);
      expect(h2018.map((e) => e.occurred_at)).toEqual(['2005-04-04T02:33:31.116Z', '2005-04-05T02:33:31.116Z']);
      expect(h2018[1]!.payload).toMatchObject({ extensions: { 'example:myField': 'Example of a vendor/user extension' }, namespaces: { example: 'http://ns.example.com/epcis/' } });
      expect(await status(u2018)).toBe('IN_SUPPLY_CHAIN');
      const exported = (await s.gql<Exported>(EPCIS, { id: u2018 }, brand.key)).data!.passport!.epcis!;
      expectSchemaValid(exported);
      const summary = (d: EpcisDoc) => d.epcisBody.eventList.map((e) => [e.eventID, new Date(e.eventTime as string).getTime(), e.eventTimeZoneOffset, e.bizStep]);
      expect(summary(exported)).toEqual(summary(doc));
    }
    for (const [list, g] of [
      [lgtinUnits, '04012345123456'],
      [dlLotUnits, '70614141123451'],
    ] as const) {
      for (const u of list) {
        const [e, more] = await custodyOf(u.id);
        expect(more).toBeUndefined();
        expect(e!.payload).toMatchObject({ bizStep: 'receiving', viaLot: true, quantityList: [{ gtin: g, lot: '998877', quantity: 200, uom: 'KGM' }] });
        expect(e!.occurred_at).toBe('2013-06-08T14:58:56.591Z');
      }
      const exported = (await s.gql<Exported>(EPCIS, { id: list[0]!.id }, brand.key)).data!.passport!.epcis!;
      expectSchemaValid(exported);
      expect(exported.epcisBody.eventList[0]).toMatchObject({ quantityList: [{ epcClass: `${HOST}/01/${g}/10/998877`, quantity: 200, uom: 'KGM' }] });
    }
    // the 9.6.1 units without a lot were not touched by the lot-level 9.6.2 event
    expect(await custodyOf(dl2017!)).toHaveLength(1);
  });

  it("9.6.1: each unit's export holds the shared event with both units; both exports captured on a second deployment give the same events", async () => {
    const doc = readJson('Example_9.6.1-ObjectEvent.jsonld');
    const g = '10614141073464';
    const s1 = await startTestServer({ DPP_RESOLVER_HOST: HOST });
    const s2 = await startTestServer({ DPP_RESOLVER_HOST: HOST });
    try {
      const deploy = async (server: TestServer) => {
        const b = await server.org('BRAND', { gs1CompanyPrefixes: [PREFIX] });
        const r = await server.org('RETAILER');
        await model(server, b.key, g);
        const [u2017, u2018] = await unitsWithSerials(server, b, g, ['2017', '2018']);
        return { brand: b, retailer: r, u2017: u2017!, u2018: u2018! };
      };
      const one = await deploy(s1);
      const two = await deploy(s2);
      expect((await s1.gql<Captured>(CAPTURE, { d: doc }, one.retailer.key)).data!.captureEpcisDocument.accepted).toBe(2);

      const [x2017, x2018] = await Promise.all([one.u2017, one.u2018].map(async (id) => (await s1.gql<Exported>(EPCIS, { id }, one.brand.key)).data!.passport!.epcis!));
      expectSchemaValid(x2017);
      expectSchemaValid(x2018);
      const shared = doc.epcisBody.eventList[0]!;
      const both = [dl(g, '2017'), dl(g, '2018')];
      expect(x2017!.epcisBody.eventList).toEqual([expect.objectContaining({ eventID: shared.eventID, epcList: both })]);
      expect(x2018!.epcisBody.eventList[0]).toEqual(x2017!.epcisBody.eventList[0]);
      expect(x2018!.epcisBody.eventList[1]).toMatchObject({ eventID: doc.epcisBody.eventList[1]!.eventID, epcList: [dl(g, '2018')] });

      // The second deployment: 2017's export brings the shared event to both units; 2018's adds its own.
      const first = await s2.gql<Captured>(CAPTURE, { d: x2017 }, two.retailer.key);
      expect(first.data!.captureEpcisDocument).toMatchObject({ accepted: 1, duplicates: 0 });
      const second = await s2.gql<Captured>(CAPTURE, { d: x2018 }, two.retailer.key);
      expect(second.data!.captureEpcisDocument).toMatchObject({ accepted: 1, duplicates: 1 });
      const strip = (events: StoredCustody[]) => events.map(({ occurred_at, payload }) => ({ occurred_at, payload }));
      expect(strip(await custodyOf(two.u2017, s2))).toEqual(strip(await custodyOf(one.u2017, s1)));
      expect(strip(await custodyOf(two.u2018, s2))).toEqual(strip(await custodyOf(one.u2018, s1)));
      const body = ({ id: _id, creationDate: _at, ...rest }: EpcisDoc) => rest;
      for (const [id1, id2] of [[one.u2017, two.u2017], [one.u2018, two.u2018]] as const) {
        const a = (await s1.gql<Exported>(EPCIS, { id: id1 }, one.brand.key)).data!.passport!.epcis!;
        const b = (await s2.gql<Exported>(EPCIS, { id: id2 }, two.brand.key)).data!.passport!.epcis!;
        expect(body(b)).toEqual(body(a));
      }
    } finally {
      await s1.stop();
      await s2.stop();
    }
  });
});
