import { describe, expect, it } from 'vitest';
import { newId } from '../../src/crypto/random.js';
import { uuidv7Floor } from '../../src/modules/privacy/retention.service.js';
import { coarsen, hashPeriod, scanHash } from '../../src/modules/verification/scan-privacy.js';
import { haversineKm } from '../../src/modules/verification/geo.js';

const KEY = new Uint8Array(32).fill(7);

describe('scan minimisation', () => {
  it('rounds to 0.1°: never more than ~8 km from the true point, so two cities stay apart', () => {
    for (const [lat, lon] of [[48.8566, 2.3522], [-33.8688, 151.2093], [64.1466, -21.9426], [0.04999, -0.04999]] as const) {
      const km = haversineKm({ lat, lon }, { lat: coarsen(lat, 1)!, lon: coarsen(lon, 1)! });
      expect(km).toBeLessThan(8);
    }
    // Paris and Versailles (17 km) stay apart; Paris and Lyon (390 km) keep their distance within a few km.
    expect(haversineKm({ lat: coarsen(48.8566, 1)!, lon: coarsen(2.3522, 1)! }, { lat: coarsen(48.8049, 1)!, lon: coarsen(2.1204, 1)! })).toBeGreaterThan(5);
    const lyon = haversineKm({ lat: coarsen(48.8566, 1)!, lon: coarsen(2.3522, 1)! }, { lat: coarsen(45.764, 1)!, lon: coarsen(4.8357, 1)! });
    expect(Math.abs(lyon - 392)).toBeLessThan(10);
  });

  it('hashes under a key of the UTC month: equal within a month, unrelated across months', () => {
    const a = new Date('2026-11-30T23:59:59.999Z');
    const b = new Date('2026-12-01T00:00:00.000Z');
    expect([hashPeriod(a), hashPeriod(b)]).toEqual(['2026-11', '2026-12']);
    expect(scanHash(KEY, a, 'ip:203.0.113.9')).toBe(scanHash(KEY, new Date('2026-11-01T00:00:00Z'), 'ip:203.0.113.9'));
    expect(scanHash(KEY, a, 'ip:203.0.113.9')).not.toBe(scanHash(KEY, b, 'ip:203.0.113.9'));
    expect(scanHash(KEY, a, 'ip:203.0.113.9')).toMatch(/^[0-9a-f]{64}$/);
  });

  it('bounds UUIDv7 ids by time, so retention finds old scans on the primary key', () => {
    const id = newId();
    expect(uuidv7Floor(new Date(Date.now() - 1000)) < id).toBe(true);
    expect(uuidv7Floor(new Date(Date.now() + 1000)) > id).toBe(true);
    expect(uuidv7Floor(new Date(0))).toBe('00000000-0000-7000-8000-000000000000');
  });
});
