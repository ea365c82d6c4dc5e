import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { ANNEX_XIII, AUDIENCE_POINTS, filterBatteryPass } from '../../src/modules/batteries/annex-xiii.js';
import { ASPECT_FILES, type AspectName, CIRCULARITY, readVector } from '../support/battery-pass.js';
import { describeVectors } from './vectors.js';

type Schema = { $ref?: string; allOf?: Schema[]; properties?: Record<string, Schema> };

/** The object schema behind `$ref` / single `allOf` wrappers, as the SAMM generator writes them. */
function resolve(root: any, s: Schema): Schema {
  for (;;) {
    if (s.$ref) s = s.$ref.replace(/^#\//, '').split('/').reduce((o: any, k: string) => o[k], root);
    else if (s.allOf?.length === 1 && !s.properties) s = s.allOf[0]!;
    else return s;
  }
}

/** Every full document of the consortium's examples (Circularity has none among the vectors: ours). */
function fullPass(): Record<string, Record<string, unknown>> {
  return Object.fromEntries(
    (Object.entries(ASPECT_FILES) as [AspectName, string][]).map(([aspect, file]) => [aspect, aspect === 'circularity' ? CIRCULARITY : readVector(`${file}-payload.json`)]),
  );
}

describeVectors('Annex XIII table (annex-xiii.ts) against the Battery Pass 1.2.0 schemas', () => {
  it('maps every attribute the schemas define, down to the attributes it splits', () => {
    const uncovered: string[] = [];
    for (const [aspect, file] of Object.entries(ASPECT_FILES) as [AspectName, string][]) {
      const root = readVector(`${file}-schema.json`);
      const rows = ANNEX_XIII.filter((r) => r.aspect === aspect).map((r) => r.path);
      for (const [name, sub] of Object.entries(resolve(root, root).properties ?? {})) {
        if (rows.includes(name)) continue;
        const nested = resolve(root, sub).properties ?? {};
        const names = Object.keys(nested);
        if (names.length === 0) uncovered.push(`${aspect}.${name}`);
        for (const n of names) if (!rows.includes(`${name}.${n}`)) uncovered.push(`${aspect}.${name}.${n}`);
      }
    }
    expect(uncovered).toEqual([]);
  });

  it('gives the operator back the whole document, and each group only its points', () => {
    const full = fullPass();
    expect(filterBatteryPass(full, AUDIENCE_POINTS.OPERATOR)).toEqual(full);
    const pub = filterBatteryPass(full, AUDIENCE_POINTS.PUBLIC);
    expect(pub.labeling).not.toHaveProperty('resultOfTestReport');
    expect(pub.circularity).not.toHaveProperty('dismantlingAndRemovalInformation');
    expect(pub.generalProductInformation).not.toHaveProperty('batteryStatus');
    expect(filterBatteryPass(full, AUDIENCE_POINTS.LEGITIMATE_INTEREST).labeling).not.toHaveProperty('resultOfTestReport');
    expect(Object.keys((filterBatteryPass(full, AUDIENCE_POINTS.AUTHORITY).performance as any).batteryCondition)).toEqual(['roundTripEfficiencyat50PerCentCycleLife']);
  });

  it('uses only the four points of Annex XIII', () => {
    expect(new Set(ANNEX_XIII.map((r) => r.point))).toEqual(new Set([1, 2, 3, 4]));
  });

  it('letters point 4 as the Annex does, (a) to (d): values, state of health, status, use', () => {
    const at = (path: string) => ANNEX_XIII.filter((r) => r.path === path).map((r) => `${r.point}(${r.letter})`);
    expect(at('batteryStatus')).toEqual(['4(c)']);
    expect(at('batteryCondition.capacityFade')).toEqual(['4(a)']);
    expect(at('batteryTechicalProperties.expectedLifetime')).toEqual(['4(a)']);
    expect(at('batteryCondition.stateOfCertifiedEnergy')).toEqual(['4(b)']);
    expect(at('batteryCondition.remainingCapacity')).toEqual(['4(b)']);
    for (const use of ['negativeEvents', 'temperatureInformation', 'numberOfFullCycles', 'energyThroughput']) expect(at(`batteryCondition.${use}`), use).toEqual(['4(d)']);
    const letters: Record<number, string> = { 1: 'abcdefghijklmnopqrs', 2: 'abcd', 3: '', 4: 'abcd' };
    for (const r of ANNEX_XIII) {
      if (r.letter !== '') expect(letters[r.point]!.includes(r.letter) && r.letter.length === 1, `${r.path} ${r.point}(${r.letter})`).toBe(true);
    }
    expect(new Set(ANNEX_XIII.filter((r) => r.point === 4).map((r) => r.letter))).toEqual(new Set(['a', 'b', 'c', 'd']));
  });

  it('shows the public only which critical raw materials are present, not where or how much (2(a))', () => {
    const full = fullPass();
    const lithium = (full.materialComposition as any).batteryMaterials.find((m: any) => m.isCriticalRawMaterial);
    expect(lithium).toMatchObject({ batteryMaterialLocation: expect.anything(), batteryMaterialMass: expect.anything() });
    const materials = (points: keyof typeof AUDIENCE_POINTS) => (filterBatteryPass(full, AUDIENCE_POINTS[points]).materialComposition as any).batteryMaterials;
    expect(materials('PUBLIC')).toEqual([{ batteryMaterialName: lithium.batteryMaterialName, batteryMaterialIdentifier: lithium.batteryMaterialIdentifier, isCriticalRawMaterial: true }]);
    expect(materials('OWNER')).toEqual(materials('PUBLIC'));
    for (const group of ['LEGITIMATE_INTEREST', 'AUTHORITY'] as const) expect(materials(group), group).toEqual((full.materialComposition as any).batteryMaterials);
  });

  it('shows the public which hazardous substances are present and their harm, not where or how much (2(a))', () => {
    const full = fullPass();
    const substances = (full.materialComposition as any).hazardousSubstances as Record<string, unknown>[];
    expect(substances[0]).toMatchObject({ hazardousSubstanceLocation: expect.anything(), hazardousSubstanceConcentration: expect.anything() });
    const shown = (points: keyof typeof AUDIENCE_POINTS) => (filterBatteryPass(full, AUDIENCE_POINTS[points]).materialComposition as any).hazardousSubstances;
    const publicPart = substances.map(({ hazardousSubstanceName, hazardousSubstanceIdentifier, hazardousSubstanceClass, hazardousSubstanceImpact }) => ({
      hazardousSubstanceName,
      hazardousSubstanceIdentifier,
      hazardousSubstanceClass,
      hazardousSubstanceImpact,
    }));
    for (const group of ['PUBLIC', 'OWNER'] as const) {
      expect(shown(group), group).toEqual(publicPart);
      for (const item of shown(group)) expect(Object.keys(item), group).not.toContain('hazardousSubstanceLocation');
    }
    for (const group of ['LEGITIMATE_INTEREST', 'AUTHORITY', 'OPERATOR'] as const) expect(shown(group), group).toEqual(substances);
  });

  it('keeps the calendar lifetime, the C-rate and the rated energy from the public', () => {
    const full = fullPass();
    const tech = (points: keyof typeof AUDIENCE_POINTS) => (filterBatteryPass(full, AUDIENCE_POINTS[points]).performance as any).batteryTechicalProperties;
    expect((full.performance as any).batteryTechicalProperties).toMatchObject({ expectedLifetime: expect.anything(), cRate: expect.anything(), ratedEnergy: expect.anything() });
    for (const a of ['expectedLifetime', 'cRate', 'ratedEnergy']) expect(tech('PUBLIC'), a).not.toHaveProperty(a);
    expect(tech('PUBLIC')).toHaveProperty('expectedNumberOfCycles');
    expect(tech('PUBLIC')).toHaveProperty('cRateLifeCycleTest');
    expect(tech('PUBLIC')).toHaveProperty('powerCapabilityRatio');
    expect(tech('OWNER')).toMatchObject({ expectedLifetime: expect.anything(), cRate: expect.anything() });
    expect(tech('OWNER')).not.toHaveProperty('ratedEnergy');
    expect(tech('AUTHORITY')).toHaveProperty('ratedEnergy');
    expect(tech('AUTHORITY')).not.toHaveProperty('expectedLifetime');
  });
});

/** The README table's rows, as `aspect | attribute | point(letter) | readers`. */
function readmeRows(): string[] {
  const text = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const start = text.indexOf('| aspect | attribute (Battery Pass 1.2.0) | Annex XIII |');
  expect(start).toBeGreaterThan(0);
  const lines = text.slice(start).split('\n').slice(2);
  return lines
    .slice(0, lines.findIndex((l) => !l.startsWith('|')))
    .map((l) => l.split('|').map((c) => c.trim()))
    .map(([, aspect, attribute, point, , readers]) => `${aspect} | ${attribute!.replace(/`/g, '').replace(/ \(.*\)$/, '')} | ${point} | ${readers}`);
}

it("README's Annex XIII table is the code's table, row by row", () => {
  const readers: Record<number, string> = { 1: 'everyone', 2: 'legitimate interest, authorities', 3: 'authorities', 4: 'legitimate interest, owner' };
  const code = ANNEX_XIII.map((r) => `${r.aspect} | ${r.path} | ${r.point}${r.letter ? `(${r.letter})` : ''} | ${readers[r.point]}`);
  expect(readmeRows()).toEqual(code);
});

