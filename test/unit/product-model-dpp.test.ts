import { describe, expect, it } from 'vitest';
import { BadInputError } from '../../src/errors/app-error.js';
import { DPP_MAX_BYTES, type Dpp, isValidCasNumber, parseDpp, publicDpp, restrictedDpp } from '../../src/modules/product-models/product-model.dpp.js';

const FULL_DPP: Dpp = {
  materials: [
    { name: 'aluminium 6061', massPercent: 62.5, recycledContentPercent: 40, renewable: false, origin: 'NO' },
    { name: 'recycled PET', massPercent: 30, recycledContentPercent: 100 },
    { name: 'lithium-ion cell', massPercent: 7.5 },
  ],
  substancesOfConcern: [{ name: 'lead', casNumber: '7439-92-1', concentrationPercent: 0.05, location: 'solder joints' }],
  repair: {
    repairabilityScore: 7.8,
    instructionsUrl: 'https://brand.example/repair',
    sparePartsAvailableYears: 7,
    serviceNetworkUrl: 'https://brand.example/service',
  },
  disassembly: { instructionsUrl: 'https://brand.example/disassembly', toolsRequired: ['T5 Torx'], steps: ['Remove the base plate', 'Unclip the battery'] },
  carbonFootprint: { kgCO2e: 42.1, method: 'ISO 14067', scope: 'cradle-to-gate' },
  documents: [
    { title: 'User manual', url: 'https://brand.example/manual.pdf', type: 'MANUAL', language: 'en' },
    { title: 'EU declaration of conformity', url: 'https://brand.example/doc.pdf', type: 'DECLARATION_OF_CONFORMITY' },
  ],
};

/** The BadInputError message of parseDpp(value). */
function problem(value: unknown): string {
  try {
    parseDpp(value);
  } catch (err) {
    expect(err).toBeInstanceOf(BadInputError);
    return (err as BadInputError).message;
  }
  throw new Error('expected parseDpp to throw');
}

