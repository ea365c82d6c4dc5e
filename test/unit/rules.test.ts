import { describe, expect, it } from 'vitest';
import { BadInputError } from '../../src/errors/app-error.js';
import type { PassportStatus } from '../../src/modules/passports/passport.entity.js';
import { EARTH_MEAN_RADIUS_KM, haversineKm, validCoordinates } from '../../src/modules/verification/geo.js';
import {
  DEFAULT_THRESHOLDS,
  effectiveMarkets,
  evaluateRules,
  type Finding,
  greyMarketRule,
  identityMismatchRule,
  impossibleTravelRule,
  invalidSignatureRule,
  nfcReplayRule,
  parseRuleThresholds,
  postEndOfLifeRule,
  type ProbeFacts,
  type RuleThresholds,
  type ScanFacts,
  scanCountRule,
  scanVelocityRule,
  tamperReportedRule,
  thresholdsFor,
  type UnitFacts,
  unknownSerialRule,
  unknownUnitFacts,
  type Verdict,
  verdictFor,
} from '../../src/modules/verification/rules.js';

const T0 = new Date('2025-06-01T12:00:00.000Z');
const minutesBefore = (m: number) => new Date(T0.getTime() - m * 60_000);
/** Degrees of latitude spanning `km` along a meridian (where haversine reduces to R·Δφ). */
const degForKm = (km: number) => (km / EARTH_MEAN_RADIUS_KM) * (180 / Math.PI);

const PARIS = { lat: 48.856613, lon: 2.352222 };
const LONDON = { lat: 51.507351, lon: -0.127758 };

function scan(over: Partial<ScanFacts> = {}): ScanFacts {
  return { at: T0, clientKey: '203.0.113.77', signature: 'VALID', ...over };
}
function unit(over: Partial<UnitFacts> = {}): UnitFacts {
  return {
    known: true,
    gtinKnown: true,
    status: 'SOLD',
    authorisedMarkets: [],
    recentScans: [],
    scansLastHour: 1,
    lifetimeScans: 1,
    openTamperReport: false,
    ...over,
  };
}
const probe = (n = 0): ProbeFacts => ({ distinctUnknownSerialsFromClientLastHour: n });
const t = (over: Partial<RuleThresholds> = {}): RuleThresholds => ({ ...DEFAULT_THRESHOLDS, ...over });

/** This scan at (0, 0); one earlier scan `km` north along the meridian, `minutes` before. */
function travel(km: number, minutes: number, over: Partial<UnitFacts> = {}) {
  return {
    s: scan({ latitude: 0, longitude: 0 }),
    u: unit({ recentScans: [{ at: minutesBefore(minutes), latitude: degForKm(km), longitude: 0 }], ...over }),
  };
}

describe('geo', () => {
  it('measures known distances', () => {
    expect(haversineKm(PARIS, PARIS)).toBe(0);
    expect(haversineKm(PARIS, LONDON)).toBeCloseTo(343.5, 0);
    expect(Math.abs(haversineKm(PARIS, LONDON) - 343.5)).toBeLessThan(0.2);
    expect(haversineKm(LONDON, PARIS)).toBeCloseTo(haversineKm(PARIS, LONDON), 9);
    expect(haversineKm({ lat: 0, lon: 0 }, { lat: 0, lon: 180 })).toBeCloseTo(20015.1, 0);
    expect(haversineKm({ lat: 10, lon: 20 }, { lat: -10, lon: -160 })).toBeCloseTo(Math.PI * EARTH_MEAN_RADIUS_KM, 2);
    expect(haversineKm({ lat: 90, lon: 0 }, { lat: -90, lon: 0 })).toBeCloseTo(20015.1, 0);
    expect(haversineKm({ lat: 0, lon: 0 }, { lat: 1, lon: 0 })).toBeCloseTo(111.195, 3);
    expect(haversineKm({ lat: 0, lon: 179.5 }, { lat: 0, lon: -179.5 })).toBeCloseTo(111.195, 3);
  });

  it('validates coordinates', () => {
    for (const [lat, lon] of [[0, 0], [90, 180], [-90, -180], [48.8, 2.3]]) expect(validCoordinates(lat, lon)).toBe(true);
    for (const [lat, lon] of [
      [90.0001, 0],
      [0, -180.1],
      [Number.NaN, 0],
      [0, Number.POSITIVE_INFINITY],
      ['48.8', 2.3],
      [null, 0],
      [undefined, undefined],
    ]) {
      expect(validCoordinates(lat, lon)).toBe(false);
    }
  });

  it('refuses invalid points instead of returning NaN', () => {
    expect(() => haversineKm({ lat: 91, lon: 0 }, PARIS)).toThrow(RangeError);
    expect(() => haversineKm(PARIS, { lat: 0, lon: Number.NaN })).toThrow(RangeError);
  });
});

