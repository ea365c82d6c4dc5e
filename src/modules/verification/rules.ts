/**
 * Fraud rules and the scan verdict (ARCHITECTURE.md §5). Pure functions: the verification service
 * gathers the facts (this scan, the unit's recent history, what the same client probed), runs
 * {@link evaluateRules}, persists the findings as alerts (grouping repeats into the open alert) and
 * answers {@link verdictFor}.
 *
 * Privacy: a finding's `reason` is shown to consumers and its `evidence` to brand operators, so
 * neither ever carries the client key, the device hash or coordinates — only rounded distances,
 * time gaps, counts, country codes and thresholds. The scan row keeps the raw facts under its own
 * retention.
 *
 * @module
 */
import { haversineKm, validCoordinates } from './geo.js';
import { isReplay } from './nfc-sun.js';
import type { IdentityField } from '../passports/identity.js';
import type { NfcFacts, ProbeFacts, RecentScan, ScanFacts, UnitFacts } from './rule-facts.js';
import { DEFAULT_THRESHOLDS, type RuleThresholds } from './thresholds.js';
import { type AlertKind, SEVERITIES, type Severity, type Verdict } from './vocabulary.js';

// ---------------------------------------------------------------------------------------------
// Vocabulary (mirrors the GraphQL enums Verdict, AlertKind, Severity)
// ---------------------------------------------------------------------------------------------

export { ALERT_KINDS, type AlertKind, SEVERITIES, type Severity, type Verdict, VERDICTS } from './vocabulary.js';
export { DEFAULT_THRESHOLDS, parseRuleThresholds, type RuleThresholds, ruleThresholdsSchema, thresholdsFor } from './thresholds.js';
export * from './rule-facts.js';

export function severityRank(s: Severity): number {
  return SEVERITIES.indexOf(s);
}

export function severityAtLeast(s: Severity, min: Severity): boolean {
  return severityRank(s) >= severityRank(min);
}

// ---------------------------------------------------------------------------------------------
// Rules
// ---------------------------------------------------------------------------------------------

export type Finding = {
  kind: AlertKind;
  severity: Severity;
  /** One sentence a consumer can read; no personal data. */
  reason: string;
  /** Structured facts for operators: counts, rounded distances, thresholds; no client key, device or coordinates. */
  evidence: Record<string, unknown>;
};

export type Rule = (scan: ScanFacts, unit: UnitFacts, probe: ProbeFacts, t: RuleThresholds) => Finding | null;

const numberFormat = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const fmt = (n: number): string => numberFormat.format(n);
const plural = (n: number, one: string): string => `${fmt(n)} ${one}${n === 1 ? '' : 's'}`;

const REASON = {
  unknownSerial: "This code does not match any unit the brand has made.",
  unknownGtin: 'This product is not registered on this platform.',
  badSignature: "This code's signature does not match the brand's key.",
  revokedKey: 'This code was signed with a key the brand has withdrawn.',
  badNfc: "This tag's secure message does not match the brand's key.",
  unprovisionedNfc: 'This tag was never registered to a unit by the brand.',
  otherUnitNfc: 'This tag belongs to another unit of the brand, not to this one.',
  revokedUnit: "The brand has withdrawn this unit's passport.",
  goodSignature: "This code's signature matches the brand's key.",
  goodNfc: "This tag's secure message matches the brand's key.",
  identityMismatch: (fields: readonly string[]) =>
    `This code's ${fields.join(' and ')} ${fields.length === 1 ? 'does' : 'do'} not match the unit the brand registered under this serial number.`,
  registered: 'This unit is registered by its brand.',
  nothingUnusual: 'Nothing unusual was seen in its recent scans.',
} as const;

/** A never-minted serial under a GTIN a brand on the platform owns: a guessed or copied code. */
export const unknownSerialRule: Rule = (_scan, unit, probe, t) => {
  if (unit.known || !unit.gtinKnown) return null;
  const probed = probe.distinctUnknownSerialsFromClientLastHour;
  return {
    kind: 'UNKNOWN_SERIAL',
    severity: probed >= t.probeCriticalAfter ? 'CRITICAL' : 'HIGH',
    reason: REASON.unknownSerial,
    evidence: { distinctUnknownSerialsFromClientLastHour: probed, probeCriticalAfter: t.probeCriticalAfter },
  };
};

/** The fields a scan's link states differently from its unit's signed identity record. */
function mismatchOf(scan: ScanFacts): readonly IdentityField[] {
  return scan.identityMismatch ?? [];
}

