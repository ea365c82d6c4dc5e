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
});