describe('UNKNOWN_SERIAL', () => {
  it('fires HIGH for a never-minted serial of a known GTIN, CRITICAL from probeCriticalAfter', () => {
    expect(unknownSerialRule(scan(), unknownUnitFacts(true), probe(1), t())?.severity).toBe('HIGH');
    expect(unknownSerialRule(scan(), unknownUnitFacts(true), probe(4), t())?.severity).toBe('HIGH');
    expect(unknownSerialRule(scan(), unknownUnitFacts(true), probe(5), t())?.severity).toBe('CRITICAL');
    expect(unknownSerialRule(scan(), unknownUnitFacts(true), probe(4), t({ probeCriticalAfter: 3 }))?.severity).toBe('CRITICAL');
  });
  it('does not fire for minted units or unregistered GTINs', () => {
    expect(unknownSerialRule(scan(), unit(), probe(50), t())).toBeNull();
    expect(unknownSerialRule(scan(), unknownUnitFacts(false), probe(50), t())).toBeNull();
  });
});

describe('INVALID_SIGNATURE', () => {
  it.each(['INVALID', 'REVOKED_KEY'] as const)('fires CRITICAL for %s', (signature) => {
    const f = invalidSignatureRule(scan({ signature }), unit(), probe(), t());
    expect(f).toMatchObject({ kind: 'INVALID_SIGNATURE', severity: 'CRITICAL', evidence: { signature } });
  });
  it('fires for a failed NFC MAC', () => {
    const f = invalidSignatureRule(scan({ signature: 'ABSENT', nfc: { valid: false, counter: 9, lastCounter: 3 } }), unit(), probe(), t());
    expect(f).toMatchObject({ severity: 'CRITICAL', evidence: { nfcMac: 'INVALID' } });
  });
  it.each([
    ['UNPROVISIONED', 'This tag was never registered to a unit by the brand.'],
    ['OTHER_UNIT', 'This tag belongs to another unit of the brand, not to this one.'],
  ] as const)('fires for a MAC-valid tag the registry does not bind to this unit (%s), saying so', (binding, reason) => {
    const f = invalidSignatureRule(scan({ signature: 'ABSENT', nfc: { valid: false, counter: 9, lastCounter: null, binding } }), unit(), probe(), t());
    expect(f).toMatchObject({ severity: 'CRITICAL', reason, evidence: { nfcMac: 'VALID', nfcTag: binding } });
  });
  it('fires on an unknown serial of a known GTIN, not on an unregistered GTIN', () => {
    expect(invalidSignatureRule(scan({ signature: 'INVALID' }), unknownUnitFacts(true), probe(), t())).not.toBeNull();
    expect(invalidSignatureRule(scan({ signature: 'INVALID' }), unknownUnitFacts(false), probe(), t())).toBeNull();
  });
  it.each(['VALID', 'ABSENT'] as const)('does not fire for %s', (signature) => {
    expect(invalidSignatureRule(scan({ signature, nfc: { valid: true, counter: 2, lastCounter: 1 } }), unit(), probe(), t())).toBeNull();
  });
});

