import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { beforeAll, describe, expect, it } from 'vitest';
import { BadInputError } from '../../src/errors/app-error.js';
import { sgtinUri } from '../../src/gs1/index.js';
import {
  BIZ_STEPS,
  BIZ_TRANSACTION_TYPES,
  DISPOSITIONS,
  SOURCE_DEST_TYPES,
  normaliseBizStep,
  normaliseBizTransactionType,
  normaliseDisposition,
  normaliseSourceDestType,
} from '../../src/modules/history/cbv.js';
import {
  EPCIS_CONTEXT,
  MAX_REPORTED_ISSUES,
  eventHash,
  exportDocument,
  parseCaptureDocument,
  parseLgtin,
  type CapturedObjectEvent,
  type EpcisIssue,
  type ExportEvent,
} from '../../src/modules/history/epcis.js';
import { EPCIS_SCHEMA_URL, schemaIssues } from '../../src/modules/history/epcis-schema.js';
import { describeVectors, vectorsDir } from './vectors.js';

// ajv and ajv-formats are CommonJS. Node's ESM loader exposes ajv's class as the named export `Ajv`
// (ajv sets exports.Ajv), which TypeScript also types correctly; `import Ajv from 'ajv'` would give
// `module.exports`, typed under NodeNext as the module namespace (not constructable). For ajv-formats the
// default import is `module.exports` (the plugin function, which also carries itself as `.default`);
// TypeScript types it as the namespace, so `.default` is the call that is right for both.
const addFormats = addFormatsModule.default;

const GS1_GTIN = '09506000134352';
const HOST = 'https://id.example.com';

function dl(gtin: string, serial: string): string {
  return `${HOST}/01/${gtin}/21/${serial}`;
}

function objectEvent(overrides: Record<string, unknown> = {}, i = 0): Record<string, unknown> {
  return {
    type: 'ObjectEvent',
    eventID: `urn:uuid:00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    eventTime: '2024-05-01T10:00:00.000+02:00',
    eventTimeZoneOffset: '+02:00',
    action: 'OBSERVE',
    bizStep: 'shipping',
    disposition: 'in_transit',
    epcList: [dl(GS1_GTIN, `SER${i}`)],
    readPoint: { id: 'urn:epc:id:sgln:9506000.13435.0' },
    ...overrides,
  };
}

function epcisDoc(eventList: unknown[], overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    '@context': [EPCIS_CONTEXT],
    type: 'EPCISDocument',
    schemaVersion: '2.0',
    creationDate: '2024-05-01T10:00:00Z',
    epcisBody: { eventList },
    ...overrides,
  };
}

/** The BadInputError parseCaptureDocument throws for `doc`. */
function rejection(doc: unknown): { message: string; errors: EpcisIssue[]; details: Record<string, unknown> } {
  try {
    parseCaptureDocument(doc);
  } catch (err) {
    expect(err).toBeInstanceOf(BadInputError);
    const e = err as BadInputError;
    expect(e.code).toBe('BAD_USER_INPUT');
    return { message: e.message, errors: e.details?.errors as EpcisIssue[], details: e.details ?? {} };
  }
  throw new Error('expected the document to be rejected');
}

/** Captured events without the as-captured URIs (export rewrites them as Digital Links on our host). */
function withoutUris(events: CapturedObjectEvent[]) {
  return events.map((e) => ({
    ...e,
    epcs: e.epcs.map(({ gtin, serial }) => ({ gtin, serial })),
    ...(e.quantityList ? { quantityList: e.quantityList.map(({ epcClass: _uri, ...q }) => q) } : {}),
  }));
}

describe('CBV 2.0 vocabulary', () => {
  it('accepts the bare, URN and web URI forms of every business step and disposition', () => {
    for (const step of BIZ_STEPS) {
      expect(normaliseBizStep(step)).toBe(step);
      expect(normaliseBizStep(`urn:epcglobal:cbv:bizstep:${step}`)).toBe(step);
      expect(normaliseBizStep(`https://ref.gs1.org/cbv/BizStep-${step}`)).toBe(step);
    }
    for (const disp of DISPOSITIONS) {
      expect(normaliseDisposition(disp)).toBe(disp);
      expect(normaliseDisposition(`urn:epcglobal:cbv:disp:${disp}`)).toBe(disp);
      expect(normaliseDisposition(`https://ref.gs1.org/cbv/Disp-${disp}`)).toBe(disp);
    }
    expect(normaliseBizStep(' retail_selling ')).toBe('retail_selling');
    expect(normaliseBizStep('URN:EPCGLOBAL:CBV:BIZSTEP:repairing')).toBe('repairing');
  });

  it('holds the terms the product relies on', () => {
    for (const step of ['commissioning', 'shipping', 'receiving', 'retail_selling', 'repairing', 'decommissioning', 'destroying', 'inspecting', 'packing', 'unpacking', 'storing', 'accepting']) {
      expect(BIZ_STEPS).toContain(step);
    }
    for (const disp of ['active', 'in_transit', 'in_progress', 'sellable_accessible', 'retail_sold', 'damaged', 'destroyed', 'recalled', 'returned', 'stolen', 'encoded']) {
      expect(DISPOSITIONS).toContain(disp);
    }
    expect(new Set(BIZ_STEPS).size).toBe(BIZ_STEPS.length);
    expect(new Set(DISPOSITIONS).size).toBe(DISPOSITIONS.length);
  });

  it.each([
    ['teleporting'],
    ['returning'], // a disposition-like word, not a CBV 2.0 business step
    ['Shipping'],
    ['urn:epcglobal:cbv:disp:shipping'],
    ['https://ref.gs1.org/cbv/Disp-shipping'],
    ['https://ref.gs1.org/cbv/BizStep-'],
    ['urn:epcglobal:cbv:bizstep:'],
    ['https://ns.gs1.org/cbv/BizStep-shipping'],
    [''],
    ['x'.repeat(501)],
  ])('refuses business step %j', (s) => {
    expect(() => normaliseBizStep(s)).toThrow(BadInputError);
  });

  it('keeps user-defined business steps and dispositions given as URIs outside the CBV namespaces (CBV 2.0 allows them)', () => {
    expect(normaliseBizStep('https://example.com/my-step')).toBe('https://example.com/my-step');
    expect(normaliseBizStep('urn:example:bizstep:quality_hold')).toBe('urn:example:bizstep:quality_hold');
    expect(normaliseDisposition('https://example.com/disp/quarantined')).toBe('https://example.com/disp/quarantined');
    expect(() => normaliseDisposition('quarantined')).toThrow(BadInputError);
  });

  it.each([[42], [null], [undefined], [{ id: 'shipping' }]])('refuses a non-string business step %j', (s) => {
    expect(() => normaliseBizStep(s)).toThrow(BadInputError);
    expect(() => normaliseDisposition(s)).toThrow(BadInputError);
  });

  it.each([['in_transit_now'], ['urn:epcglobal:cbv:bizstep:in_transit'], ['https://ref.gs1.org/cbv/BizStep-active'], ['sold']])(
    'refuses disposition %j',
    (s) => {
      expect(() => normaliseDisposition(s)).toThrow(BadInputError);
    },
  );

  it('normalises transaction and source/destination types, keeping private URIs', () => {
    for (const t of BIZ_TRANSACTION_TYPES) {
      expect(normaliseBizTransactionType(`urn:epcglobal:cbv:btt:${t}`)).toBe(t);
      expect(normaliseBizTransactionType(`https://ref.gs1.org/cbv/BTT-${t}`)).toBe(t);
    }
    for (const t of SOURCE_DEST_TYPES) {
      expect(normaliseSourceDestType(`urn:epcglobal:cbv:sdt:${t}`)).toBe(t);
      expect(normaliseSourceDestType(`https://ref.gs1.org/cbv/SDT-${t}`)).toBe(t);
    }
    expect(normaliseBizTransactionType('https://example.com/btt/contract')).toBe('https://example.com/btt/contract');
    expect(() => normaliseBizTransactionType('urn:epcglobal:cbv:btt:nope')).toThrow(BadInputError);
    expect(() => normaliseBizTransactionType('contract')).toThrow(BadInputError);
    expect(() => normaliseSourceDestType('https://ref.gs1.org/cbv/SDT-nope')).toThrow(BadInputError);
  });
});