describe('DPP schema', () => {
  it('accepts a full example unchanged', () => {
    expect(parseDpp(FULL_DPP)).toEqual(FULL_DPP);
  });

  it('accepts an empty object and every section on its own', () => {
    expect(parseDpp({})).toEqual({});
    for (const key of Object.keys(FULL_DPP) as (keyof Dpp)[]) {
      expect(parseDpp({ [key]: FULL_DPP[key] })).toEqual({ [key]: FULL_DPP[key] });
    }
  });

  it('normalises strings, countries and languages', () => {
    const d = parseDpp({
      materials: [{ name: '  steel ', massPercent: 10, origin: 'de' }],
      documents: [{ title: 'Manual', url: 'https://x.example/m', type: 'MANUAL', language: 'FR' }],
    });
    expect(d.materials?.[0]).toEqual({ name: 'steel', massPercent: 10, origin: 'DE' });
    expect(d.documents?.[0]?.language).toBe('fr');
    // Real ISO 639-1 codes, whatever their case, including ones CLDR files under longer tags (tl, Tagalog).
    for (const [typed, code] of [['EN', 'en'], ['de', 'de'], [' tl ', 'tl'], ['Zu', 'zu'], ['nb', 'nb']]) {
      expect(parseDpp({ documents: [{ title: 't', url: 'https://x.example/m', type: 'MANUAL', language: typed }] }).documents?.[0]?.language).toBe(code);
    }
  });

  it.each([
    ['not an object', 'a string', 'dpp: '],
    ['null', null, 'dpp: '],
    ['an unknown top-level key', { recyclability: 3 }, 'dpp: Unrecognized key: "recyclability"'],
    ['an unknown nested key', { materials: [{ name: 'x', massPercent: 1, colour: 'red' }] }, 'dpp.materials[0]: Unrecognized key: "colour"'],
    ['a negative mass percent', { materials: [{ name: 'x', massPercent: -1 }] }, 'dpp.materials[0].massPercent:'],
    ['a mass percent above 100', { materials: [{ name: 'x', massPercent: 100.5 }] }, 'dpp.materials[0].massPercent:'],
    ['a mass percent that is a string', { materials: [{ name: 'x', massPercent: '50' }] }, 'dpp.materials[0].massPercent:'],
    ['mass percents above 100 in sum', { materials: [{ name: 'a', massPercent: 60 }, { name: 'b', massPercent: 41 }] }, 'dpp.materials: mass percentages add up to 101'],
    ['an empty material name', { materials: [{ name: '  ', massPercent: 1 }] }, 'dpp.materials[0].name:'],
    ['a 201-character material name', { materials: [{ name: 'x'.repeat(201), massPercent: 1 }] }, 'dpp.materials[0].name:'],
    ['recycled content above 100', { materials: [{ name: 'x', massPercent: 1, recycledContentPercent: 101 }] }, 'dpp.materials[0].recycledContentPercent:'],
    ['a bad origin country', { materials: [{ name: 'x', massPercent: 1, origin: 'XX' }] }, 'dpp.materials[0].origin: must be an ISO 3166-1 alpha-2'],
    ['a bad CAS number format', { substancesOfConcern: [{ name: 'x', casNumber: '77321-85' }] }, 'dpp.substancesOfConcern[0].casNumber: must be a CAS Registry Number'],
    ['a concentration above 100', { substancesOfConcern: [{ name: 'x', concentrationPercent: 200 }] }, 'dpp.substancesOfConcern[0].concentrationPercent:'],
    ['a repairability score above 10', { repair: { repairabilityScore: 11 } }, 'dpp.repair.repairabilityScore:'],
    ['an http instructions URL', { repair: { instructionsUrl: 'http://brand.example/repair' } }, 'dpp.repair.instructionsUrl: must be an https URL'],
    ['a javascript: URL', { disassembly: { instructionsUrl: 'javascript:alert(1)' } }, 'dpp.disassembly.instructionsUrl: must be an https URL'],
    ['fractional spare-part years', { repair: { sparePartsAvailableYears: 2.5 } }, 'dpp.repair.sparePartsAvailableYears:'],
    ['spare parts for 51 years', { repair: { sparePartsAvailableYears: 51 } }, 'dpp.repair.sparePartsAvailableYears:'],
    ['101 disassembly steps', { disassembly: { steps: Array.from({ length: 101 }, (_, i) => `step ${i}`) } }, 'dpp.disassembly.steps:'],
    ['a negative carbon footprint', { carbonFootprint: { kgCO2e: -1 } }, 'dpp.carbonFootprint.kgCO2e:'],
    ['a carbon footprint without kgCO2e', { carbonFootprint: { method: 'PEF' } }, 'dpp.carbonFootprint.kgCO2e:'],
    ['an unknown scope', { carbonFootprint: { kgCO2e: 1, scope: 'gate-to-gate' } }, 'dpp.carbonFootprint.scope:'],
    ['an unknown document type', { documents: [{ title: 't', url: 'https://x.example/a', type: 'BROCHURE' }] }, 'dpp.documents[0].type:'],
    ['a three-letter language', { documents: [{ title: 't', url: 'https://x.example/a', type: 'OTHER', language: 'eng' }] }, 'dpp.documents[0].language:'],
    ['a two-letter code that is no language', { documents: [{ title: 't', url: 'https://x.example/a', type: 'OTHER', language: 'zz' }] }, 'dpp.documents[0].language: must be a two-letter ISO 639-1'],
    ['a private-use language code', { documents: [{ title: 't', url: 'https://x.example/a', type: 'OTHER', language: 'qa' }] }, 'dpp.documents[0].language: must be a two-letter ISO 639-1'],
    ['a document without url', { documents: [{ title: 't', type: 'OTHER' }] }, 'dpp.documents[0].url:'],
    ['51 documents', { documents: Array.from({ length: 51 }, () => ({ title: 't', url: 'https://x.example/a', type: 'OTHER' })) }, 'dpp.documents:'],
  ])('refuses %s, naming its path', (_label, value, expected) => {
    expect(problem(value)).toContain(expected);
  });

  it('lists every problem, not just the first', () => {
    const message = problem({ materials: [{ name: '', massPercent: -1 }], carbonFootprint: { kgCO2e: -5 }, extra: true });
    for (const path of ['dpp.materials[0].name', 'dpp.materials[0].massPercent', 'dpp.carbonFootprint.kgCO2e', 'dpp: Unrecognized key: "extra"']) {
      expect(message).toContain(path);
    }
    try {
      parseDpp({ materials: [{ name: '', massPercent: -1 }] });
    } catch (err) {
      expect((err as BadInputError).details).toMatchObject({ field: 'dpp', issues: [{ path: 'dpp.materials[0].name' }, { path: 'dpp.materials[0].massPercent' }] });
    }
  });

  it('allows rounding slack in the mass sum', () => {
    expect(() => parseDpp({ materials: [1, 2, 3].map((i) => ({ name: `m${i}`, massPercent: 33.33334 })) })).not.toThrow();
  });

  it('checks the CAS check digit: 7732-18-5 (water) is valid, 7732-18-4 is not', () => {
    expect(isValidCasNumber('7732-18-5')).toBe(true);
    expect(isValidCasNumber('7439-92-1')).toBe(true);
    expect(isValidCasNumber('50-00-0')).toBe(true);
    expect(isValidCasNumber('7732-18-4')).toBe(false);
    expect(isValidCasNumber('77321-8-5')).toBe(false);
    expect(parseDpp({ substancesOfConcern: [{ name: 'water', casNumber: '7732-18-5' }] }).substancesOfConcern?.[0]?.casNumber).toBe('7732-18-5');
    expect(problem({ substancesOfConcern: [{ name: 'water', casNumber: '7732-18-4' }] })).toContain('dpp.substancesOfConcern[0].casNumber: must be a CAS Registry Number');
  });

  it('refuses more than 64 KB of JSON before validating it', () => {
    const step = 'x'.repeat(1000);
    const big = { disassembly: { steps: Array.from({ length: 66 }, () => step) } };
    expect(Buffer.byteLength(JSON.stringify(big))).toBeGreaterThan(DPP_MAX_BYTES);
    expect(problem(big)).toMatch(/dpp: is \d+ bytes of JSON, more than the 65536 allowed/);
    const fits = { disassembly: { steps: Array.from({ length: 60 }, () => step) } };
    expect(() => parseDpp(fits)).not.toThrow();
  });
});