describe('IMPOSSIBLE_TRAVEL', () => {
  it('exactly 100 km at exactly 1,000 km/h does not fire; faster does', () => {
    const a = travel(100, 6);
    expect(impossibleTravelRule(a.s, a.u, probe(), t())).toBeNull();
    const b = travel(100, 5);
    expect(impossibleTravelRule(b.s, b.u, probe(), t())).toMatchObject({
      kind: 'IMPOSSIBLE_TRAVEL',
      severity: 'HIGH',
      evidence: { distanceKm: 100, gapMinutes: 5, impliedKmh: 1200 },
    });
  });
  it('1,000 km in 60 minutes does not fire, in 59 minutes fires', () => {
    const a = travel(1000, 60);
    expect(impossibleTravelRule(a.s, a.u, probe(), t())).toBeNull();
    const b = travel(1000, 59);
    expect(impossibleTravelRule(b.s, b.u, probe(), t())?.evidence.impliedKmh).toBe(1017);
  });
  it('exactly 100 km counts; just under 100 km is ignored, even with no time gap', () => {
    const at100 = travel(100, 0);
    expect(impossibleTravelRule(at100.s, at100.u, probe(), t())).toMatchObject({
      evidence: { distanceKm: 100, gapMinutes: 0, impliedKmh: null },
      reason: 'This unit was scanned 100 km away at the same time.',
    });
    const under = travel(99.9, 0);
    expect(impossibleTravelRule(under.s, under.u, probe(), t())).toBeNull();
  });
  it('explains the conflict in a sentence with rounded km and the gap', () => {
    const a = travel(2300, 40);
    expect(impossibleTravelRule(a.s, a.u, probe(), t())?.reason).toBe('This unit was scanned 2,300 km away 40 minutes ago.');
    const earlier = scan({ latitude: 0, longitude: 0, at: minutesBefore(180) });
    const u = unit({ recentScans: [{ at: T0, latitude: degForKm(5000), longitude: 0 }] });
    expect(impossibleTravelRule(earlier, u, probe(), t())?.reason).toBe('This unit was scanned 5,000 km away 3 hours after this scan.');
  });
  it('reports the fastest conflicting pair and skips scans without usable coordinates', () => {
    const u = unit({
      recentScans: [
        { at: minutesBefore(1) },
        { at: minutesBefore(2), latitude: 95, longitude: 0 },
        { at: minutesBefore(30), latitude: degForKm(1000), longitude: 0 },
        { at: minutesBefore(10), latitude: degForKm(500), longitude: 0 },
        { at: minutesBefore(5), latitude: degForKm(20), longitude: 0 },
      ],
    });
    const f = impossibleTravelRule(scan({ latitude: 0, longitude: 0 }), u, probe(), t());
    expect(f?.evidence).toMatchObject({ distanceKm: 500, gapMinutes: 10, impliedKmh: 3000 }); // 3,000 km/h beats 1,000 km in 30 min (2,000 km/h)
  });
  it('needs coordinates on this scan and a known unit', () => {
    const a = travel(2000, 1);
    expect(impossibleTravelRule(scan(), a.u, probe(), t())).toBeNull();
    expect(impossibleTravelRule(scan({ latitude: 100, longitude: 0 }), a.u, probe(), t())).toBeNull();
    expect(impossibleTravelRule(a.s, { ...a.u, known: false }, probe(), t())).toBeNull();
    expect(impossibleTravelRule(a.s, unit({ recentScans: [] }), probe(), t())).toBeNull();
  });
  it('honours per-model thresholds', () => {
    const a = travel(400, 60); // 400 km/h: fine by default
    expect(impossibleTravelRule(a.s, a.u, probe(), t())).toBeNull();
    expect(impossibleTravelRule(a.s, a.u, probe(), thresholdsFor({ ruleThresholds: { maxKmh: 300 } }))).not.toBeNull();
    const b = travel(150, 1); // 9,000 km/h but under a 200 km floor
    expect(impossibleTravelRule(b.s, b.u, probe(), thresholdsFor({ ruleThresholds: { minTravelKm: 200 } }))).toBeNull();
  });
});

