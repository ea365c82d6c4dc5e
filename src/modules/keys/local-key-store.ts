import { createCipheriv, createDecipheriv, createPrivateKey, generateKeyPairSync, type KeyObject, randomBytes, sign } from 'node:crypto';
import { deriveKey } from '../../crypto/master-key.js';
import { SignPool, SignWorkerError } from '../../crypto/sign-pool.js';
import { AppError } from '../../errors/app-error.js';
import { type KeyStore, signingInterrupted } from './key-store.js';

const VERSION = 'v1';
/** Below this many messages, a worker round trip costs more than it saves. */
const POOL_THRESHOLD = 2_000;

/**
 * The default KeyStore: private keys encrypted at rest with AES-256-GCM under a key derived from
 * DPP_MASTER_KEY, stored as the reference itself (so in the database row). Decrypted keys are cached.
 */
export class LocalEncryptedKeyStore implements KeyStore {
  readonly name = 'local-aes-gcm';
  private readonly kek: Buffer;
  private readonly cache = new Map<string, KeyObject>();
  /** Exposed for tests that make a worker die mid-batch. */
  readonly pool = new SignPool();

  constructor(masterKey: Uint8Array) {
    this.kek = deriveKey(masterKey, 'signing-key-encryption');
  }

  async generate(): Promise<{ publicKey: Uint8Array; privateKeyRef: string }> {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const der = privateKey.export({ format: 'der', type: 'pkcs8' });
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.kek, iv);
    const sealed = Buffer.concat([cipher.update(der), cipher.final(), cipher.getAuthTag()]);
    const raw = publicKey.export({ format: 'jwk' }).x!;
    const ref = `${VERSION}.${iv.toString('base64url')}.${sealed.toString('base64url')}`;
    this.cache.set(ref, privateKey);
    return { publicKey: Buffer.from(raw, 'base64url'), privateKeyRef: ref };
  }

  async sign(privateKeyRef: string, messages: readonly Uint8Array[]): Promise<Uint8Array[]> {
    const key = this.open(privateKeyRef);
    if (messages.length >= POOL_THRESHOLD) {
      try {
        return await this.pool.sign(key, messages);
      } catch (e) {
        if (e instanceof SignWorkerError) throw signingInterrupted(e);
        throw e;
      }
    }
    return messages.map((m) => sign(null, m, key));
  }

  async close(): Promise<void> {
    await this.pool.close();
  }

  private open(ref: string): KeyObject {
    const cached = this.cache.get(ref);
    if (cached) return cached;
    if (ref.startsWith('pkcs11:')) {
      // A key generated in a token while the server ran DPP_KEY_STORE=pkcs11: only the token can sign with it.
      throw new AppError('SERVICE_UNAVAILABLE', 'This signing key lives in a PKCS#11 token and the server runs DPP_KEY_STORE=local; configure the token or rotate the key', {
        reason: 'SIGNING_KEY_NOT_IN_STORE',
      });
    }
    const [version, iv, sealed] = ref.split('.');
    if (version !== VERSION || !iv || !sealed) throw new Error('unknown private key reference format');
    const bytes = Buffer.from(sealed, 'base64url');
    const decipher = createDecipheriv('aes-256-gcm', this.kek, Buffer.from(iv, 'base64url'));
    decipher.setAuthTag(bytes.subarray(bytes.length - 16));
    const der = Buffer.concat([decipher.update(bytes.subarray(0, bytes.length - 16)), decipher.final()]);
    const key = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
    this.cache.set(ref, key);
    return key;
  }
}