describe('DPP tiers', () => {
  it('publicDpp keeps material names, shares and recycled content, carbon footprint, documents and the repairability score', () => {
    expect(publicDpp(FULL_DPP)).toEqual({
      materials: [
        { name: 'aluminium 6061', massPercent: 62.5, recycledContentPercent: 40 },
        { name: 'recycled PET', massPercent: 30, recycledContentPercent: 100 },
        { name: 'lithium-ion cell', massPercent: 7.5 },
      ],
      carbonFootprint: FULL_DPP.carbonFootprint,
      documents: FULL_DPP.documents,
      repair: { repairabilityScore: 7.8 },
    });
    const text = JSON.stringify(publicDpp(FULL_DPP));
    for (const secret of ['solder joints', 'lead', 'T5 Torx', 'brand.example/repair', '"NO"', 'sparePartsAvailableYears']) expect(text).not.toContain(secret);
  });

  it('restrictedDpp holds substances with locations, disassembly and repair details, and with the public tier rebuilds the whole', () => {
    const r = restrictedDpp(FULL_DPP);
    expect(r.substancesOfConcern).toEqual(FULL_DPP.substancesOfConcern);
    expect(r.disassembly).toEqual(FULL_DPP.disassembly);
    expect(r.repair).toEqual(FULL_DPP.repair);
    expect({ ...publicDpp(FULL_DPP), ...restrictedDpp(FULL_DPP) }).toEqual(FULL_DPP);
  });

  it('leaves out sections that are absent', () => {
    expect(publicDpp({})).toEqual({});
    expect(restrictedDpp({})).toEqual({});
    expect(publicDpp({ repair: { instructionsUrl: 'https://x.example/r' } })).toEqual({});
  });
});