describe('SCAN_VELOCITY and SCAN_COUNT', () => {
  it('20 scans in an hour is fine, 21 fires MEDIUM', () => {
    expect(scanVelocityRule(scan(), unit({ scansLastHour: 20 }), probe(), t())).toBeNull();
    expect(scanVelocityRule(scan(), unit({ scansLastHour: 21 }), probe(), t())).toMatchObject({
      kind: 'SCAN_VELOCITY',
      severity: 'MEDIUM',
      reason: 'This unit has been scanned 21 times in the last hour.',
    });
    expect(scanVelocityRule(scan(), unit({ scansLastHour: 21 }), probe(), thresholdsFor({ ruleThresholds: { maxScansPerHour: 50 } }))).toBeNull();
  });
  it('lifetime scans equal to the ceiling are fine, above fire HIGH; no ceiling, no rule', () => {
    const tt = thresholdsFor({ maxLifetimeScans: 500 });
    expect(scanCountRule(scan(), unit({ lifetimeScans: 500 }), probe(), tt)).toBeNull();
    expect(scanCountRule(scan(), unit({ lifetimeScans: 501 }), probe(), tt)).toMatchObject({
      kind: 'SCAN_COUNT',
      severity: 'HIGH',
      evidence: { lifetimeScans: 501, maxLifetimeScans: 500 },
    });
    expect(scanCountRule(scan(), unit({ lifetimeScans: 1_000_000 }), probe(), t())).toBeNull();
  });
});

describe('GREY_MARKET', () => {
  const markets = { authorisedMarkets: ['DE', 'FR', 'NL'] };
  it('fires MEDIUM outside the list, not inside it', () => {
    expect(greyMarketRule(scan({ country: 'FR' }), unit(markets), probe(), t())).toBeNull();
    expect(greyMarketRule(scan({ country: 'fr' }), unit(markets), probe(), t())).toBeNull();
    expect(greyMarketRule(scan({ country: 'BR' }), unit(markets), probe(), t())).toMatchObject({
      kind: 'GREY_MARKET',
      severity: 'MEDIUM',
      evidence: { country: 'BR', authorisedMarkets: ['DE', 'FR', 'NL'] },
    });
  });
  it('does not fire with an empty list, a missing or malformed country, or an unknown unit', () => {
    expect(greyMarketRule(scan({ country: 'BR' }), unit({ authorisedMarkets: [] }), probe(), t())).toBeNull();
    expect(greyMarketRule(scan(), unit(markets), probe(), t())).toBeNull();
    expect(greyMarketRule(scan({ country: null }), unit(markets), probe(), t())).toBeNull();
    expect(greyMarketRule(scan({ country: 'Brazil' }), unit(markets), probe(), t())).toBeNull();
    expect(greyMarketRule(scan({ country: 'BR' }), { ...unknownUnitFacts(true), ...markets }, probe(), t())).toBeNull();
  });
  it('batch destination markets replace the model list; empty everywhere means unrestricted', () => {
    expect(effectiveMarkets(['DE', 'FR'], ['us', 'CA'])).toEqual(['CA', 'US']);
    expect(effectiveMarkets(['FR', 'DE'], [])).toEqual(['DE', 'FR']);
    expect(effectiveMarkets(['FR'], null)).toEqual(['FR']);
    expect(effectiveMarkets([], undefined)).toEqual([]);
  });
});

describe('POST_END_OF_LIFE, NFC_REPLAY, TAMPER_REPORTED', () => {
  it.each<[PassportStatus, boolean]>([
    ['END_OF_LIFE', true],
    ['RECYCLED', true],
    ['SOLD', false],
    ['OWNED', false],
    ['IN_SUPPLY_CHAIN', false],
    ['REVOKED', false],
  ])('status %s fires: %s', (status, fires) => {
    const f = postEndOfLifeRule(scan(), unit({ status }), probe(), t());
    expect(f === null ? false : f.severity === 'HIGH').toBe(fires);
  });

  it.each<[number | null, number, boolean]>([
    [null, 0, false],
    [7, 7, true],
    [7, 6, true],
    [7, 8, false],
  ])('last counter %s, counter %s: replay %s', (lastCounter, counter, fires) => {
    const f = nfcReplayRule(scan({ nfc: { valid: true, counter, lastCounter } }), unit(), probe(), t());
    expect(f === null ? false : f.kind === 'NFC_REPLAY' && f.severity === 'HIGH').toBe(fires);
  });
  it('a MAC-invalid read is not a replay (it is INVALID_SIGNATURE); no NFC, no rule', () => {
    expect(nfcReplayRule(scan({ nfc: { valid: false, counter: 1, lastCounter: 7 } }), unit(), probe(), t())).toBeNull();
    expect(nfcReplayRule(scan(), unit(), probe(), t())).toBeNull();
  });

  it('an open tamper report fires HIGH', () => {
    expect(tamperReportedRule(scan(), unit({ openTamperReport: true }), probe(), t())?.severity).toBe('HIGH');
    expect(tamperReportedRule(scan(), unit(), probe(), t())).toBeNull();
  });
});