/**
 * The link states a field of the signed identity record (the lot, say) that is not the unit's: a copied
 * serial on a label the brand did not print. CRITICAL when the code carries a signature (a signed code was
 * altered; its signature then fails too, and this alert, not INVALID_SIGNATURE, reports it), HIGH without.
 */
export const identityMismatchRule: Rule = (scan, unit) => {
  const fields = mismatchOf(scan);
  if (!unit.known || fields.length === 0) return null;
  return {
    kind: 'IDENTITY_MISMATCH',
    severity: scan.signature === 'ABSENT' ? 'HIGH' : 'CRITICAL',
    reason: REASON.identityMismatch(fields),
    evidence: { fields: [...fields], signature: scan.signature },
  };
};

/**
 * The carried signature fails, was made by a revoked key, or the NFC SUN MAC fails (the tag's
 * signature). One finding per scan; evidence says which. Only for GTINs a brand here owns: for an
 * unregistered GTIN there is no key to check against and no one to alert. A signature that fails because
 * the link's identity was altered is reported by {@link identityMismatchRule} instead.
 */
export const invalidSignatureRule: Rule = (scan, unit) => {
  if (!unit.gtinKnown && !unit.known) return null;
  const altered = unit.known && mismatchOf(scan).length > 0;
  const sigBad = (scan.signature === 'INVALID' && !altered) || scan.signature === 'REVOKED_KEY';
  const nfcBad = scan.nfc?.valid === false;
  if (!sigBad && !nfcBad) return null;
  return {
    kind: 'INVALID_SIGNATURE',
    severity: 'CRITICAL',
    reason: scan.signature === 'INVALID' && !altered ? REASON.badSignature : scan.signature === 'REVOKED_KEY' ? REASON.revokedKey : nfcFailure(scan.nfc!),
    evidence: {
      signature: scan.signature,
      nfcMac: scan.nfc ? (scan.nfc.valid || scan.nfc.binding ? 'VALID' : 'INVALID') : 'ABSENT',
      ...(scan.nfc?.binding ? { nfcTag: scan.nfc.binding } : {}),
    },
  };
};

/** The sentence for an NFC read that does not vouch for the unit. */
function nfcFailure(nfc: NfcFacts): string {
  if (nfc.binding === 'UNPROVISIONED') return REASON.unprovisionedNfc;
  if (nfc.binding === 'OTHER_UNIT') return REASON.otherUnitNfc;
  return REASON.badNfc;
}

function validTime(d: Date): boolean {
  return d instanceof Date && Number.isFinite(d.getTime());
}

function duration(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  if (minutes < 1) return 'less than a minute';
  if (minutes < 120) return plural(minutes, 'minute');
  const hours = Math.round(minutes / 60);
  return hours < 48 ? plural(hours, 'hour') : plural(Math.round(hours / 24), 'day');
}

/**
 * This scan against every recent scan with coordinates. A pair conflicts when it is at least
 * `minTravelKm` apart and the implied speed is strictly above `maxKmh`; a zero time gap over that
 * distance conflicts too. Distances are compared rounded to the metre (the spherical model is good
 * to ~0.5 % anyway), so threshold boundaries are exact and testable. The speed test is
 * `km · 3.6e6 > maxKmh · ms`, without division, so a zero gap needs no special case. One finding,
 * for the fastest conflicting pair.
 */
export const impossibleTravelRule: Rule = (scan, unit, _probe, t) => {
  if (!unit.known || !validTime(scan.at) || !validCoordinates(scan.latitude, scan.longitude)) return null;
  const here = { lat: scan.latitude as number, lon: scan.longitude as number };
  let worst: { km: number; ms: number; other: RecentScan } | null = null;
  for (const other of unit.recentScans) {
    if (!validTime(other.at) || !validCoordinates(other.latitude, other.longitude)) continue;
    const km = Math.round(haversineKm(here, { lat: other.latitude as number, lon: other.longitude as number }) * 1000) / 1000;
    if (km < t.minTravelKm) continue;
    const ms = Math.abs(scan.at.getTime() - other.at.getTime());
    if (!(km * 3_600_000 > t.maxKmh * ms)) continue;
    // Faster ⇔ km/ms > worst.km/worst.ms, cross-multiplied so zero gaps compare; ties go to the longer distance.
    if (!worst || km * worst.ms > worst.km * ms || (km * worst.ms === worst.km * ms && km > worst.km)) {
      worst = { km, ms, other };
    }
  }
  if (!worst) return null;
  const { km, ms, other } = worst;
  const delta = scan.at.getTime() - other.at.getTime();
  const when = delta === 0 ? 'at the same time' : delta > 0 ? `${duration(ms)} ago` : `${duration(ms)} after this scan`;
  return {
    kind: 'IMPOSSIBLE_TRAVEL',
    severity: 'HIGH',
    reason: `This unit was scanned ${fmt(Math.round(km))} km away ${when}.`,
    evidence: {
      distanceKm: Math.round(km),
      gapMinutes: Math.round(ms / 6_000) / 10,
      impliedKmh: ms === 0 ? null : Math.round((km * 3_600_000) / ms),
      otherScanAt: other.at.toISOString(),
      country: normaliseCountry(scan.country),
      otherCountry: normaliseCountry(other.country),
      maxKmh: t.maxKmh,
      minTravelKm: t.minTravelKm,
    },
  };
};

