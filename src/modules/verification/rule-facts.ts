import type { PassportStatus } from '../passports/passport.entity.js';
import type { IdentityField } from '../passports/identity.js';

/** What the rules read: the scan, the registry's knowledge of the unit, and the client's probes of its GTIN. */

/**
 * Outcome of checking the signature the scanned code carried. `ABSENT` is a plain Digital Link
 * with no signature: not suspicious by itself (the registry lookup still vouches for the unit).
 * `REVOKED_KEY`: the signature verifies but under a key the brand has revoked.
 */
export type SignatureCheck = 'VALID' | 'INVALID' | 'REVOKED_KEY' | 'ABSENT';

/**
 * An NFC SUN read: whether it vouches for this unit, its read counter and the last accepted counter for
 * the tag. `valid` is false when the MAC does not verify under the brand's keys, and also when it does
 * but the registry does not bind the tag to this unit (`binding` says which): a genuine tag of another
 * unit, or one the brand never bound, authenticates nothing about this one.
 */
export type NfcFacts = { valid: boolean; counter: number; lastCounter: number | null; binding?: NfcBindingProblem | null };

/** Why a MAC-valid tag does not vouch for the scanned unit. */
export type NfcBindingProblem = 'UNPROVISIONED' | 'OTHER_UNIT';

/** The scan being evaluated. */
export type ScanFacts = {
  at: Date;
  latitude?: number | null;
  longitude?: number | null;
  /** ISO 3166-1 alpha-2 (any case; anything else counts as no country). */
  country?: string | null;
  deviceHash?: string | null;
  /**
   * IP/device bucket. The caller uses it to compute {@link ProbeFacts}; no rule copies it (nor
   * `deviceHash`) into a finding.
   */
  clientKey: string;
  signature: SignatureCheck;
  /**
   * Fields of the signed identity record that the scanned link states differently from the unit's record
   * (e.g. `lot`): the code is not one the brand printed for this unit. Empty or absent: none.
   */
  identityMismatch?: readonly IdentityField[];
  nfc?: NfcFacts | null;
};

/** An earlier scan of the same unit. */
export type RecentScan = { at: Date; latitude?: number | null; longitude?: number | null; country?: string | null };

/** What the registry knows about the scanned identity. */
export type UnitFacts = {
  /** A passport exists for this GTIN + serial. */
  known: boolean;
  /** The GTIN belongs to a product model of a brand on this platform. */
  gtinKnown: boolean;
  /** The passport's status; null when the unit is not known. */
  status: PassportStatus | null;
  /**
   * Countries the unit may be sold or used in, already resolved by {@link effectiveMarkets}
   * (batch destination markets, else the model's authorised markets). Empty = no restriction.
   */
  authorisedMarkets: readonly string[];
  /**
   * Earlier scans, newest first, covering at least the longest window a travel can be impossible
   * in: Earth's half circumference / maxKmh (about 20 h at the default 1,000 km/h; callers load
   * 24 h). Whether it includes this scan does not matter: a scan is 0 km from itself.
   */
  recentScans: readonly RecentScan[];
  /** Scans of the unit in the hour up to and including this one. */
  scansLastHour: number;
  /** All scans of the unit, including this one. */
  lifetimeScans: number;
  openTamperReport: boolean;
};

export type ProbeFacts = {
  /** Distinct never-minted serials this client scanned in the last hour, including this scan's. */
  distinctUnknownSerialsFromClientLastHour: number;
};

/** Facts for an identity with no passport (the remaining fields are irrelevant to the rules). */
export function unknownUnitFacts(gtinKnown: boolean): UnitFacts {
  return {
    known: false,
    gtinKnown,
    status: null,
    authorisedMarkets: [],
    recentScans: [],
    scansLastHour: 0,
    lifetimeScans: 0,
    openTamperReport: false,
  };
}

/**
 * The markets a unit is authorised for. A batch's destination markets are the more specific
 * statement by the brand (this shipment goes there), so when present they replace the model's list
 * rather than being intersected with it — an intersection could come out empty, which would mean
 * "no restriction" and silently lift both. With no batch markets the model's list applies; when
 * both are empty there is no restriction and GREY_MARKET never fires.
 */
export function effectiveMarkets(
  modelMarkets: readonly string[] | null | undefined,
  batchMarkets: readonly string[] | null | undefined,
): string[] {
  const pick = batchMarkets?.length ? batchMarkets : (modelMarkets ?? []);
  return [...new Set(pick.map((c) => c.trim().toUpperCase()))].sort();
}
