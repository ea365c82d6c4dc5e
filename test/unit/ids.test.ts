import { randomUUID } from 'node:crypto';
import { globSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { newId } from '../../src/crypto/random.js';
import { isUuid } from '../../src/db/ids.js';

describe('isUuid, the one UUID check', () => {
  it('accepts any 8-4-4-4-12 hex UUID PostgreSQL stores, in either case', () => {
    for (const id of [randomUUID(), newId(), randomUUID().toUpperCase(), '00000000-0000-0000-0000-000000000000', '11111111-1111-1111-1111-111111111111']) {
      expect(isUuid(id)).toBe(true);
    }
  });

  it('refuses what cannot name a row', () => {
    for (const id of ['', 'nope', randomUUID().slice(1), `${randomUUID()}0`, randomUUID().replace(/-/g, ''), `{${randomUUID()}}`, randomUUID().replace(/^./, 'g'), ` ${randomUUID()}`]) {
      expect(isUuid(id)).toBe(false);
    }
  });

  it('is the only UUID pattern in src (issue 20: four copies became one)', () => {
    const copies = globSync('src/**/*.ts').filter((f) => /\{8\}-\[0-9a-f\]\{4\}/i.test(readFileSync(f, 'utf8')));
    expect(copies).toEqual(['src/db/ids.ts']);
  });
});