/** More than `maxScansPerHour` scans of one unit in the last hour, this one included. */
export const scanVelocityRule: Rule = (_scan, unit, _probe, t) => {
  if (!unit.known || !(unit.scansLastHour > t.maxScansPerHour)) return null;
  return {
    kind: 'SCAN_VELOCITY',
    severity: 'MEDIUM',
    reason: `This unit has been scanned ${plural(unit.scansLastHour, 'time')} in the last hour.`,
    evidence: { scansLastHour: unit.scansLastHour, maxScansPerHour: t.maxScansPerHour },
  };
};

/** Lifetime scans, this one included, above the model's ceiling; silent when the model sets none. */
export const scanCountRule: Rule = (_scan, unit, _probe, t) => {
  const ceiling = t.maxLifetimeScans;
  if (!unit.known || ceiling === null || ceiling === undefined || !(unit.lifetimeScans > ceiling)) return null;
  return {
    kind: 'SCAN_COUNT',
    severity: 'HIGH',
    reason: `This unit has been scanned ${plural(unit.lifetimeScans, 'time')}, more than this product is expected to be.`,
    evidence: { lifetimeScans: unit.lifetimeScans, maxLifetimeScans: ceiling },
  };
};

function normaliseCountry(c: string | null | undefined): string | null {
  const code = c?.trim().toUpperCase();
  return code && /^[A-Z]{2}$/.test(code) ? code : null;
}

/** Scanned in a country outside a non-empty list of authorised markets; needs a country on the scan. */
export const greyMarketRule: Rule = (scan, unit) => {
  const country = normaliseCountry(scan.country);
  if (!unit.known || !country || unit.authorisedMarkets.length === 0) return null;
  const markets = unit.authorisedMarkets.map((m) => m.trim().toUpperCase());
  if (markets.includes(country)) return null;
  return {
    kind: 'GREY_MARKET',
    severity: 'MEDIUM',
    reason: `This unit was made for other markets than the one it was scanned in (${country}).`,
    evidence: { country, authorisedMarkets: [...markets].sort() },
  };
};

/** A unit recorded as end-of-life or recycled is in circulation again. */
export const postEndOfLifeRule: Rule = (_scan, unit) => {
  if (!unit.known || (unit.status !== 'END_OF_LIFE' && unit.status !== 'RECYCLED')) return null;
  return {
    kind: 'POST_END_OF_LIFE',
    severity: 'HIGH',
    reason: `This unit was recorded as ${unit.status === 'RECYCLED' ? 'recycled' : 'having reached its end of life'} and should no longer be in use.`,
    evidence: { status: unit.status },
  };
};

/**
 * A genuine (MAC-valid) SUN read whose counter did not advance: a recorded tap replayed. A MAC
 * failure is INVALID_SIGNATURE instead. Uses {@link isReplay}, which also fails closed on counters
 * outside the tag's 24-bit range.
 */
export const nfcReplayRule: Rule = (scan) => {
  const nfc = scan.nfc;
  if (!nfc || !nfc.valid || !isReplay(nfc.lastCounter, nfc.counter)) return null;
  return {
    kind: 'NFC_REPLAY',
    severity: 'HIGH',
    reason: "This tag's tap counter did not advance, so this tap may be a recorded copy.",
    evidence: { counter: nfc.counter, lastCounter: nfc.lastCounter },
  };
};

/** An open tamper report on the unit; repeated scans fold into the same open alert downstream. */
export const tamperReportedRule: Rule = (_scan, unit) => {
  if (!unit.known || !unit.openTamperReport) return null;
  return {
    kind: 'TAMPER_REPORTED',
    severity: 'HIGH',
    reason: 'Someone has reported that this unit may have been tampered with.',
    evidence: { openTamperReport: true },
  };
};

