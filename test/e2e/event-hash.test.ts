import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gtinCheckDigit } from '../../src/gs1/index.js';
import { EPCIS_CONTEXT, eventHash } from '../../src/modules/history/epcis.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { model, unitsWithSerials } from '../support/units.js';

// An event captured without an eventID gets its CBV 2.0 event hash ID; capturing it again is a duplicate;
// our export keeps everything the hash covers, so the exported event hashes to the same id, here and on a
// second deployment that captures the export without ids.

const HOST = 'https://id.example.com';
const PREFIX = '0614141';
const CAPTURE = `mutation($d: JSON!, $k: String) { captureEpcisDocument(document: $d, idempotencyKey: $k) { captureId accepted duplicates replayed } }`;
const EPCIS = `query($id: ID!) { passport(id: $id) { epcis } }`;

type Json = Record<string, unknown>;
type Org = { id: string; key: string };
type Captured = { captureEpcisDocument: { accepted: number; duplicates: number } };
type Exported = { passport: { epcis: { '@context': unknown; epcisBody: { eventList: Json[] } } } };

let s: TestServer;
let brand: Org;
let retailer: Org;
const body = `${PREFIX}77701`;
const GTIN = `0${body}${gtinCheckDigit(body)}`;
const SERIALS = ['EH-1', 'EH!3'];
const CONTEXT = [EPCIS_CONTEXT, { example: 'https://ns.example.com/epcis/' }];

/** An event without eventID touching most of what the hash covers: times with sub-millisecond digits, both identifier forms, CBV terms, extensions. */
function receiving(): Json {
  return {
    type: 'ObjectEvent',
    eventTime: '2024-05-01T12:00:00.1235+02:00',
    eventTimeZoneOffset: '+02:00',
    recordTime: '2024-05-01T10:00:01Z',
    epcList: [`urn:epc:id:sgtin:${PREFIX}.${GTIN[0]}${GTIN.slice(8, 13)}.EH-1`, `https://brand.example/01/${GTIN}/21/EH%213?linkType=all`],
    action: 'OBSERVE',
    bizStep: 'receiving',
    disposition: 'in_progress',
    readPoint: { id: 'urn:epc:id:sgln:0614141.00777.0', 'example:dock': '4' },
    bizLocation: { id: 'urn:epc:id:sgln:0614141.00888.0' },
    bizTransactionList: [{ type: 'po', bizTransaction: 'urn:epcglobal:cbv:bt:0614141073467:1152' }],
    sourceList: [{ type: 'possessing_party', source: 'urn:epc:id:pgln:0614141.00001' }],
    sensorElementList: [{ sensorMetadata: { time: '2024-05-01T09:59:00.0004Z' }, sensorReport: [{ type: 'Temperature', value: 21.5, uom: 'CEL' }] }],
    'example:check': { 'example:by': 'example:inspector', 'example:score': '7.50' },
  };
}

const doc = (eventList: Json[], context: unknown = CONTEXT): Json => ({
  '@context': context,
  type: 'EPCISDocument',
  schemaVersion: '2.0',
  creationDate: '2024-05-01T10:00:00Z',
  epcisBody: { eventList },
});

async function exported(server: TestServer, key: string, id: string) {
  const r = await server.gql<Exported>(EPCIS, { id }, key);
  expect(r.errors).toBeUndefined();
  return r.data!.passport.epcis;
}

beforeAll(async () => {
  s = await startTestServer({ DPP_RESOLVER_HOST: HOST });
  brand = await s.org('BRAND', { gs1CompanyPrefixes: [PREFIX] });
  retailer = await s.org('RETAILER');
  await model(s, brand.key, GTIN);
});
afterAll(async () => {
  await s?.stop();
});

describe('CBV 2.0 event hash ID through capture and export', () => {
  it('names an event captured without id by its event hash, counts a re-capture as a duplicate, and keeps the id through export', async () => {
    const ids = await unitsWithSerials(s, brand, GTIN, SERIALS);
    const event = receiving();
    const expected = eventHash(event, { context: CONTEXT }).id;

    const first = await s.gql<Captured>(CAPTURE, { d: doc([event]) }, retailer.key);
    expect(first.errors).toBeUndefined();
    expect(first.data!.captureEpcisDocument).toMatchObject({ accepted: 1, duplicates: 0 });

    // The same event again, serialised differently (key order, recordTime, a prefix of another name): a duplicate.
    const reordered = Object.fromEntries(Object.entries({ ...receiving(), recordTime: '2024-06-01T00:00:00Z' }).reverse());
    const renamed = JSON.parse(JSON.stringify(reordered).replaceAll('"example:', '"ex:')) as Json;
    const again = await s.gql<Captured>(CAPTURE, { d: doc([renamed], [EPCIS_CONTEXT, { ex: 'https://ns.example.com/epcis/' }]) }, retailer.key);
    expect(again.errors).toBeUndefined();
    expect(again.data!.captureEpcisDocument).toMatchObject({ accepted: 0, duplicates: 1 });

    // Each unit's export holds the event under that id, and hashing the exported event gives the id again.
    const exports = await Promise.all(ids.map((id) => exported(s, brand.key, id)));
    for (const ex of exports) {
      expect(ex.epcisBody.eventList).toHaveLength(1);
      const [out] = ex.epcisBody.eventList;
      expect(out!.eventID).toBe(expected);
      const { eventID: _id, ...withoutId } = out!;
      expect(eventHash(withoutId, { context: ex['@context'] }).id).toBe(expected);
      expect(eventHash(withoutId, { context: ex['@context'] }).preHash).toBe(eventHash(event, { context: CONTEXT }).preHash);
    }

    // A second deployment captures the export with the ids taken out: it derives the same id.
    const s2 = await startTestServer({ DPP_RESOLVER_HOST: HOST });
    try {
      const brand2 = await s2.org('BRAND', { gs1CompanyPrefixes: [PREFIX] });
      const retailer2 = await s2.org('RETAILER');
      await model(s2, brand2.key, GTIN);
      const ids2 = await unitsWithSerials(s2, brand2, GTIN, SERIALS);
      const stripped = { ...exports[0]!, epcisBody: { eventList: exports[0]!.epcisBody.eventList.map(({ eventID: _id, ...e }) => e) } };
      const captured = await s2.gql<Captured>(CAPTURE, { d: stripped }, retailer2.key);
      expect(captured.errors).toBeUndefined();
      expect(captured.data!.captureEpcisDocument).toMatchObject({ accepted: 1, duplicates: 0 });
      const ex2 = await exported(s2, brand2.key, ids2[1]!);
      expect(ex2.epcisBody.eventList.map((e) => e.eventID)).toEqual([expected]);
      // And the export with its ids is a duplicate there too.
      const dup = await s2.gql<Captured>(CAPTURE, { d: exports[1] }, retailer2.key);
      expect(dup.data!.captureEpcisDocument).toMatchObject({ accepted: 0, duplicates: 1 });
    } finally {
      await s2.stop();
    }
  });
});