describe('IDENTITY_MISMATCH', () => {
  it('fires when the link states a signed field otherwise than the unit: CRITICAL with a carried signature, HIGH without', () => {
    expect(identityMismatchRule(scan({ signature: 'INVALID', identityMismatch: ['lot'] }), unit(), probe(), t())).toMatchObject({ kind: 'IDENTITY_MISMATCH', severity: 'CRITICAL', evidence: { fields: ['lot'], signature: 'INVALID' } });
    expect(identityMismatchRule(scan({ signature: 'ABSENT', identityMismatch: ['lot'] }), unit(), probe(), t())).toMatchObject({ severity: 'HIGH' });
    expect(identityMismatchRule(scan({ identityMismatch: [] }), unit(), probe(), t())).toBeNull();
    expect(identityMismatchRule(scan({ identityMismatch: ['lot'] }), unknownUnitFacts(true), probe(), t())).toBeNull();
  });
  it('takes the place of INVALID_SIGNATURE for the signature it breaks, and the verdict is COUNTERFEIT with its reason', () => {
    const s = scan({ signature: 'INVALID', identityMismatch: ['lot'] });
    expect(evaluateRules(s, unit(), probe()).map((f) => f.kind)).toEqual(['IDENTITY_MISMATCH']);
    const v = verdictFor(unit(), s, evaluateRules(s, unit(), probe()));
    expect(v.verdict).toBe('COUNTERFEIT');
    expect(v.reasons).toEqual(["This code's lot does not match the unit the brand registered under this serial number."]);
    const plain = scan({ signature: 'ABSENT', identityMismatch: ['lot'] });
    expect(verdictFor(unit(), plain, evaluateRules(plain, unit(), probe())).verdict).toBe('COUNTERFEIT');
  });
  it('still reports a revoked key as such', () => {
    const s = scan({ signature: 'REVOKED_KEY', identityMismatch: ['lot'] });
    expect(evaluateRules(s, unit(), probe()).map((f) => f.kind)).toEqual(['IDENTITY_MISMATCH', 'INVALID_SIGNATURE']);
    expect(verdictFor(unit(), s, evaluateRules(s, unit(), probe())).verdict).toBe('REVOKED');
  });
});

describe('evaluateRules', () => {
  it('a clean scan raises nothing', () => {
    expect(evaluateRules(scan({ latitude: 0, longitude: 0, country: 'FR' }), unit({ authorisedMarkets: ['FR'] }), probe())).toEqual([]);
  });
  it('collects every firing rule, in rule order', () => {
    const { s, u } = travel(3000, 10, { authorisedMarkets: ['FR'], scansLastHour: 30, status: 'RECYCLED', openTamperReport: true });
    const kinds = evaluateRules({ ...s, country: 'BR', nfc: { valid: true, counter: 1, lastCounter: 1 } }, u, probe()).map((f) => f.kind);
    expect(kinds).toEqual(['IMPOSSIBLE_TRAVEL', 'SCAN_VELOCITY', 'GREY_MARKET', 'POST_END_OF_LIFE', 'NFC_REPLAY', 'TAMPER_REPORTED']);
  });
  it('an unknown serial only raises identity findings', () => {
    const kinds = evaluateRules(scan({ signature: 'INVALID', country: 'BR' }), unknownUnitFacts(true), probe(9)).map((f) => [f.kind, f.severity]);
    expect(kinds).toEqual([
      ['UNKNOWN_SERIAL', 'CRITICAL'],
      ['INVALID_SIGNATURE', 'CRITICAL'],
    ]);
  });
});

