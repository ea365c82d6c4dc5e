import { verifyProof } from '../crypto/data-integrity.js';
import { fromBase64Url, verify } from '../crypto/ed25519.js';
import { jwkToPublicKey } from '../crypto/jwk.js';
import { Gs1Error, parseIdentifier } from '../gs1/index.js';
import { identityBytes } from '../modules/passports/identity.js';

export type Jwks = { keys: unknown[] };
export type OfflineVerdict = {
  valid: boolean;
  kind: 'digital-link' | 'credential' | 'unknown';
  /** The key that verified, when one did. */
  kid?: string;
  reasons: string[];
};

type PublishedKey = { kid: string; publicKey: Uint8Array };

/** The Ed25519 keys of a JWKS; malformed entries are skipped (and reported), never trusted. */
export function keysOf(jwks: Jwks): { keys: PublishedKey[]; skipped: number } {
  const keys: PublishedKey[] = [];
  let skipped = 0;
  for (const jwk of Array.isArray(jwks?.keys) ? jwks.keys : []) {
    try {
      const kid = (jwk as { kid?: unknown }).kid;
      if (typeof kid !== 'string') throw new Error('no kid');
      keys.push({ kid, publicKey: jwkToPublicKey(jwk) });
    } catch {
      skipped++;
    }
  }
  return { keys, skipped };
}

/**
 * Checks a signed GS1 Digital Link (or EPC URI with a signature) or a passport credential against
 * published keys, with no database and no network. Revoked keys are not published, so what they
 * signed fails here.
 */
export function verifyOffline(input: string | Record<string, unknown>, jwks: Jwks): OfflineVerdict {
  const { keys, skipped } = keysOf(jwks);
  const notes = skipped ? [`${skipped} key(s) in the key set were not Ed25519 JWKs and were ignored`] : [];
  if (keys.length === 0) return { valid: false, kind: 'unknown', reasons: ['the key set holds no Ed25519 key (revoked keys are not published)', ...notes] };

  if (typeof input !== 'string') {
    const byVm = (vm: string) => keys.find((k) => vm.endsWith(`#${k.kid}`))?.publicKey;
    const result = verifyProof(input, byVm);
    const vm = (input.proof as { verificationMethod?: unknown } | undefined)?.verificationMethod;
    const kid = typeof vm === 'string' && byVm(vm) ? vm.slice(vm.lastIndexOf('#') + 1) : undefined;
    return result.verified
      ? { valid: true, kind: 'credential', kid, reasons: ['eddsa-jcs-2022 proof verifies with a published key', ...notes] }
      : { valid: false, kind: 'credential', reasons: [...result.reasons, ...notes] };
  }

  let id;
  try {
    id = parseIdentifier(input.trim());
  } catch (e) {
    const why = e instanceof Gs1Error ? e.message : 'unreadable';
    return { valid: false, kind: 'unknown', reasons: [`not a GS1 Digital Link or EPC URI: ${why}`] };
  }
  if (!id.sig) return { valid: false, kind: 'digital-link', reasons: ['the link carries no signature (?sig=)', ...notes] };
  let signature: Uint8Array;
  try {
    signature = fromBase64Url(id.sig);
  } catch {
    return { valid: false, kind: 'digital-link', reasons: ['the signature is not base64url', ...notes] };
  }
  if (signature.length !== 64) return { valid: false, kind: 'digital-link', reasons: ['the signature is not 64 bytes (truncated or padded)', ...notes] };
  const message = identityBytes({ gtin: id.gtin, serial: id.serial, lot: id.lot });
  // The link does not name its key: try each published key (a few per brand; Ed25519 verify is cheap).
  const match = keys.find((k) => verify(signature, message, k.publicKey));
  return match
    ? { valid: true, kind: 'digital-link', kid: match.kid, reasons: [`signature verifies with key ${match.kid}`, ...notes] }
    : {
        valid: false,
        kind: 'digital-link',
        reasons: ['the signature does not verify with any published key: forged, altered, or signed by a revoked key', ...notes],
      };
}
