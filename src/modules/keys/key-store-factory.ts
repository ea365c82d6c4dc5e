import type { EntityManager } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import type { Config } from '../../config/config.js';
import type { KeyStore } from './key-store.js';
import { LocalEncryptedKeyStore } from './local-key-store.js';
import { Pkcs11KeyStore } from './pkcs11-key-store.js';
import { SigningKey } from './signing-key.entity.js';

/**
 * The key store DPP_KEY_STORE names. `pkcs11` logs in to the token now, so a wrong module, token or PIN stops
 * the start with a ConfigError naming the variable; it keeps a local store for keys made before the move.
 */
export function openKeyStore(config: Config, masterKey: Uint8Array, log: Logger): KeyStore {
  const local = new LocalEncryptedKeyStore(masterKey);
  if (config.keyStore.kind === 'local') return local;
  return Pkcs11KeyStore.open(config.keyStore, log, local);
}

/**
 * Destroys in the token what revocations left there (a revocation whose destroy call failed, or a crash
 * between commit and destroy). Idempotent: a key already gone is nothing to do.
 */
export async function sweepRevokedKeys(em: EntityManager, keyStore: KeyStore, log: Logger): Promise<void> {
  if (!keyStore.destroy) return;
  const revoked = await em.find(SigningKey, { status: 'REVOKED', keyStore: keyStore.name }, { fields: ['kid', 'privateKeyRef'] });
  let failed = 0;
  for (const key of revoked) if (!(await keyStore.destroy(key.privateKeyRef))) failed++;
  if (failed) log.error({ failed }, 'key store: revoked keys remain in the token; retried at the next start');
}