describe('thresholds', () => {
  it('defaults match the architecture table', () => {
    expect(thresholdsFor({})).toEqual({ maxKmh: 1000, minTravelKm: 100, maxScansPerHour: 20, maxLifetimeScans: null, probeCriticalAfter: 5 });
    expect(thresholdsFor({ maxLifetimeScans: null, ruleThresholds: null })).toEqual(thresholdsFor({}));
  });
  it('per-model overrides replace defaults field by field; the model column sets the ceiling', () => {
    expect(thresholdsFor({ maxLifetimeScans: 500, ruleThresholds: { maxScansPerHour: 60, maxKmh: 900 } })).toEqual({
      maxKmh: 900,
      minTravelKm: 100,
      maxScansPerHour: 60,
      maxLifetimeScans: 500,
      probeCriticalAfter: 5,
    });
    expect(thresholdsFor({ maxLifetimeScans: 500, ruleThresholds: { maxLifetimeScans: 100 } }).maxLifetimeScans).toBe(500);
    expect(thresholdsFor({ ruleThresholds: { maxLifetimeScans: 100 } }).maxLifetimeScans).toBe(100);
    expect(DEFAULT_THRESHOLDS.maxScansPerHour).toBe(20);
  });
  it('refuses bad overrides loudly, naming the field', () => {
    expect(() => parseRuleThresholds({ maxKmh: -1 })).toThrow(BadInputError);
    expect(() => parseRuleThresholds({ maxScansPerHour: 2.5 })).toThrow(/ruleThresholds\.maxScansPerHour/);
    expect(() => parseRuleThresholds({ maxKmph: 900 })).toThrow(BadInputError);
    expect(() => thresholdsFor({ maxLifetimeScans: 0 })).toThrow(/maxLifetimeScans/);
    expect(parseRuleThresholds(null)).toEqual({});
  });
});

describe('verdictFor', () => {
  type Case = [string, Partial<ScanFacts>, UnitFacts, Verdict, string];
  const CASES: Case[] = [
    ['unregistered GTIN', { signature: 'INVALID' }, unknownUnitFacts(false), 'UNKNOWN', 'This product is not registered on this platform.'],
    ['unknown serial, no signature', { signature: 'ABSENT' }, unknownUnitFacts(true), 'UNKNOWN', 'This code does not match any unit the brand has made.'],
    ['unknown serial, valid signature', { signature: 'VALID' }, unknownUnitFacts(true), 'UNKNOWN', 'This code does not match any unit the brand has made.'],
    ['unknown serial, invalid signature', { signature: 'INVALID' }, unknownUnitFacts(true), 'COUNTERFEIT', "This code's signature does not match the brand's key."],
    ['unknown serial, revoked key', { signature: 'REVOKED_KEY' }, unknownUnitFacts(true), 'COUNTERFEIT', 'This code was signed with a key the brand has withdrawn.'],
    ['unknown serial, bad NFC MAC', { signature: 'ABSENT', nfc: { valid: false, counter: 1, lastCounter: null } }, unknownUnitFacts(true), 'COUNTERFEIT', "This tag's secure message does not match the brand's key."],
    ['revoked unit', {}, unit({ status: 'REVOKED' }), 'REVOKED', "The brand has withdrawn this unit's passport."],
    ['revoked unit beats invalid signature', { signature: 'INVALID' }, unit({ status: 'REVOKED' }), 'REVOKED', "The brand has withdrawn this unit's passport."],
    ['revoked key', { signature: 'REVOKED_KEY' }, unit(), 'REVOKED', 'This code was signed with a key the brand has withdrawn.'],
    ['invalid signature beats suspicion', { signature: 'INVALID', country: 'BR' }, unit({ authorisedMarkets: ['FR'], scansLastHour: 40 }), 'COUNTERFEIT', "This code's signature does not match the brand's key."],
    ['bad NFC MAC', { nfc: { valid: false, counter: 5, lastCounter: 4 } }, unit(), 'COUNTERFEIT', "This tag's secure message does not match the brand's key."],
    ['NFC tag of another unit', { nfc: { valid: false, counter: 5, lastCounter: null, binding: 'OTHER_UNIT' } }, unit(), 'COUNTERFEIT', 'This tag belongs to another unit of the brand, not to this one.'],
    ['NFC tag never bound', { nfc: { valid: false, counter: 5, lastCounter: null, binding: 'UNPROVISIONED' } }, unit(), 'COUNTERFEIT', 'This tag was never registered to a unit by the brand.'],
    ['grey market (MEDIUM)', { country: 'BR' }, unit({ authorisedMarkets: ['FR'] }), 'SUSPICIOUS', 'This unit was made for other markets than the one it was scanned in (BR).'],
    ['scan velocity (MEDIUM)', {}, unit({ scansLastHour: 21 }), 'SUSPICIOUS', 'This unit has been scanned 21 times in the last hour.'],
    ['NFC replay', { nfc: { valid: true, counter: 3, lastCounter: 3 } }, unit(), 'SUSPICIOUS', "This tag's tap counter did not advance, so this tap may be a recorded copy."],
    ['end of life', {}, unit({ status: 'END_OF_LIFE' }), 'SUSPICIOUS', 'This unit was recorded as having reached its end of life and should no longer be in use.'],
    ['tamper report', {}, unit({ openTamperReport: true }), 'SUSPICIOUS', 'Someone has reported that this unit may have been tampered with.'],
    ['clean, signed', { signature: 'VALID' }, unit(), 'AUTHENTIC', "This code's signature matches the brand's key."],
    ['clean, plain link', { signature: 'ABSENT' }, unit(), 'AUTHENTIC', 'This unit is registered by its brand.'],
    ['clean, NFC tap', { signature: 'ABSENT', nfc: { valid: true, counter: 9, lastCounter: 8 } }, unit(), 'AUTHENTIC', "This tag's secure message matches the brand's key."],
  ];
  it.each(CASES)('%s → %s', (_name, s, u, verdict, firstReason) => {
    const sc = scan(s);
    const out = verdictFor(u, sc, evaluateRules(sc, u, probe()));
    expect(out.verdict).toBe(verdict);
    expect(out.reasons[0]).toBe(firstReason);
    expect(new Set(out.reasons).size).toBe(out.reasons.length);
  });

  it('impossible travel is SUSPICIOUS with a readable reason, higher severities first', () => {
    const { s, u } = travel(2300, 40, { authorisedMarkets: ['FR'] });
    const sc = { ...s, country: 'BR' };
    const out = verdictFor(u, sc, evaluateRules(sc, u, probe()));
    expect(out).toEqual({
      verdict: 'SUSPICIOUS',
      reasons: [
        'This unit was scanned 2,300 km away 40 minutes ago.',
        'This unit was made for other markets than the one it was scanned in (BR).',
      ],
    });
  });

  it('LOW findings alone do not make a scan suspicious', () => {
    const low: Finding = { kind: 'SCAN_VELOCITY', severity: 'LOW', reason: 'A little busy.', evidence: {} };
    expect(verdictFor(unit(), scan(), [low])).toEqual({ verdict: 'AUTHENTIC', reasons: ["This code's signature matches the brand's key.", 'A little busy.'] });
  });

  it('a clean scan says nothing unusual was seen', () => {
    expect(verdictFor(unit(), scan(), []).reasons).toEqual(["This code's signature matches the brand's key.", 'Nothing unusual was seen in its recent scans.']);
  });
});

