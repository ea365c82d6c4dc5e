import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import { base32crockford } from '@scure/base';
import { canonicalBytes } from '../../crypto/jcs.js';
import { deriveKey } from '../../crypto/master-key.js';

/**
 * What a passport's Ed25519 signature covers: only what a GS1 Digital Link carries, so a verifier
 * holding nothing but the scanned code and the brand's public key can rebuild the exact bytes.
 * Richer facts (model, brand, site, manufacture time, carrier) are covered by the verifiable credential.
 */
export type IdentityRecord = { typ: 'dpp-identity/1'; gtin: string; serial: string; lot?: string };

export function identityRecord(p: { gtin: string; serial: string; lot?: string | null }): IdentityRecord {
  return { typ: 'dpp-identity/1', gtin: p.gtin, serial: p.serial, ...(p.lot ? { lot: p.lot } : {}) };
}

/** The fields of the identity record other than its type tag: what a Digital Link carries and the signature covers. */
export type IdentityField = Exclude<keyof IdentityRecord, 'typ'>;

/**
 * The fields a scanned link carries (present in `carried`) that differ from the unit's record: the signed
 * identity must be the unit's in everything the link states, or the code is not the brand's. A field the
 * link leaves out is not compared here (the signature check, over what the link carries, covers that).
 */
export function identityMismatches(carried: { gtin: string; serial: string; lot?: string | null }, unit: { gtin: string; serial: string; lot?: string | null }): IdentityField[] {
  const stated = identityRecord(carried);
  const recorded = identityRecord(unit);
  return (Object.keys(stated) as (keyof IdentityRecord)[]).filter((f): f is IdentityField => f !== 'typ' && stated[f] !== recorded[f]);
}

/** Whether the link carries exactly the unit's identity record (every field, none left out): the signed bytes are the same. */
export function sameIdentity(carried: { gtin: string; serial: string; lot?: string | null }, unit: { gtin: string; serial: string; lot?: string | null }): boolean {
  return identityMismatches(carried, unit).length === 0 && identityMismatches(unit, carried).length === 0;
}

const utf8 = new TextEncoder();

/**
 * RFC 8785 bytes of the identity record: the message that is signed. The record has only string
 * members, for which JCS is JSON.stringify with the keys in code-point order, so the bytes are built
 * directly (the signing hot path); a test checks them against the JCS library for odd serials.
 */
export function identityBytes(p: { gtin: string; serial: string; lot?: string | null }): Uint8Array {
  const lot = p.lot ? `,"lot":${JSON.stringify(p.lot)}` : '';
  return utf8.encode(`{"gtin":${JSON.stringify(p.gtin)}${lot},"serial":${JSON.stringify(p.serial)},"typ":"dpp-identity/1"}`);
}

/** The same bytes through the general JCS implementation (used by tests to pin the fast path). */
export function identityBytesViaJcs(p: { gtin: string; serial: string; lot?: string | null }): Uint8Array {
  return canonicalBytes(identityRecord(p));
}

/**
 * 80 bits (the first 10 bytes) as a code a person can type: 16 Crockford base32 characters in groups of
 * four (`K7QM-2Z8H-T0PA-49XD`). Claim codes and transfer codes both look like this.
 */
export function formatCode80(bytes: Uint8Array): string {
  return dashed(base32crockford.encode(bytes.subarray(0, 10)));
}

const dashed = (compact: string) => `${compact.slice(0, 4)}-${compact.slice(4, 8)}-${compact.slice(8, 12)}-${compact.slice(12)}`;

/** A {@link formatCode80} code without its dashes: what is hashed (minting hashes 100,000 at a time). */
const CANONICAL_CODE = /^[0-9A-HJKMNP-TV-Z]{16}$/;

/**
 * A {@link formatCode80} code as a person typed it, normalised: spaces and dashes dropped, then read as
 * Crockford base32 does (any case; I and L are 1, O is 0). Input that is no 80-bit code comes back
 * as typed (less spaces and dashes), so it never equals a real code's form.
 */
export function normaliseCode(code: string): string {
  const compact = code.replace(/[\s-]/g, '');
  if (CANONICAL_CODE.test(compact)) return compact;
  try {
    const bytes = base32crockford.decode(compact);
    if (bytes.length === 10) return base32crockford.encode(bytes);
  } catch {
    // not Crockford base32: falls through
  }
  return compact;
}

/**
 * Claim codes for the inside of the packaging, derived from the passport id with a key held only by
 * the server (HMAC), so an idempotent retry of a mint returns the same codes while the database stores
 * only their keyed hash. 16 Crockford base32 characters: 80 bits.
 */
export class ClaimCodes {
  // KeyObjects, not Buffers: HMAC with a raw Buffer key re-imports it on every call (5x slower per code).
  private readonly deriveKey: KeyObject;
  private readonly hashKey: KeyObject;

  constructor(masterKey: Uint8Array) {
    this.deriveKey = createSecretKey(deriveKey(masterKey, 'claim-code-derivation'));
    this.hashKey = createSecretKey(deriveKey(masterKey, 'claim-code-hash'));
  }

  codeFor(passportId: string): string {
    return dashed(this.compactCode(passportId));
  }

  /** A new unit's code and its keyed hash, hashing the code's canonical form directly (minting makes 100,000 at a time). */
  issue(passportId: string): { code: string; hash: string } {
    const compact = this.compactCode(passportId);
    return { code: dashed(compact), hash: createHmac('sha256', this.hashKey).update(compact).digest('hex') };
  }

  private compactCode(passportId: string): string {
    return base32crockford.encode(createHmac('sha256', this.deriveKey).update(passportId).digest().subarray(0, 10));
  }

  /** Keyed hash of a code as typed by a person (case, spaces and dashes ignored; I/L→1, O→0 as Crockford reads). */
  hash(code: string): string {
    return createHmac('sha256', this.hashKey).update(normaliseCode(code)).digest('hex');
  }
}
