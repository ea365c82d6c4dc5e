import { describe, expect, it } from 'vitest';
import { issueKey } from '../../src/modules/warranty/warranty.service.js';
import {
  assessWarrantyClaim,
  MAX_RISK_SCORE,
  RECENT_OWNERSHIP_DAYS,
  WARRANTY_RISK_THRESHOLD,
  WARRANTY_SIGNALS,
  type WarrantyFacts,
  warrantyEnds,
} from '../../src/modules/warranty/warranty.scoring.js';

const DAY = 86_400_000;
const at = new Date('2027-06-15T12:00:00Z');

/** A clean claim: owned for a year, sold 400 days ago with 24 months of warranty, nothing suspicious. */
function facts(over: Partial<WarrantyFacts> = {}): WarrantyFacts {
  return {
    at,
    ownershipSince: new Date(at.getTime() - 365 * DAY),
    soldAt: new Date(at.getTime() - 400 * DAY),
    warrantyMonths: 24,
    status: 'OWNED',
    signed: true,
    keyRevoked: false,
    openAlertSeverities: [],
    scanCountries: ['DE'],
    authorisedMarkets: ['DE', 'FR'],
    earlierClaimsOnUnit: 0,
    sameIssueOnUnit: 0,
    sameIssueByClaimantElsewhere: 0,
    ...over,
  };
}

describe('warranty claim assessment', () => {
  it('scores a clean claim 0', () => {
    expect(assessWarrantyClaim(facts())).toEqual({ score: 0, reasons: [], signals: [], highRisk: false });
  });

  it.each([
    ['RECENT_OWNERSHIP', { ownershipSince: new Date(at.getTime() - (RECENT_OWNERSHIP_DAYS - 1) * DAY) }],
    ['OUTSIDE_WARRANTY', { soldAt: new Date('2025-06-14T12:00:00Z') }],
    ['OPEN_HIGH_ALERTS', { openAlertSeverities: ['MEDIUM', 'HIGH'] }],
    ['SCANS_OUTSIDE_MARKETS', { scanCountries: ['DE', 'us', 'CN'] }],
    ['EARLIER_CLAIMS', { earlierClaimsOnUnit: 2 }],
    ['REPEATED_ISSUE', { sameIssueByClaimantElsewhere: 1 }],
    ['END_OF_LIFE', { status: 'RECYCLED' }],
    ['UNSIGNED_UNIT', { signed: false }],
    ['REVOKED', { keyRevoked: true }],
  ] as const)('fires %s alone with its documented weight', (code, over) => {
    const a = assessWarrantyClaim(facts(over as Partial<WarrantyFacts>));
    expect(a.reasons).toEqual([code]);
    expect(a.score).toBe(WARRANTY_SIGNALS[code]);
    expect(a.highRisk).toBe(WARRANTY_SIGNALS[code] >= WARRANTY_RISK_THRESHOLD);
  });

  it('does not fire on the boundaries: owned exactly 14 days, the last day of the warranty, alerts below HIGH, no markets', () => {
    expect(assessWarrantyClaim(facts({ ownershipSince: new Date(at.getTime() - RECENT_OWNERSHIP_DAYS * DAY) })).reasons).toEqual([]);
    expect(assessWarrantyClaim(facts({ soldAt: new Date('2025-06-15T12:00:00Z') })).reasons).toEqual([]);
    expect(assessWarrantyClaim(facts({ openAlertSeverities: ['LOW', 'MEDIUM'] })).reasons).toEqual([]);
    expect(assessWarrantyClaim(facts({ authorisedMarkets: [], scanCountries: ['US'] })).reasons).toEqual([]);
    expect(assessWarrantyClaim(facts({ warrantyMonths: null, soldAt: new Date('2010-01-01') })).reasons).toEqual([]);
  });

  it('counts the warranty from the sale, or from the first ownership when no sale is recorded', () => {
    const noSale = assessWarrantyClaim(facts({ soldAt: null, ownershipSince: new Date('2024-01-01T00:00:00Z') }));
    expect(noSale.reasons).toEqual(['OUTSIDE_WARRANTY']);
    expect(noSale.signals[0]!.detail).toMatchObject({ fromSale: false, warrantyMonths: 24, endedAt: '2026-01-01T00:00:00.000Z' });
  });

  it('adds weights, caps the score at 100 and calls it high risk from the threshold on', () => {
    const a = assessWarrantyClaim(facts({ ownershipSince: new Date(at.getTime() - DAY), soldAt: new Date('2020-01-01') }));
    expect(a.reasons).toEqual(['RECENT_OWNERSHIP', 'OUTSIDE_WARRANTY']);
    expect(a.score).toBe(55);
    expect(a.highRisk).toBe(true);
    const worst = assessWarrantyClaim(facts({ status: 'END_OF_LIFE', signed: false, keyRevoked: true, openAlertSeverities: ['CRITICAL'] }));
    expect(worst.score).toBe(MAX_RISK_SCORE);
    expect(worst.signals.reduce((sum, s) => sum + s.weight, 0)).toBeGreaterThan(MAX_RISK_SCORE);
  });

  it('keeps signal details to counts, dates and country codes', () => {
    const a = assessWarrantyClaim(facts({ scanCountries: ['US'], openAlertSeverities: ['CRITICAL'], sameIssueOnUnit: 1, earlierClaimsOnUnit: 1 }));
    expect(a.signals.map((s) => [s.code, s.detail])).toEqual([
      ['OPEN_HIGH_ALERTS', { count: 1, critical: 1 }],
      ['SCANS_OUTSIDE_MARKETS', { countries: ['US'], markets: ['DE', 'FR'] }],
      ['EARLIER_CLAIMS', { count: 1 }],
      ['REPEATED_ISSUE', { onThisUnit: 1, onOtherUnits: 0 }],
    ]);
  });
});

describe('warranty periods and issues', () => {
  it('ends a warranty on the same day of the month, or the month’s last day', () => {
    expect(warrantyEnds(new Date('2025-01-31T10:00:00Z'), 1).toISOString()).toBe('2025-02-28T10:00:00.000Z');
    expect(warrantyEnds(new Date('2024-01-31T10:00:00Z'), 1).toISOString()).toBe('2024-02-29T10:00:00.000Z');
    expect(warrantyEnds(new Date('2025-03-15T00:00:00Z'), 24).toISOString()).toBe('2027-03-15T00:00:00.000Z');
    expect(warrantyEnds(new Date('2025-08-31T00:00:00Z'), 6).toISOString()).toBe('2026-02-28T00:00:00.000Z');
  });

  it('treats issues differing only in case, spacing and punctuation as the same', () => {
    expect(issueKey('Battery drains fast!')).toBe(issueKey('  battery   DRAINS fast '));
    expect(issueKey('Battery drains fast')).not.toBe(issueKey('Screen flickers'));
  });
});