describe('privacy', () => {
  it('reasons and evidence carry no device id, client key or coordinates', () => {
    const s = scan({
      latitude: PARIS.lat,
      longitude: PARIS.lon,
      country: 'FR',
      deviceHash: 'devhash-5f3a9c',
      clientKey: '203.0.113.77',
      nfc: { valid: true, counter: 4, lastCounter: 4 },
    });
    const u = unit({
      status: 'RECYCLED',
      authorisedMarkets: ['DE'],
      scansLastHour: 99,
      openTamperReport: true,
      recentScans: [{ at: minutesBefore(7), latitude: LONDON.lat, longitude: LONDON.lon, country: 'GB' }],
    });
    const findings = evaluateRules(s, u, probe(7), t({ maxLifetimeScans: 1 }));
    expect(findings.map((f) => f.kind)).toContain('IMPOSSIBLE_TRAVEL');
    const { reasons } = verdictFor(u, s, findings);
    const all = JSON.stringify({ findings, reasons, probe: evaluateRules(s, unknownUnitFacts(true), probe(7)) });
    for (const secret of ['devhash', '203.0.113', '48.85', '2.352', '51.50', '0.127']) expect(all).not.toContain(secret);
    for (const r of reasons) expect(r).not.toMatch(/\d\.\d/);
    expect(reasons[0]).toBe('This unit was scanned 344 km away 7 minutes ago.');
  });
});
