import { expect } from 'vitest';
import { ANNEX_XIII, openedPart } from '../../src/modules/batteries/annex-xiii.js';

function at(doc: Record<string, any> | undefined, path: string): unknown {
  return path.split('.').reduce<any>((cur, k) => (cur && typeof cur === 'object' && Object.hasOwn(cur, k) ? cur[k] : undefined), doc);
}

/**
 * Checks `shown` (a battery pass as some reader got it) against `full` (the operator's) row by row of the
 * Annex XIII table: every point 1 attribute the operator has is there with the same value, and no attribute
 * of points 2, 3 or 4 is (for a split list, no item of the restricted rows). Answers how many of each it checked.
 */
export function expectPublicOnly(shown: Record<string, any>, full: Record<string, any>): { shown: number; hidden: number } {
  let shownCount = 0;
  let hidden = 0;
  for (const r of ANNEX_XIII) {
    const have = at(full[r.aspect], r.path);
    if (have === undefined) continue;
    const got = at(shown[r.aspect], r.path);
    const label = `${r.aspect}.${r.path} ${r.point}(${r.letter})`;
    if (r.point === 1) {
      expect(got, label).toEqual(r.items ? (have as unknown[]).filter(r.items).map((item) => openedPart(r, item)) : have);
      shownCount++;
    } else if (r.items) {
      // Of the items this row covers, only the fields a point 1 row opens may show (none at all if no such row).
      for (const item of ((got ?? []) as Record<string, unknown>[]).filter(r.items)) {
        const open = ANNEX_XIII.filter((x) => x.point === 1 && x.aspect === r.aspect && x.path === r.path && x.items?.(item)).flatMap((x) => x.fields ?? []);
        expect(Object.keys(item).filter((k) => !open.includes(k)), label).toEqual([]);
        expect(open.length, label).toBeGreaterThan(0);
      }
      hidden++;
    } else {
      expect(got, label).toBeUndefined();
      hidden++;
    }
  }
  return { shown: shownCount, hidden };
}

const leaves = (v: unknown): string[] => (v === null || v === undefined ? [] : typeof v === 'object' ? Object.values(v as object).flatMap(leaves) : [String(v)]);

/**
 * The distinctive values (5 characters or more, absent from the public document `publicText`) of every
 * attribute outside Annex XIII point 1 in the brand's full `batteryPass`: what a public page must never show.
 */
export function restrictedValues(full: Record<string, any>, publicText: string): { where: string; value: string }[] {
  const found: { where: string; value: string }[] = [];
  for (const row of ANNEX_XIII.filter((x) => x.point !== 1)) {
    let value = row.path.split('.').reduce<any>((o, k) => o?.[k], full[row.aspect]);
    if (row.items && Array.isArray(value)) value = value.filter(row.items);
    for (const leaf of leaves(value).filter((l) => l.length >= 5 && !publicText.includes(l))) found.push({ where: `${row.aspect}.${row.path}`, value: leaf });
  }
  return found;
}
