import { describe, expect, it } from 'vitest';
import { encodeOnPool } from '../../src/modules/labels/encode-pool.js';
import { encode, type Matrix, type SymbolOptions } from '../../src/modules/labels/symbol.js';

const rows = (m: Matrix) => Array.from({ length: m.height }, (_, y) => Array.from({ length: m.width }, (_, x) => (m.dark(x, y) ? '1' : '0')).join(''));

describe('label encoder pool', () => {
  it('returns each text\'s own symbol, in order, across several tasks (QR and Data Matrix)', async () => {
    // 130 texts are three tasks of at most 50; lengths vary so versions differ and a mix-up shows in the sizes too.
    const texts = Array.from({ length: 130 }, (_, i) => `https://id.example.com/01/04012346880013/21/S${i}${'x'.repeat(i % 40)}`);
    for (const o of [{ symbology: 'qr', ec: 'Q' }, { symbology: 'datamatrix', ec: 'M' }] as SymbolOptions[]) {
      const pooled = await encodeOnPool(o.symbology === 'qr' ? texts : texts.slice(0, 60), o);
      const local = (o.symbology === 'qr' ? texts : texts.slice(0, 60)).map((t) => encode(t, o));
      expect(pooled.map(rows)).toEqual(local.map(rows));
    }
  });
});