describe('parseCaptureDocument', () => {
  it('accepts a minimal document and normalises each event', () => {
    const { events } = parseCaptureDocument(
      epcisDoc([
        objectEvent({
          bizStep: 'https://ref.gs1.org/cbv/BizStep-receiving',
          disposition: 'https://ref.gs1.org/cbv/Disp-in_progress',
          epcList: [sgtinUri(GS1_GTIN, 'A1', 7), dl('9506000134352', 'A%2F2')],
          bizLocation: { id: 'urn:epc:id:sgln:9506000.13435.1' },
          bizTransactionList: [{ type: 'https://ref.gs1.org/cbv/BTT-po', bizTransaction: 'urn:epcglobal:cbv:bt:9506000134352:42' }],
          sourceList: [{ type: 'https://ref.gs1.org/cbv/SDT-owning_party', source: 'urn:epc:id:pgln:9506000.00000' }],
          destinationList: [{ type: 'location', destination: 'urn:epc:id:sgln:9506000.13435.2' }],
        }),
      ]),
    );
    expect(events).toEqual([
      {
        eventID: 'urn:uuid:00000000-0000-4000-8000-000000000000',
        eventTime: new Date('2024-05-01T08:00:00.000Z'),
        eventTimeZoneOffset: '+02:00',
        action: 'OBSERVE',
        bizStep: 'receiving',
        disposition: 'in_progress',
        readPoint: 'urn:epc:id:sgln:9506000.13435.0',
        bizLocation: 'urn:epc:id:sgln:9506000.13435.1',
        epcs: [
          { gtin: GS1_GTIN, serial: 'A1', uri: sgtinUri(GS1_GTIN, 'A1', 7) },
          { gtin: GS1_GTIN, serial: 'A/2', uri: dl('9506000134352', 'A%2F2') },
        ],
        bizTransactionList: [{ type: 'po', bizTransaction: 'urn:epcglobal:cbv:bt:9506000134352:42' }],
        sourceList: [{ type: 'owning_party', source: 'urn:epc:id:pgln:9506000.00000' }],
        destinationList: [{ type: 'location', destination: 'urn:epc:id:sgln:9506000.13435.2' }],
      },
    ]);
    expect(Object.keys(events[0]!)).not.toContain('extensions');
  });

  it('accepts schemaVersion "2", and ADD for commissioning with ilmd', () => {
    const { events } = parseCaptureDocument({
      '@context': EPCIS_CONTEXT,
      type: 'EPCISDocument',
      schemaVersion: '2',
      creationDate: '2024-05-01T10:00:00Z',
      epcisBody: {
        eventList: [
          objectEvent({
            action: 'ADD',
            bizStep: 'commissioning',
            disposition: 'active',
            ilmd: { 'cbvmda:lotNumber': 'L42' },
          }),
        ],
      },
    });
    expect(events[0]).toMatchObject({ action: 'ADD', bizStep: 'commissioning', ilmd: { 'cbvmda:lotNumber': 'L42' } });
  });

  it('reads times as instants: any offset, Z, lower case, sub-millisecond digits rounded as the CBV event hash rounds them', () => {
    const times: Array<[string, string]> = [
      ['2005-04-03T20:33:31.116000-06:00', '2005-04-04T02:33:31.116Z'],
      ['2013-06-08T14:58:56.591Z', '2013-06-08T14:58:56.591Z'],
      ['2024-02-29t23:59:59.9994z', '2024-02-29T23:59:59.999Z'],
      ['2024-02-29t23:59:59.9999z', '2024-03-01T00:00:00.000Z'],
      ['2023-02-02T11:04:03.1415Z', '2023-02-02T11:04:03.142Z'],
      ['2024-01-01T00:00:00+14:00', '2023-12-31T10:00:00.000Z'],
      ['0099-01-01T00:00:00Z', '0099-01-01T00:00:00.000Z'],
    ];
    const { events } = parseCaptureDocument(epcisDoc(times.map(([t], i) => objectEvent({ eventTime: t }, i))));
    expect(events.map((e) => e.eventTime.toISOString())).toEqual(times.map(([, iso]) => iso));
  });

  it('keeps extension fields as given, with the namespaces @context declares for them', () => {
    const { events } = parseCaptureDocument(
      epcisDoc([objectEvent({ 'example:myField': { nested: [1, 'two', null] }, 'https://ns.example.org/x': true })], {
        '@context': [EPCIS_CONTEXT, { example: 'http://ns.example.com/epcis/', unused: 'https://unused.example/' }],
      }),
    );
    expect(events[0]!.extensions).toEqual({ 'example:myField': { nested: [1, 'two', null] }, 'https://ns.example.org/x': true });
    expect(events[0]!.namespaces).toEqual({ example: 'http://ns.example.com/epcis/' });
  });

  it('gives an event without eventID its CBV 2.0 event hash ID', () => {
    const { eventID: _omit, ...raw } = objectEvent();
    const doc = epcisDoc([raw]);
    const first = parseCaptureDocument(doc).events[0]!.eventID;
    const again = parseCaptureDocument(epcisDoc([structuredClone(raw)])).events[0]!.eventID;
    expect(first).toMatch(/^ni:\/\/\/sha-256;[0-9a-f]{64}\?ver=CBV2\.0$/);
    expect(first).toBe(eventHash(raw, { context: doc['@context'] }).id);
    expect(again).toBe(first);
    // key order and recordTime do not matter, content does
    const reordered = Object.fromEntries(Object.entries(raw).reverse());
    expect(parseCaptureDocument(epcisDoc([reordered])).events[0]!.eventID).toBe(first);
    expect(parseCaptureDocument(epcisDoc([{ ...raw, recordTime: '2030-01-01T00:00:00Z' }])).events[0]!.eventID).toBe(first);
    const other = parseCaptureDocument(epcisDoc([{ ...raw, bizStep: 'receiving' }])).events[0]!.eventID;
    expect(other).not.toBe(first);
  });

  describe('rejection', () => {
    it('names only the broken event among 100 (bad check digit in event 57)', () => {
      const events = Array.from({ length: 100 }, (_, i) => objectEvent({}, i));
      events[57] = objectEvent({ epcList: [dl(GS1_GTIN, 'OK57'), dl('09506000134353', 'BAD57')] }, 57);
      const { message, errors } = rejection(epcisDoc(events));
      expect(message).toBe('EPCIS document rejected: 1 of 100 events invalid');
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatchObject({
        index: 57,
        eventID: 'urn:uuid:00000000-0000-4000-8000-000000000057',
        path: 'epcList[1]',
      });
      expect(errors[0]!.message).toMatch(/CHECK_DIGIT/);
    });

    it('collects every problem of every event, nothing partial', () => {
      const events = Array.from({ length: 10 }, (_, i) => objectEvent({}, i));
      events[3] = objectEvent({ eventTime: undefined, bizStep: 'teleporting', readPoint: { id: 'not a uri' } }, 3);
      events[7] = objectEvent({ action: 'DELETE', foo: 1 }, 7);
      const { message, errors } = rejection(epcisDoc(events));
      // GS1's schema first: it refuses events 3 and 7 (DELETE is valid there; our rule would refuse it next).
      expect(message, JSON.stringify(errors)).toBe("EPCIS document rejected: it does not validate against GS1's EPCIS 2.0 JSON schema (4 problems, in 2 events)");
      expect(errors.map((e) => [e.index, e.path]).sort(), JSON.stringify(errors)).toEqual([
        [3, 'bizStep'],
        [3, 'eventTime'],
        [3, 'readPoint.id'],
        [7, 'foo'],
      ]);
      const rules = rejection(epcisDoc(events.map((e, i) => (i === 3 ? objectEvent({}, 3) : i === 7 ? objectEvent({ action: 'DELETE' }, 7) : e))));
      expect(rules.message).toBe('EPCIS document rejected: 1 of 10 events invalid');
      expect(rules.errors.map((e) => [e.index, e.path])).toEqual([[7, 'action']]);
    });

    const table: Array<[string, unknown, Partial<EpcisIssue> & { message?: never }, RegExp, 'SCHEMA' | 'RULE']> = [
      ['a query document shaped as a capture document', epcisDoc([objectEvent()], { type: 'EPCISQueryDocument' }), { path: 'epcisBody.queryResults' }, /required/, 'SCHEMA'],
      ['another document type', epcisDoc([objectEvent()], { type: 'Document' }), { path: 'type' }, /uri/, 'SCHEMA'],
      ['EPCIS 1.2 schemaVersion', epcisDoc([objectEvent()], { schemaVersion: '1.2' }), { path: 'schemaVersion' }, /2\.0/, 'RULE'],
      ['no epcisBody', { type: 'EPCISDocument', schemaVersion: '2.0' }, { path: 'epcisBody' }, /epcisBody/, 'SCHEMA'],
      ['empty eventList', epcisDoc([]), { path: 'epcisBody.eventList' }, /at least one/, 'RULE'],
      ['unknown document field', epcisDoc([objectEvent()], { extra: 1 }), { path: 'extra' }, /not an EPCIS field/, 'SCHEMA'],
      ['missing eventTime', epcisDoc([objectEvent({ eventTime: undefined })]), { index: 0, path: 'eventTime' }, /required/, 'SCHEMA'],
      ['eventTime without offset', epcisDoc([objectEvent({ eventTime: '2024-05-01T10:00:00' })]), { index: 0, path: 'eventTime' }, /date-time/, 'SCHEMA'],
      ['impossible date', epcisDoc([objectEvent({ eventTime: '2023-02-29T10:00:00Z' })]), { index: 0, path: 'eventTime' }, /date-time/, 'SCHEMA'],
      ['bad zone offset', epcisDoc([objectEvent({ eventTimeZoneOffset: '+15:00' })]), { index: 0, path: 'eventTimeZoneOffset' }, /14:00/, 'SCHEMA'],
      ['missing zone offset', epcisDoc([objectEvent({ eventTimeZoneOffset: undefined })]), { index: 0, path: 'eventTimeZoneOffset' }, /required/, 'SCHEMA'],
      ['unknown bizStep', epcisDoc([objectEvent({ bizStep: 'teleporting' })]), { index: 0, path: 'bizStep' }, /must be one of/, 'SCHEMA'],
      ['URN-form bizStep (not allowed in JSON)', epcisDoc([objectEvent({ bizStep: 'urn:epcglobal:cbv:bizstep:shipping' })]), { index: 0, path: 'bizStep' }, /URN form/, 'SCHEMA'],
      ['no @context', (({ '@context': _c, ...d }) => d)(epcisDoc([objectEvent()])), { path: '@context' }, /required/, 'SCHEMA'],
      ['no creationDate', (({ creationDate: _c, ...d }) => d)(epcisDoc([objectEvent()])), { path: 'creationDate' }, /required/, 'SCHEMA'],
      ['an unknown term in a CBV namespace', epcisDoc([objectEvent({ bizStep: 'https://ref.gs1.org/cbv/BizStep-teleporting' })]), { index: 0, path: 'bizStep' }, /teleporting/, 'RULE'],
      ['unknown disposition', epcisDoc([objectEvent({ disposition: 'lost' })]), { index: 0, path: 'disposition' }, /must be one of/, 'SCHEMA'],
      [
        'AggregationEvent',
        epcisDoc([{ type: 'AggregationEvent', eventTime: '2024-05-01T10:00:00Z', eventTimeZoneOffset: '+00:00', action: 'ADD', parentID: 'urn:epc:id:sscc:0614141.1234567890', childEPCs: [dl(GS1_GTIN, 'C1')] }]),
        { index: 0, path: 'type' },
        /AggregationEvent is refused: only ObjectEvents/,
        'RULE',
      ],
      [
        'TransformationEvent',
        epcisDoc([{ type: 'TransformationEvent', eventTime: '2024-05-01T10:00:00Z', eventTimeZoneOffset: '+00:00', inputEPCList: [dl(GS1_GTIN, 'I1')], outputEPCList: [dl(GS1_GTIN, 'O1')] }]),
        { index: 0, path: 'type' },
        /TransformationEvent is refused/,
        'RULE',
      ],
      ['event without type', epcisDoc([objectEvent({ type: undefined })]), { index: 0, path: 'type' }, /required/, 'SCHEMA'],
      ['event that is not an object', epcisDoc(['ObjectEvent']), { index: 0, path: '' }, /must be object/, 'SCHEMA'],
      ['empty epcList', epcisDoc([objectEvent({ epcList: [] })]), { index: 0, path: 'epcList' }, /1 to 1000/, 'RULE'],
      ['no epcList', epcisDoc([objectEvent({ epcList: undefined })]), { index: 0, path: 'epcList' }, /required/, 'SCHEMA'],
      ['1001 EPCs', epcisDoc([objectEvent({ epcList: Array.from({ length: 1001 }, (_, i) => dl(GS1_GTIN, `S${i}`)) })]), { index: 0, path: 'epcList' }, /1 to 1000/, 'RULE'],
      [
        'urn:epc:id:sgtin with a 5-digit company prefix',
        epcisDoc([objectEvent({ epcList: ['urn:epc:id:sgtin:95060.00134352.ABC'] })]),
        { index: 0, path: 'epcList[0]' },
        /company prefix length/,
        'RULE',
      ],
      ['SSCC in epcList', epcisDoc([objectEvent({ epcList: ['urn:epc:id:sscc:0614141.1234567890'] })]), { index: 0, path: 'epcList[0]' }, /only SGTIN/, 'RULE'],
      ['class-level EPC', epcisDoc([objectEvent({ epcList: ['urn:epc:class:lgtin:4012345.012345.998877'] })]), { index: 0, path: 'epcList[0]' }, /only SGTIN/, 'RULE'],
      ['Digital Link without serial', epcisDoc([objectEvent({ epcList: [`${HOST}/01/${GS1_GTIN}`] })]), { index: 0, path: 'epcList[0]' }, /serial/, 'RULE'],
      ['duplicate EPC', epcisDoc([objectEvent({ epcList: [dl(GS1_GTIN, 'X'), sgtinUri(GS1_GTIN, 'X', 7)] })]), { index: 0, path: 'epcList[1]' }, /duplicate EPC/, 'RULE'],
      ['neither epcList nor quantityList', epcisDoc([objectEvent({ epcList: undefined, quantityList: [] })]), { index: 0, path: 'epcList' }, /required/, 'SCHEMA'],
      ['quantityList not an array', epcisDoc([objectEvent({ quantityList: { epcClass: 'urn:epc:class:lgtin:4012345.012345.1' } })]), { index: 0, path: 'quantityList' }, /array/, 'SCHEMA'],
      [
        'a GTIN-only class (no lot)',
        epcisDoc([objectEvent({ epcList: undefined, quantityList: [{ epcClass: 'urn:epc:idpat:sgtin:4012345.012345.*', quantity: 2 }] })]),
        { index: 0, path: 'quantityList[0].epcClass' },
        /only LGTIN/,
        'RULE',
      ],
      [
        'a class Digital Link without a lot',
        epcisDoc([objectEvent({ epcList: undefined, quantityList: [{ epcClass: `${HOST}/01/${GS1_GTIN}` }] })]),
        { index: 0, path: 'quantityList[0].epcClass' },
        /lot/,
        'RULE',
      ],
      [
        'a class Digital Link naming a serial',
        epcisDoc([objectEvent({ epcList: undefined, quantityList: [{ epcClass: `${HOST}/01/${GS1_GTIN}/10/L1/21/S1` }] })]),
        { index: 0, path: 'quantityList[0].epcClass' },
        /epcList/,
        'RULE',
      ],
      [
        'an LGTIN with a bad check digit',
        epcisDoc([objectEvent({ epcList: undefined, quantityList: [{ epcClass: `${HOST}/01/09506000134353/10/L1` }] })]),
        { index: 0, path: 'quantityList[0].epcClass' },
        /CHECK_DIGIT/,
        'RULE',
      ],
      [
        'an unknown quantityList field',
        epcisDoc([objectEvent({ quantityList: [{ epcClass: 'urn:epc:class:lgtin:4012345.012345.1', qty: 1 }] })]),
        { index: 0, path: 'quantityList[0]' },
        /additional properties/,
        'SCHEMA',
      ],
      [
        'a negative quantity',
        epcisDoc([objectEvent({ quantityList: [{ epcClass: 'urn:epc:class:lgtin:4012345.012345.1', quantity: -1 }] })]),
        { index: 0, path: 'quantityList[0].quantity' },
        /non-negative/,
        'RULE',
      ],
      [
        'a uom without a quantity',
        epcisDoc([objectEvent({ quantityList: [{ epcClass: 'urn:epc:class:lgtin:4012345.012345.1', uom: 'KGM' }] })]),
        { index: 0, path: 'quantityList[0].uom' },
        /together with quantity/,
        'RULE',
      ],
      [
        'a malformed uom',
        epcisDoc([objectEvent({ quantityList: [{ epcClass: 'urn:epc:class:lgtin:4012345.012345.1', quantity: 1, uom: 'kilo' }] })]),
        { index: 0, path: 'quantityList[0].uom' },
        /must match/,
        'SCHEMA',
      ],
      [
        'the same lot twice',
        epcisDoc([
          objectEvent({
            quantityList: [{ epcClass: 'urn:epc:class:lgtin:4012345.012345.L1' }, { epcClass: `${HOST}/01/04012345123456/10/L1` }],
          }),
        ]),
        { index: 0, path: 'quantityList[1].epcClass' },
        /duplicate class/,
        'RULE',
      ],
      ['DELETE action', epcisDoc([objectEvent({ action: 'DELETE' })]), { index: 0, path: 'action' }, /DELETE is refused/, 'RULE'],
      ['ilmd with OBSERVE', epcisDoc([objectEvent({ ilmd: { 'cbvmda:lotNumber': 'L1' } })]), { index: 0, path: 'ilmd' }, /must NOT be valid/, 'SCHEMA'],
      ['errorDeclaration', epcisDoc([objectEvent({ errorDeclaration: { declarationTime: '2024-05-01T10:00:00Z' } })]), { index: 0, path: 'errorDeclaration' }, /append-only/, 'RULE'],
      ['unknown field without a prefix', epcisDoc([objectEvent({ myField: 1 })]), { index: 0, path: 'myField' }, /need a namespace/, 'SCHEMA'],
      ['readPoint as a string', epcisDoc([objectEvent({ readPoint: 'urn:epc:id:sgln:9506000.13435.0' })]), { index: 0, path: 'readPoint' }, /object/, 'SCHEMA'],
      ['readPoint longer than 500', epcisDoc([objectEvent({ readPoint: { id: `urn:x:${'a'.repeat(500)}` } })]), { index: 0, path: 'readPoint.id' }, /500/, 'RULE'],
      ['bizTransaction with an unknown key', epcisDoc([objectEvent({ bizTransactionList: [{ bizTransaction: 'urn:x:1', note: 'x' }] })]), { index: 0, path: 'bizTransactionList[0]' }, /additional properties/, 'SCHEMA'],
      ['eventID that is not a URI', epcisDoc([objectEvent({ eventID: 'event 1' })]), { index: 0, path: 'eventID' }, /format "uri"/, 'SCHEMA'],
      ['duplicate eventID', epcisDoc([objectEvent({}, 1), objectEvent({ epcList: [dl(GS1_GTIN, 'OTHER')] }, 1)]), { index: 1, path: 'eventID' }, /duplicate eventID: same as event 0/, 'RULE'],
    ];

    // SCHEMA: GS1's schema refuses the document, and capture reports the schema's problem at that path.
    // RULE: the schema accepts it and one of our rules (README, "EPCIS capture") refuses it, alone.
    it.each(table)('%s (%s)', (_name, doc, expected, messagePattern, by) => {
      const { errors, message } = rejection(doc);
      expect(message).toMatch(/^EPCIS document rejected: /);
      if (by === 'SCHEMA') {
        expect(message).toMatch(/does not validate against GS1's EPCIS 2.0 JSON schema/);
        const issue = errors.find((e) => e.path === expected.path && e.index === expected.index);
        expect(issue, JSON.stringify(errors)).toBeDefined();
        expect(issue!.message).toMatch(messagePattern);
        expect(issue!.message).toMatch(/\(GS1 EPCIS 2\.0 JSON schema\)$/);
      } else {
        expect(schemaIssues(doc)).toEqual([]);
        expect(errors).toHaveLength(1);
        expect(errors[0]).toMatchObject(expected);
        if (expected.index === undefined) expect(errors[0]!.index).toBeUndefined();
        expect(errors[0]!.message).toMatch(messagePattern);
      }
    });

    it('refuses more than 10,000 events without looking at them', () => {
      const event = objectEvent({ bizStep: 'teleporting' });
      const { message, errors } = rejection(epcisDoc(Array.from({ length: 10_001 }, () => event)));
      expect(message).toMatch(/10001 events; at most 10000/);
      expect(errors).toEqual([{ path: 'epcisBody.eventList', message: expect.stringMatching(/at most 10000/) }]);
    });

    it('accepts exactly 10,000 events', () => {
      const events = Array.from({ length: 10_000 }, (_, i) => objectEvent({}, i));
      expect(parseCaptureDocument(epcisDoc(events)).events).toHaveLength(10_000);
    });

    it.each([[null], [undefined], ['{"type":"EPCISDocument"}'], [42], [[epcisDoc([objectEvent()])]], [new Map()]])(
      'refuses a non-object input %#',
      (input) => {
        const { message, errors } = rejection(input);
        expect(message).toMatch(/must be a JSON object/);
        expect(errors).toHaveLength(1);
      },
    );

    it('caps the listed problems but counts them all', () => {
      const bad = Array.from({ length: 1000 }, (_, i) => dl('09506000134353', `S${i}`));
      const { message, errors, details } = rejection(epcisDoc([objectEvent({ epcList: bad }, 0), objectEvent({ epcList: bad }, 1)]));
      expect(message).toBe('EPCIS document rejected: 2 of 2 events invalid');
      expect(errors).toHaveLength(MAX_REPORTED_ISSUES);
      expect(details.errorCount).toBe(2000);
      expect(details.truncated).toBe(true);
    });
  });
});

describe('class-level quantityList (LGTIN)', () => {
  it.each([
    ['urn:epc:class:lgtin:4012345.012345.998877', { gtin: '04012345123456', lot: '998877' }],
    ['URN:EPC:CLASS:LGTIN:4012345.012345.A%2FB', { gtin: '04012345123456', lot: 'A/B' }],
    ['https://id.gs1.org/01/70614141123451/10/998877', { gtin: '70614141123451', lot: '998877' }],
    ['https://id.example.com/prefix/01/4012345123456/10/L%2F1?x=1', { gtin: '04012345123456', lot: 'L/1' }],
  ])('parses %s', (uri, expected) => {
    expect(parseLgtin(uri)).toEqual(expected);
  });

  it.each([
    ['urn:epc:id:sgtin:4012345.012345.998877'],
    ['urn:epc:class:lgtin:4012345.012345'],
    ['urn:epc:class:lgtin:4012345.012345.'],
    ['https://id.gs1.org/01/70614141123451'],
    ['https://id.gs1.org/01/70614141123451/10/998877/21/1'],
    ['https://id.gs1.org/01/70614141123451/22/V1/10/998877'],
    ['https://id.gs1.org/01/70614141123452/10/998877'],
    ['ftp://id.gs1.org/01/70614141123451/10/998877'],
  ])('refuses %s', (uri) => {
    expect(() => parseLgtin(uri)).toThrow();
  });

  it('accepts lots beside serialised units, and lots alone, keeping quantity and uom', () => {
    const lgtin = 'urn:epc:class:lgtin:9506000.013435.L7';
    const { events } = parseCaptureDocument(
      epcisDoc([
        objectEvent({ quantityList: [{ epcClass: lgtin, quantity: 2.5, uom: 'KGM' }] }, 0),
        objectEvent({ epcList: [], quantityList: [{ epcClass: `${HOST}/01/${GS1_GTIN}/10/L8`, quantity: 3 }, { epcClass: lgtin }] }, 1),
        objectEvent({ epcList: undefined, quantityList: [{ epcClass: lgtin }] }, 2),
      ]),
    );
    expect(events[0]!.epcs).toHaveLength(1);
    expect(events[0]!.quantityList).toEqual([{ gtin: GS1_GTIN, lot: 'L7', epcClass: lgtin, quantity: 2.5, uom: 'KGM' }]);
    expect(events[1]!.epcs).toEqual([]);
    expect(events[1]!.quantityList).toEqual([
      { gtin: GS1_GTIN, lot: 'L8', epcClass: `${HOST}/01/${GS1_GTIN}/10/L8`, quantity: 3 },
      { gtin: GS1_GTIN, lot: 'L7', epcClass: lgtin },
    ]);
    expect(events[2]!.quantityList).toHaveLength(1);
  });

  it('exports lots as /01/…/10/… Digital Links, with no epcList when the event names no unit', () => {
    const doc = exportDocument(
      [
        {
          eventID: 'urn:uuid:55555555-5555-4555-8555-555555555555',
          eventTime: new Date('2024-05-01T08:00:00Z'),
          action: 'OBSERVE',
          bizStep: 'receiving',
          epcs: [],
          quantityList: [{ gtin: GS1_GTIN, lot: 'L/7', quantity: 200, uom: 'KGM' }],
        },
      ],
      { documentId: 'urn:uuid:6f1c7e54-8c3b-4a39-9d0e-3b1f4f0c2a11', creationDate: new Date(), resolverHost: 'id.example.com' },
    );
    const [e] = doc.epcisBody.eventList;
    expect(e).not.toHaveProperty('epcList');
    expect(e!.quantityList).toEqual([{ epcClass: `https://id.example.com/01/${GS1_GTIN}/10/L%2F7`, quantity: 200, uom: 'KGM' }]);
    expect(withoutUris(parseCaptureDocument(doc).events)[0]!.quantityList).toEqual([{ gtin: GS1_GTIN, lot: 'L/7', quantity: 200, uom: 'KGM' }]);
  });
});

describe('exportDocument', () => {
  const opts = { documentId: 'urn:uuid:6f1c7e54-8c3b-4a39-9d0e-3b1f4f0c2a11', creationDate: new Date('2024-05-02T00:00:00Z'), resolverHost: 'id.example.com' };
  const events: ExportEvent[] = [
    {
      eventID: 'urn:uuid:11111111-1111-4111-8111-111111111111',
      eventTime: new Date('2024-05-01T08:00:00.123Z'),
      eventTimeZoneOffset: '+02:00',
      action: 'ADD',
      bizStep: 'urn:epcglobal:cbv:bizstep:commissioning',
      disposition: 'active',
      readPoint: 'urn:epc:id:sgln:9506000.13435.0',
      epcs: [
        { gtin: GS1_GTIN, serial: 'K7M2Q9X4T1B8Z3WD' },
        { gtin: '9506000134352', serial: 'A/2' },
      ],
      ilmd: { 'cbvmda:lotNumber': 'L42' },
    },
    {
      eventID: 'urn:uuid:22222222-2222-4222-8222-222222222222',
      eventTime: new Date('2024-05-03T02:30:00Z'),
      eventTimeZoneOffset: '-06:00',
      action: 'OBSERVE',
      bizStep: 'shipping',
      disposition: 'in_transit',
      bizLocation: 'urn:epc:id:sgln:9506000.13435.1',
      epcs: [{ gtin: GS1_GTIN, serial: 'K7M2Q9X4T1B8Z3WD' }],
      bizTransactionList: [{ type: 'po', bizTransaction: 'urn:epcglobal:cbv:bt:9506000134352:42' }, { bizTransaction: 'https://erp.example.com/so/9' }],
      sourceList: [{ type: 'owning_party', source: 'urn:epc:id:pgln:9506000.00000' }],
      destinationList: [{ type: 'possessing_party', destination: 'urn:epc:id:pgln:9506001.00000' }],
      extensions: { 'acme:carrier': { name: 'Acme', ids: [1, 2] } },
      namespaces: { acme: 'https://acme.example/epcis/' },
    },
    {
      eventID: 'urn:uuid:33333333-3333-4333-8333-333333333333',
      eventTime: new Date('2024-05-04T12:00:00Z'),
      action: 'OBSERVE',
      bizStep: 'https://ref.gs1.org/cbv/BizStep-retail_selling',
      disposition: 'https://ref.gs1.org/cbv/Disp-retail_sold',
      epcs: [{ gtin: GS1_GTIN, serial: 'K7M2Q9X4T1B8Z3WD' }],
    },
  ];

  it('writes EPCIS 2.0 JSON-LD with Digital Links, bare CBV terms and times in the event offset', () => {
    const doc = exportDocument(events, opts);
    expect(doc['@context']).toEqual([EPCIS_CONTEXT, { acme: 'https://acme.example/epcis/' }]);
    expect(doc).toMatchObject({ id: opts.documentId, type: 'EPCISDocument', schemaVersion: '2.0', creationDate: '2024-05-02T00:00:00.000Z' });
    const [a, b, c] = doc.epcisBody.eventList;
    expect(a).toMatchObject({
      type: 'ObjectEvent',
      eventTime: '2024-05-01T10:00:00.123+02:00',
      eventTimeZoneOffset: '+02:00',
      bizStep: 'commissioning',
      readPoint: { id: 'urn:epc:id:sgln:9506000.13435.0' },
      epcList: ['https://id.example.com/01/09506000134352/21/K7M2Q9X4T1B8Z3WD', 'https://id.example.com/01/09506000134352/21/A%2F2'],
    });
    expect(b).toMatchObject({ eventTime: '2024-05-02T20:30:00.000-06:00', 'acme:carrier': { name: 'Acme', ids: [1, 2] } });
    expect(c).toMatchObject({ eventTime: '2024-05-04T12:00:00.000+00:00', eventTimeZoneOffset: '+00:00', bizStep: 'retail_selling', disposition: 'retail_sold' });
    expect(c).not.toHaveProperty('readPoint');
    expect(exportDocument([events[2]!], opts)['@context']).toBe(EPCIS_CONTEXT);
  });

  it('round-trips losslessly through parseCaptureDocument', () => {
    const captured = parseCaptureDocument(exportDocument(events, opts)).events;
    expect(captured.map((e) => e.eventID)).toEqual(events.map((e) => e.eventID));
    expect(captured.map((e) => e.eventTime.getTime())).toEqual(events.map((e) => e.eventTime.getTime()));
    expect(captured[2]!.eventTimeZoneOffset).toBe('+00:00');
    const again = parseCaptureDocument(exportDocument(captured, opts)).events;
    expect(again).toEqual(captured);
    expect(withoutUris(captured)[1]).toEqual({ ...events[1], epcs: [{ gtin: GS1_GTIN, serial: 'K7M2Q9X4T1B8Z3WD' }] });
    expect(captured[0]!.epcs[1]).toEqual({ gtin: GS1_GTIN, serial: 'A/2', uri: 'https://id.example.com/01/09506000134352/21/A%2F2' });
  });

  it.each([
    ['a bad offset', { eventTimeZoneOffset: '+2:00' }, /eventTimeZoneOffset/],
    ['an unknown bizStep', { bizStep: 'teleporting' }, /teleporting/],
    ['an invalid date', { eventTime: new Date(Number.NaN) }, /eventTime/],
    ['a year past 9999', { eventTime: new Date('+010000-01-01T00:00:00Z') }, /9999/],
    ['no units', { epcs: [] }, /at least one/],
    ['a bad GTIN', { epcs: [{ gtin: '09506000134353', serial: 'X' }] }, /invalid epc/],
    ['an extension without a prefix', { extensions: { carrier: 'x' } }, /namespaced/],
    ['ilmd on OBSERVE', { action: 'OBSERVE', ilmd: { 'a:b': 1 } }, /ADD/],
  ])('refuses an event with %s', (_name, change, pattern) => {
    expect(() => exportDocument([{ ...events[0]!, ...change } as ExportEvent], opts)).toThrow(pattern);
  });

  it('refuses one prefix bound to two namespaces, and a bad document id', () => {
    const clash = { ...events[1]!, eventID: 'urn:uuid:44444444-4444-4444-8444-444444444444', namespaces: { acme: 'https://other.example/' } };
    expect(() => exportDocument([events[1]!, clash], opts)).toThrow(/bound to both/);
    expect(() => exportDocument(events, { ...opts, documentId: 'doc 1' })).toThrow(BadInputError);
  });
});

describeVectors('GS1 EPCIS 2.0 schema and examples (shared vectors)', () => {
  const epcisDir = () => path.join(vectorsDir!, 'epcis');
  const readJson = (name: string): unknown => JSON.parse(readFileSync(path.join(epcisDir(), name), 'utf8'));
  const examples = () => readdirSync(epcisDir()).filter((f) => /^Example_9\.6\..*\.jsonld$/.test(f)).sort();
  let validate: ValidateFunction;

  beforeAll(() => {
    // GS1's draft-07 schema is valid JSON Schema, but ajv's strict mode refuses one of its habits: `required`
    // names inside anyOf branches that declare no matching `properties` (e.g. transformationID), which
    // ajv's `strictRequired` flags. Every other strict check stays on.
    const ajv = new Ajv({ strict: true, strictRequired: false, allErrors: true });
    addFormats(ajv);
    validate = ajv.compile(readJson('EPCIS-JSON-Schema.json') as object);
  });

  function expectSchemaValid(doc: unknown): void {
    const ok = validate(doc);
    expect(validate.errors ?? [], JSON.stringify(validate.errors, null, 1)).toEqual([]);
    expect(ok).toBe(true);
  }

  it('finds the four example documents', () => {
    expect(examples()).toEqual([
      'Example_9.6.1-ObjectEvent.jsonld',
      'Example_9.6.1-ObjectEventWithDigitalLink.jsonld',
      'Example_9.6.2-ObjectEvent.jsonld',
      'Example_9.6.2-ObjectEventWithDigitalLink.jsonld',
    ]);
  });

  it('lists the same CBV 2.0 business steps, dispositions and types as the schema', () => {
    const schema = readJson('EPCIS-JSON-Schema.json') as { definitions: Record<string, { anyOf: Array<{ enum?: string[] }> }> };
    const enumOf = (name: string) => [...schema.definitions[name]!.anyOf.find((b) => b.enum)!.enum!].sort();
    expect([...BIZ_STEPS].sort()).toEqual(enumOf('bizStep'));
    expect([...DISPOSITIONS].sort()).toEqual(enumOf('disposition'));
    expect([...BIZ_TRANSACTION_TYPES].sort()).toEqual(enumOf('bizTransaction-type'));
    expect([...SOURCE_DEST_TYPES].sort()).toEqual(enumOf('source-dest-type'));
  });

  it('every example validates against the official schema (and the validator is not vacuous)', () => {
    for (const name of examples()) expectSchemaValid(readJson(name));
    const doc = readJson('Example_9.6.1-ObjectEvent.jsonld') as { epcisBody: { eventList: Array<Record<string, unknown>> } };
    doc.epcisBody.eventList[0]!.eventTimeZoneOffset = '+15:00';
    expect(validate(doc)).toBe(false);
    expect(validate({ ...(doc as object), schemaVersion: 2 })).toBe(false);
  });

  it.each([
    ['Example_9.6.1-ObjectEvent.jsonld', '10614141073464'],
    ['Example_9.6.1-ObjectEventWithDigitalLink.jsonld', '70614141123451'],
  ])('accepts %s', (name, gtin) => {
    const doc = readJson(name) as { epcisBody: { eventList: Array<{ eventID: string }> } };
    const { events } = parseCaptureDocument(doc);
    expect(events).toHaveLength(2);
    expect(events.map((e) => e.eventID)).toEqual(doc.epcisBody.eventList.map((e) => e.eventID));
    expect(events.map((e) => e.bizStep)).toEqual(['shipping', 'receiving']);
    expect(events.map((e) => e.disposition)).toEqual(['in_transit', 'in_progress']);
    expect(events.map((e) => e.epcs.map(({ gtin, serial }) => [gtin, serial]))).toEqual([
      [
        [gtin, '2017'],
        [gtin, '2018'],
      ],
      [[gtin, '2018']],
    ]);
    expect(events.map((e) => e.eventTime.toISOString())).toEqual(['2005-04-04T02:33:31.116Z', '2005-04-05T02:33:31.116Z']);
    expect(events.map((e) => e.eventTimeZoneOffset)).toEqual(['-06:00', '-06:00']);
    expect(events[0]!.readPoint).toBe('urn:epc:id:sgln:0614141.07346.1234');
    expect(events[0]).not.toHaveProperty('bizLocation');
    expect(events[1]!.bizLocation).toBe('urn:epc:id:sgln:0012345.11111.0');
    expect(events[1]!.bizTransactionList).toEqual([
      { type: 'po', bizTransaction: 'http://transaction.acme.com/po/12345678' },
      { type: 'desadv', bizTransaction: 'urn:epcglobal:cbv:bt:0614141073467:1152' },
    ]);
    expect(events[1]!.extensions).toEqual({ 'example:myField': 'Example of a vendor/user extension' });
    expect(events[1]!.namespaces).toEqual({ example: 'http://ns.example.com/epcis/' });
  });

  it.each([
    ['Example_9.6.2-ObjectEvent.jsonld', '04012345123456', 'urn:epc:class:lgtin:4012345.012345.998877'],
    ['Example_9.6.2-ObjectEventWithDigitalLink.jsonld', '70614141123451', 'https://id.gs1.org/01/70614141123451/10/998877'],
  ])('accepts %s: a class-level quantityList naming one lot (LGTIN), no serialised units', (name, gtin, epcClass) => {
    const { events } = parseCaptureDocument(readJson(name));
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      action: 'OBSERVE',
      bizStep: 'receiving',
      disposition: 'in_progress',
      epcs: [],
      quantityList: [{ gtin, lot: '998877', epcClass, quantity: 200, uom: 'KGM' }],
      readPoint: 'urn:epc:id:sgln:0614141.00777.0',
      bizLocation: 'urn:epc:id:sgln:0614141.00888.0',
      extensions: { 'example:myField': 'Example of a vendor/user extension' },
    });
    expect(events[0]!.sourceList).toHaveLength(2);
    expect(events[0]!.destinationList).toHaveLength(2);
    expect(events[0]!.eventTimeZoneOffset).toBe('+02:00');
  });

  it('an exported document validates against the official schema', () => {
    for (const name of examples()) {
      const { events } = parseCaptureDocument(readJson(name));
      expectSchemaValid(
        exportDocument(events, { documentId: 'https://id.example.org/document1', creationDate: new Date(), resolverHost: 'https://id.example.com/' }),
      );
    }
    expectSchemaValid(
      exportDocument(
        [
          {
            eventID: 'urn:uuid:11111111-1111-4111-8111-111111111111',
            eventTime: new Date('2024-05-01T08:00:00Z'),
            eventTimeZoneOffset: '+14:00',
            action: 'ADD',
            bizStep: 'commissioning',
            disposition: 'active',
            epcs: [{ gtin: GS1_GTIN, serial: 'A/2"%b' }],
            ilmd: { 'cbvmda:lotNumber': 'L1' },
            sourceList: [{ type: 'owning_party', source: 'urn:epc:id:pgln:9506000.00000' }],
            destinationList: [{ type: 'https://example.com/sdt/custom', destination: 'urn:epc:id:pgln:9506001.00000' }],
            bizTransactionList: [{ bizTransaction: 'urn:epcglobal:cbv:bt:9506000134352:42' }],
            extensions: { 'example:note': { a: [1] } },
            namespaces: { example: 'http://ns.example.com/epcis/' },
          },
        ],
        { documentId: 'urn:uuid:6f1c7e54-8c3b-4a39-9d0e-3b1f4f0c2a11', creationDate: new Date(), resolverHost: 'id.example.com' },
      ),
    );
  });

  it('ships the same schema as GS1 publishes (the copy under src/ equals the vector, byte for byte)', () => {
    expect(readFileSync(EPCIS_SCHEMA_URL)).toEqual(readFileSync(path.join(epcisDir(), 'EPCIS-JSON-Schema.json')));
  });

  /**
   * Our rules that refuse what GS1's schema accepts (README, "EPCIS capture"), as this test reads them from a
   * document: each entry is a pattern the refusal's message must match.
   */
  function ourRules(doc: Record<string, unknown>): RegExp[] {
    const rules: RegExp[] = [];
    if (doc.type === 'EPCISQueryDocument') rules.push(/query documents/);
    if (doc.schemaVersion !== '2.0' && doc.schemaVersion !== '2') rules.push(/schemaVersion/);
    const body = doc.epcisBody as { eventList?: Array<Record<string, unknown>> } | undefined;
    const seen = new Set<unknown>();
    for (const e of body?.eventList ?? []) {
      if (e.eventID !== undefined && seen.has(e.eventID)) rules.push(/duplicate eventID/);
      seen.add(e.eventID);
      if (e.type !== 'ObjectEvent') {
        rules.push(/is refused: only ObjectEvents/);
        continue;
      }
      if (e.errorDeclaration !== undefined) rules.push(/error declarations are refused/);
      if (e.action === 'DELETE') rules.push(/DELETE is refused/);
      const epcs = (e.epcList as string[] | undefined) ?? [];
      const lots = (e.quantityList as Array<{ epcClass: string }> | undefined) ?? [];
      const sgtin = /^urn:epc:id:sgtin:|^https?:\/\/[^/]+(?:\/[^?#]*)?\/01\/\d{14}(?:\/10\/[^/?#]+)?\/21\/[^/?#]+(?:[?#].*)?$/i;
      const lgtin = /^urn:epc:class:lgtin:|^https?:\/\/[^/]+(?:\/[^?#]*)?\/01\/\d{14}\/10\/[^/?#]+(?:[?#].*)?$/i;
      if (epcs.some((u) => !sgtin.test(u))) rules.push(/only SGTIN|invalid EPC/);
      if (lots.some((q) => !lgtin.test(q.epcClass))) rules.push(/only LGTIN|invalid epcClass/);
      if (epcs.length === 0 && lots.length === 0) rules.push(/epcList/);
    }
    return rules;
  }

  /** GS1's example documents, the event-hash reference documents, and variants of 9.6.1 that probe each rule. */
  function corpus(): Array<[string, Record<string, unknown>]> {
    const docs: Array<[string, Record<string, unknown>]> = [];
    for (const name of examples()) docs.push([name, readJson(name) as Record<string, unknown>]);
    const hashDir = path.join(vectorsDir!, 'epcis-event-hash');
    for (const name of readdirSync(hashDir).filter((f) => f.endsWith('.jsonld')).sort()) {
      docs.push([name, JSON.parse(readFileSync(path.join(hashDir, name), 'utf8')) as Record<string, unknown>]);
    }
    const sensorDoc = JSON.parse(readFileSync(path.join(hashDir, 'CertificationInfoAndSensorReportWithCRS.jsonld'), 'utf8')) as {
      epcisBody: { eventList: Array<Record<string, unknown>> };
    };
    const base = readJson('Example_9.6.1-ObjectEventWithDigitalLink.jsonld') as Record<string, unknown> & { epcisBody: { eventList: Array<Record<string, unknown>> } };
    const variant = (name: string, change: (d: typeof base) => void) => {
      const d = structuredClone(base);
      change(d);
      docs.push([`9.6.1 ${name}`, d]);
    };
    const first = (d: typeof base) => d.epcisBody.eventList[0]!;
    variant('without @context', (d) => delete d['@context']);
    variant('without creationDate', (d) => delete d.creationDate);
    variant('with a URN-form bizStep', (d) => (first(d).bizStep = 'urn:epcglobal:cbv:bizstep:shipping'));
    variant('with a URN-form disposition', (d) => (first(d).disposition = 'urn:epcglobal:cbv:disp:in_transit'));
    variant('with a user-defined bizStep URI', (d) => (first(d).bizStep = 'https://example.com/bizstep/quality_check'));
    variant('with a user-defined disposition URI', (d) => (first(d).disposition = 'urn:example:disp:quarantined'));
    variant('with a web-URI CBV bizStep', (d) => (first(d).bizStep = 'https://ref.gs1.org/cbv/BizStep-shipping'));
    variant('without bizStep', (d) => delete first(d).bizStep);
    variant('with sensorElementList', (d) => (first(d).sensorElementList = sensorDoc.epcisBody.eventList[0]!.sensorElementList));
    variant('with certificationInfo', (d) => (first(d).certificationInfo = 'https://accreditation-council.example.org/certificate/ABC12345'));
    variant('with persistentDisposition', (d) => (first(d).persistentDisposition = { set: ['completeness_verified'], unset: ['completeness_inferred'] }));
    variant('with a readPoint extension', (d) => (first(d).readPoint = { id: 'urn:epc:id:sgln:0614141.07346.1234', 'example:floor': 3 }));
    variant('with ADD and shipping', (d) => (first(d).action = 'ADD'));
    variant('with an errorDeclaration', (d) => (first(d).errorDeclaration = { declarationTime: '2020-01-15T00:00:00.000+01:00', reason: 'incorrect_data' }));
    variant('with DELETE', (d) => (first(d).action = 'DELETE'));
    variant('with an unprefixed user field', (d) => (first(d).myField = 1));
    variant('with schemaVersion 2.1', (d) => (d.schemaVersion = '2.1'));
    variant('with an empty epcList', (d) => (first(d).epcList = []));
    variant('with an SSCC in epcList', (d) => (first(d).epcList = ['urn:epc:id:sscc:0614141.1234567890']));
    return docs;
  }

  it('agrees with the schema on every document, except where a documented rule of ours refuses it', () => {
    const outcomes: string[] = [];
    for (const [name, doc] of corpus()) {
      const schemaOk = validate(doc) === true;
      const rules = ourRules(doc);
      let refusal: { message: string; errors: EpcisIssue[] } | undefined;
      try {
        parseCaptureDocument(doc);
      } catch (err) {
        expect(err, name).toBeInstanceOf(BadInputError);
        refusal = { message: (err as BadInputError).message, errors: (err as BadInputError).details!.errors as EpcisIssue[] };
      }
      outcomes.push(`${name}: schema ${schemaOk ? 'accepts' : 'refuses'}, capture ${refusal ? 'refuses' : 'accepts'}`);
      if (!schemaOk) {
        expect(refusal?.message, name).toMatch(/does not validate against GS1's EPCIS 2.0 JSON schema/);
        expect(refusal!.errors.length, name).toBeGreaterThan(0);
        for (const issue of refusal!.errors) expect(issue.message, name).toMatch(/\(GS1 EPCIS 2\.0 JSON schema\)$/);
      } else if (rules.length === 0) {
        expect(refusal, `${name}: ${JSON.stringify(refusal)}`).toBeUndefined();
      } else {
        expect(refusal, name).toBeDefined();
        for (const issue of refusal!.errors) expect(rules.some((r) => r.test(issue.message)), `${name}: ${issue.message}`).toBe(true);
      }
    }
    // The corpus exercises all three outcomes.
    expect(outcomes.filter((o) => o.includes('schema refuses')).length).toBeGreaterThanOrEqual(5);
    expect(outcomes.filter((o) => o.includes('schema accepts, capture accepts')).length).toBeGreaterThanOrEqual(15);
    expect(outcomes.filter((o) => o.includes('schema accepts, capture refuses')).length).toBeGreaterThanOrEqual(8);
  });

  it('keeps and exports as given the standard fields it does not interpret (sensor data, certification, persistent disposition)', () => {
    const hashDir = path.join(vectorsDir!, 'epcis-event-hash');
    for (const name of ['CertificationInfoAndSensorReportWithCRS.jsonld', 'persistentDisposition.jsonld', 'epcisDocWithSensorDataObjectEvent.jsonld']) {
      const doc = JSON.parse(readFileSync(path.join(hashDir, name), 'utf8')) as { epcisBody: { eventList: Array<Record<string, unknown>> } };
      const { events } = parseCaptureDocument(doc);
      const exported = exportDocument(events, { documentId: 'urn:uuid:6f1c7e54-8c3b-4a39-9d0e-3b1f4f0c2a11', creationDate: new Date(), resolverHost: HOST });
      expectSchemaValid(exported);
      exported.epcisBody.eventList.forEach((out, i) => {
        for (const key of ['sensorElementList', 'certificationInfo', 'persistentDisposition']) {
          expect(out[key], `${name} ${key}`).toEqual(doc.epcisBody.eventList[i]![key]);
        }
      });
      expect(withoutUris(parseCaptureDocument(exported).events)).toEqual(withoutUris(events));
    }
  });

  it('round-trips the GS1 examples losslessly (ids, instants, offsets, units, lots, steps, extensions)', () => {
    for (const name of examples()) {
      const { events } = parseCaptureDocument(readJson(name));
      const exported = exportDocument(events, { documentId: 'https://id.example.org/document1', creationDate: new Date(), resolverHost: HOST });
      expectSchemaValid(exported);
      const back = parseCaptureDocument(exported).events;
      expect(withoutUris(back)).toEqual(withoutUris(events));
      if (name.startsWith('Example_9.6.1')) expect(back[0]!.epcs[0]!.uri).toMatch(/^https:\/\/id\.example\.com\/01\/\d{14}\/21\/2017$/);
      else expect(back[0]!.quantityList![0]!.epcClass).toMatch(/^https:\/\/id\.example\.com\/01\/\d{14}\/10\/998877$/);
    }
  });
});
