import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/crypto/jcs.js';
import { newId } from '../../src/crypto/random.js';
import { type EventDraft, hashedForm, hashedText } from '../../src/modules/history/chain.js';

const draft = (over: Partial<EventDraft> = {}): EventDraft => ({
  passportId: '0190f5c8-2a4b-7cde-8f01-23456789abcd',
  seq: 1,
  type: 'MINTED',
  occurredAt: new Date('2026-01-02T03:04:05.678Z'),
  recordedAt: new Date('2026-01-02T03:04:06Z'),
  actorId: '0190f5c8-2a4b-7cde-8f01-23456789abce',
  payload: {},
  prevHash: null,
  ...over,
});

describe('hashedText: the event envelope written directly equals the JCS library output', () => {
  const payloads: Record<string, unknown>[] = [
    {},
    { batchId: newId(), gtin: '00614141000012', serial: '0123456789ABCDEF', lot: null, site: 'Köln', carrier: 'QR' },
    { kid: 'k1', algorithm: 'Ed25519', signature: 'a'.repeat(86) },
    { z: 1, a: [3, 2, { y: 1e21, x: -0, w: 0.1 + 0.2 }], é: 'ünïcødé 😀', '\u0000': '"quoted" \\ \n\t', nested: { b: true, a: null } },
    { emoji: '€\u2028\u2029', big: Number.MAX_SAFE_INTEGER, small: 5e-324 },
  ];
  it.each(payloads.map((payload, i) => [i, payload] as const))('payload %i', (_i, payload) => {
    for (const over of [{}, { actorId: null }, { prevHash: 'f'.repeat(64), seq: 2, type: 'SIGNED' as const }, { seq: 123_456 }]) {
      const e = draft({ payload, ...over });
      expect(hashedText(e)).toBe(canonicalJson(hashedForm(e)));
    }
  });

  it('refuses a sequence number JCS could not represent exactly', () => {
    expect(() => hashedText(draft({ seq: 2 ** 53 }))).toThrow(TypeError);
  });
});

describe('newId: time-ordered UUIDv7 from pooled CSPRNG bytes', () => {
  it('is a version 7, RFC 9562 variant UUID, unique and in creation order', () => {
    const ids = Array.from({ length: 5000 }, () => newId());
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
  });
});
