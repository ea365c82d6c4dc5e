/**
 * Fraud assessment of a warranty claim (ARCHITECTURE.md §6). Pure: the warranty service gathers the
 * facts, {@link assessWarrantyClaim} weighs them. Signals carry counts, days and country codes, never
 * anything about the claimant. The table is documented in the README ("Warranty claims").
 *
 * @module
 */

export const WARRANTY_SIGNALS = {
  /** Ownership registered (claimed or transferred) shortly before the claim. */
  RECENT_OWNERSHIP: 20,
  /** The claim comes after the warranty period, counted from the sale date. */
  OUTSIDE_WARRANTY: 35,
  /** Open HIGH or CRITICAL fraud alerts on the unit. */
  OPEN_HIGH_ALERTS: 25,
  /** The unit was scanned in countries outside its authorised markets. */
  SCANS_OUTSIDE_MARKETS: 15,
  /** Earlier warranty claims on the same unit. */
  EARLIER_CLAIMS: 15,
  /** The same issue was claimed before, on this unit or by this claimant on another unit within a year. */
  REPEATED_ISSUE: 20,
  /** The unit is at end of life or recycled. */
  END_OF_LIFE: 40,
  /** The unit was never signed by its brand. */
  UNSIGNED_UNIT: 30,
  /** The unit, or the key that signed it, is revoked. */
  REVOKED: 40,
} as const;
export type WarrantySignal = keyof typeof WARRANTY_SIGNALS;

/** Scores at or above this raise a WARRANTY_FRAUD_RISK alert (MEDIUM) for the brand. */
export const WARRANTY_RISK_THRESHOLD = 50;
/** "Shortly before": ownership younger than this many days at the time of the claim. */
export const RECENT_OWNERSHIP_DAYS = 14;
/** How far back a claimant's claims on other units count for REPEATED_ISSUE. */
export const REPEATED_ISSUE_DAYS = 365;
export const MAX_RISK_SCORE = 100;

export type WarrantyFacts = {
  at: Date;
  /** When the current ownership began. */
  ownershipSince: Date;
  /** First sale (a SOLD event or a retail_selling custody event); null when the history has none. */
  soldAt: Date | null;
  /** The model's warranty in months; null when the brand declared none (the signal is then not evaluated). */
  warrantyMonths: number | null;
  status: string;
  signed: boolean;
  keyRevoked: boolean;
  /** Severities of the unit's open alerts. */
  openAlertSeverities: readonly string[];
  /** Countries the unit was scanned in. */
  scanCountries: readonly string[];
  /** Where the unit may be sold or used; empty = no restriction. */
  authorisedMarkets: readonly string[];
  earlierClaimsOnUnit: number;
  sameIssueOnUnit: number;
  sameIssueByClaimantElsewhere: number;
};

export type Signal = { code: WarrantySignal; weight: number; detail: Record<string, unknown> };
export type Assessment = { score: number; reasons: WarrantySignal[]; signals: Signal[]; highRisk: boolean };

/** The end of a warranty of `months` months that began at `from` (calendar months, UTC). */
export function warrantyEnds(from: Date, months: number): Date {
  const end = new Date(from.getTime());
  const day = end.getUTCDate();
  end.setUTCDate(1);
  end.setUTCMonth(end.getUTCMonth() + months);
  // The 31st of a month that has none is the month's last day (not the 1st of the next one).
  const last = new Date(Date.UTC(end.getUTCFullYear(), end.getUTCMonth() + 1, 0)).getUTCDate();
  end.setUTCDate(Math.min(day, last));
  return end;
}

const DAY_MS = 86_400_000;

/** Weighs the documented signals; the score is the sum of the weights that fired, capped at {@link MAX_RISK_SCORE}. */
export function assessWarrantyClaim(f: WarrantyFacts): Assessment {
  const signals: Signal[] = [];
  const fire = (code: WarrantySignal, detail: Record<string, unknown>) => signals.push({ code, weight: WARRANTY_SIGNALS[code], detail });

  const ownedDays = (f.at.getTime() - f.ownershipSince.getTime()) / DAY_MS;
  if (ownedDays < RECENT_OWNERSHIP_DAYS) fire('RECENT_OWNERSHIP', { ownedDays: Math.max(0, Math.floor(ownedDays)), thresholdDays: RECENT_OWNERSHIP_DAYS });

  if (f.warrantyMonths !== null) {
    const from = f.soldAt ?? f.ownershipSince;
    const ends = warrantyEnds(from, f.warrantyMonths);
    if (f.at.getTime() > ends.getTime()) {
      fire('OUTSIDE_WARRANTY', { warrantyMonths: f.warrantyMonths, from: from.toISOString(), endedAt: ends.toISOString(), fromSale: f.soldAt !== null });
    }
  }

  const high = f.openAlertSeverities.filter((s) => s === 'HIGH' || s === 'CRITICAL');
  if (high.length) fire('OPEN_HIGH_ALERTS', { count: high.length, critical: high.filter((s) => s === 'CRITICAL').length });

  if (f.authorisedMarkets.length) {
    const markets = new Set(f.authorisedMarkets.map((c) => c.toUpperCase()));
    const outside = [...new Set(f.scanCountries.map((c) => c.toUpperCase()))].filter((c) => !markets.has(c)).sort();
    if (outside.length) fire('SCANS_OUTSIDE_MARKETS', { countries: outside, markets: [...markets].sort() });
  }

  if (f.earlierClaimsOnUnit > 0) fire('EARLIER_CLAIMS', { count: f.earlierClaimsOnUnit });
  if (f.sameIssueOnUnit > 0 || f.sameIssueByClaimantElsewhere > 0) fire('REPEATED_ISSUE', { onThisUnit: f.sameIssueOnUnit, onOtherUnits: f.sameIssueByClaimantElsewhere });

  if (f.status === 'END_OF_LIFE' || f.status === 'RECYCLED') fire('END_OF_LIFE', { status: f.status });
  if (!f.signed) fire('UNSIGNED_UNIT', {});
  if (f.status === 'REVOKED' || f.keyRevoked) fire('REVOKED', { unitRevoked: f.status === 'REVOKED', keyRevoked: f.keyRevoked });

  const score = Math.min(MAX_RISK_SCORE, signals.reduce((sum, s) => sum + s.weight, 0));
  return { score, reasons: signals.map((s) => s.code), signals, highRisk: score >= WARRANTY_RISK_THRESHOLD };
}