/** Every scan rule, in evaluation (and output) order. WARRANTY_FRAUD_RISK belongs to warranty claims, not scans. */
export const RULES: readonly Rule[] = Object.freeze([
  unknownSerialRule,
  identityMismatchRule,
  invalidSignatureRule,
  impossibleTravelRule,
  scanVelocityRule,
  scanCountRule,
  greyMarketRule,
  postEndOfLifeRule,
  nfcReplayRule,
  tamperReportedRule,
]);

/** Runs {@link RULES}; the findings come out in rule order. */
export function evaluateRules(
  scan: ScanFacts,
  unit: UnitFacts,
  probe: ProbeFacts,
  t: RuleThresholds = DEFAULT_THRESHOLDS,
): Finding[] {
  const out: Finding[] = [];
  for (const rule of RULES) {
    const f = rule(scan, unit, probe, t);
    if (f) out.push(f);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Verdict
// ---------------------------------------------------------------------------------------------

/**
 * The answer for the scanner. Precedence, first match wins:
 *
 * 1. Unregistered GTIN → UNKNOWN (no brand here to vouch either way).
 * 2. Never-minted serial of a known brand's GTIN → COUNTERFEIT when the carried signature is
 *    invalid or under a revoked key (a forged or stolen-key code: there is no genuine unit for the
 *    revocation to be about) or the NFC MAC fails; otherwise UNKNOWN (UNKNOWN_SERIAL is raised as an
 *    alert: suspect, but it may be a typo or a registry lag, so the consumer is not told "fake").
 * 3. Unit REVOKED, or signature under a revoked key → REVOKED: the brand's own withdrawal
 *    outranks everything we might infer, and already tells the consumer not to trust it.
 * 4. The link states a signed identity field (lot…) that is not the unit's, signature INVALID, or NFC
 *    MAC invalid → COUNTERFEIT (an altered identity is the reason given, not the signature it breaks).
 * 5. Any finding of severity ≥ MEDIUM → SUSPICIOUS.
 * 6. Otherwise AUTHENTIC (also with no carried signature: the registry lookup vouches for the unit).
 *
 * Signature outcomes are read from the facts, the rest from the findings. Reasons: the deciding
 * sentence(s) first, then every finding's reason by descending severity, without duplicates.
 */
export function verdictFor(unit: UnitFacts, scan: ScanFacts, findings: readonly Finding[]): { verdict: Verdict; reasons: string[] } {
  const ranked = findings
    .map((f, i) => ({ f, i }))
    .sort((a, b) => severityRank(b.f.severity) - severityRank(a.f.severity) || a.i - b.i)
    .map(({ f }) => f.reason);
  const answer = (verdict: Verdict, primary: string[]) => ({ verdict, reasons: [...new Set([...primary, ...ranked])] });

  const sigFailures: string[] = [];
  const altered = unit.known ? mismatchOf(scan) : [];
  if (altered.length) sigFailures.push(REASON.identityMismatch(altered));
  else if (scan.signature === 'INVALID') sigFailures.push(REASON.badSignature);
  if (scan.signature === 'REVOKED_KEY') sigFailures.push(REASON.revokedKey);
  if (scan.nfc?.valid === false) sigFailures.push(nfcFailure(scan.nfc));

  if (!unit.known && !unit.gtinKnown) return { verdict: 'UNKNOWN', reasons: [REASON.unknownGtin] };
  if (!unit.known) {
    return sigFailures.length ? answer('COUNTERFEIT', sigFailures) : answer('UNKNOWN', [REASON.unknownSerial]);
  }

  const revoked: string[] = [];
  if (unit.status === 'REVOKED') revoked.push(REASON.revokedUnit);
  if (scan.signature === 'REVOKED_KEY') revoked.push(REASON.revokedKey);
  if (revoked.length) return answer('REVOKED', revoked);

  if (sigFailures.length) return answer('COUNTERFEIT', sigFailures);

  if (findings.some((f) => severityAtLeast(f.severity, 'MEDIUM'))) return answer('SUSPICIOUS', []);

  const good: string[] = [];
  if (scan.signature === 'VALID') good.push(REASON.goodSignature);
  if (scan.nfc?.valid === true) good.push(REASON.goodNfc);
  if (!good.length) good.push(REASON.registered);
  if (!findings.length) good.push(REASON.nothingUnusual);
  return answer('AUTHENTIC', good);
}
