import { createSecretKey, hkdfSync, type KeyObject, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config/config.js';

/**
 * The 32-byte master secret: DPP_MASTER_KEY when set (required in production), otherwise a
 * development key kept in the data directory (or in memory for `memory://`), logged as such.
 */
export function loadMasterKey(config: Config, log: Logger): Uint8Array {
  if (config.masterKey) return config.masterKey;
  if (config.dataDir.startsWith('memory://')) {
    log.warn('no DPP_MASTER_KEY: using a throwaway development master key (memory:// data)');
    return randomBytes(32);
  }
  const file = join(config.dataDir, 'dev-master.key');
  if (!existsSync(file)) {
    mkdirSync(config.dataDir, { recursive: true });
    writeFileSync(file, randomBytes(32).toString('base64url') + '\n', { mode: 0o600, flag: 'wx' });
    log.warn({ file }, 'no DPP_MASTER_KEY: created a DEVELOPMENT master key; set DPP_MASTER_KEY in production');
  } else {
    log.warn({ file }, 'no DPP_MASTER_KEY: using the DEVELOPMENT master key');
  }
  const key = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64url');
  if (key.length !== 32) throw new Error(`${file} does not hold a 32-byte key`);
  return key;
}

/**
 * A purpose-bound key derived from the master key (HKDF-SHA256, empty salt, info `dpp:<purpose>`), so no
 * two uses share a key. 32 bytes unless a use needs another size (AES-128 keys: 16).
 */
export function deriveKey(masterKey: Uint8Array, purpose: string, length = 32): Buffer {
  return Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), `dpp:${purpose}`, length));
}

const secretKeys = new WeakMap<Uint8Array, Map<string, KeyObject>>();

/**
 * {@link deriveKey} as a KeyObject for HMAC, derived and imported once per master key and purpose: HKDF and
 * key import on every call are hot-path costs (and HMAC with a raw Buffer key re-imports it each time).
 */
export function derivedSecretKey(masterKey: Uint8Array, purpose: string): KeyObject {
  let byPurpose = secretKeys.get(masterKey);
  if (!byPurpose) secretKeys.set(masterKey, (byPurpose = new Map()));
  let key = byPurpose.get(purpose);
  if (!key) byPurpose.set(purpose, (key = createSecretKey(deriveKey(masterKey, purpose))));
  return key;
}
