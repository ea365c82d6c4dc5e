import { deriveKey } from '../../crypto/master-key.js';
import { type NoteSigner, noteSigner, verifierKey } from '../../crypto/signed-note.js';

/** The platform's transparency-log signing key: separate from every brand's key, named after the log's origin. */
export type LogKey = NoteSigner & { origin: string; verifierKey: string };

const cache = new WeakMap<Uint8Array, Map<string, LogKey>>();

/**
 * The log key, derived from the master key (HKDF, purpose `transparency-log-ed25519`) so that every replica
 * signs with the same key and nothing new needs storing or backing up; rotating the master key therefore
 * changes the log key (witnesses must be told the new verifier key). The key name is the origin.
 */
export function logKey(masterKey: Uint8Array, origin: string): LogKey {
  let byOrigin = cache.get(masterKey);
  if (!byOrigin) cache.set(masterKey, (byOrigin = new Map()));
  let key = byOrigin.get(origin);
  if (!key) {
    const signer = noteSigner(origin, deriveKey(masterKey, 'transparency-log-ed25519'));
    byOrigin.set(origin, (key = { ...signer, origin, verifierKey: verifierKey(signer) }));
  }
  return key;
}
