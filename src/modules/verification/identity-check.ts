import type { EntityManager } from '@mikro-orm/postgresql';
import { fromBase64Url, verify } from '../../crypto/ed25519.js';
import { SigningKey } from '../keys/signing-key.entity.js';
import { type IdentityField, identityBytes, identityMismatches, sameIdentity } from '../passports/identity.js';
import type { IPassport } from '../passports/passport.entity.js';
import type { SignatureCheck } from './rules.js';

/** What a scan states about its unit: the identity its link carries (`lot` only when the link has /10/) and the signature. */
export type CarriedIdentity = { gtin: string; serial: string; lot?: string; sig?: string };

/** How the scanned identity compares with the unit: its signature's check and the signed fields it states otherwise. */
export type IdentityCheck = { signature: SignatureCheck; mismatch: IdentityField[] };

/**
 * The one place a scan's identity is checked against the unit. The signature is checked over what the link
 * carries, the bytes `dpp verify` rebuilds offline from the same link; the stored signature on a link that
 * states exactly the unit's record is valid with no arithmetic (the same bytes were signed). Separately,
 * every field of the signed record the link states must be the unit's (`mismatch` lists those that are not).
 * `storedKeyStatus` is the status of the key that made the stored signature, read with the unit.
 */
export async function checkIdentity(
  em: EntityManager,
  passport: Pick<IPassport, 'gtin' | 'serial' | 'lot' | 'signature'> | null,
  storedKeyStatus: string | null,
  brandId: string | null,
  scan: CarriedIdentity,
): Promise<IdentityCheck> {
  return { signature: await checkSignature(em, passport, storedKeyStatus, brandId, scan), mismatch: passport ? identityMismatches(scan, passport) : [] };
}

async function checkSignature(
  em: EntityManager,
  passport: Pick<IPassport, 'gtin' | 'serial' | 'lot' | 'signature'> | null,
  storedKeyStatus: string | null,
  brandId: string | null,
  scan: CarriedIdentity,
): Promise<SignatureCheck> {
  if (storedKeyStatus === 'REVOKED') return 'REVOKED_KEY';
  if (!scan.sig) return 'ABSENT';
  if (passport?.signature && passport.signature === scan.sig && sameIdentity(scan, passport)) return 'VALID';
  if (!brandId) return 'INVALID';
  let signature: Uint8Array;
  try {
    signature = fromBase64Url(scan.sig);
  } catch {
    return 'INVALID';
  }
  const message = identityBytes({ gtin: scan.gtin, serial: scan.serial, lot: scan.lot });
  for (const key of await em.find(SigningKey, { brand: brandId })) {
    if (verify(signature, message, Buffer.from(key.publicKey, 'base64url'))) return key.status === 'REVOKED' ? 'REVOKED_KEY' : 'VALID';
  }
  return 'INVALID';
}
