/** The scan and alert vocabularies, once: the database enums, the GraphQL enums and the rules all use these. */
export const VERDICTS = ['AUTHENTIC', 'SUSPICIOUS', 'COUNTERFEIT', 'UNKNOWN', 'REVOKED'] as const;
export type Verdict = (typeof VERDICTS)[number];

export const ALERT_KINDS = [
  'UNKNOWN_SERIAL',
  'INVALID_SIGNATURE',
  'IDENTITY_MISMATCH',
  'IMPOSSIBLE_TRAVEL',
  'SCAN_VELOCITY',
  'SCAN_COUNT',
  'GREY_MARKET',
  'POST_END_OF_LIFE',
  'NFC_REPLAY',
  'TAMPER_REPORTED',
  'WARRANTY_FRAUD_RISK',
  'WEBHOOK_ENDPOINT_DISABLED',
] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

/**
 * Kinds about the brand's own operations rather than its products (no unit, no GTIN): only that brand sees
 * them, never authorities, and scan analytics leave them out.
 */
export const OPERATIONAL_ALERT_KINDS: readonly AlertKind[] = Object.freeze(['WEBHOOK_ENDPOINT_DISABLED']);

/** Lowest first, so the index is the rank (Postgres orders the enum the same way). */
export const SEVERITIES = ['LOW', 'MEDIUM', 'HIGH', 'CRITICAL'] as const;
export type Severity = (typeof SEVERITIES)[number];
