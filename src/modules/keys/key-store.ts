import { RETRY_AFTER_SECONDS } from '../../db/unavailable.js';
import { AppError } from '../../errors/app-error.js';

/**
 * Where private signing keys live. The server never needs a private key outside this interface, so
 * an HSM (PKCS#11) or a cloud KMS adapter can replace the default by implementing these calls.
 * Implementations: local-key-store.ts (encrypted in the database) and pkcs11-key-store.ts (a token);
 * key-store-factory.ts picks one from DPP_KEY_STORE.
 */
export interface KeyStore {
  /** A short name stored beside each key (`local-aes-gcm`, `pkcs11`, `aws-kms`, …). */
  readonly name: string;
  /** Creates an Ed25519 key pair; returns the raw 32-byte public key and an opaque reference to keep. */
  generate(): Promise<{ publicKey: Uint8Array; privateKeyRef: string }>;
  /** Signs each message with the private key behind `privateKeyRef`, in order. */
  sign(privateKeyRef: string, messages: readonly Uint8Array[]): Promise<Uint8Array[]>;
  /**
   * Destroys the private key behind `privateKeyRef` where the store holds it apart from the row (a token);
   * called after a revocation or for a generated key no row kept. Never throws; false when it could not.
   */
  destroy?(privateKeyRef: string): Promise<boolean>;
  /** Releases threads, sessions or connections at shutdown. */
  close?(): Promise<void>;
}

/** A signing worker stopped under a batch (either store): the caller's transaction rolls back, and the same request may be sent again. */
export function signingInterrupted(cause: unknown): AppError {
  const error = new AppError('SERVICE_UNAVAILABLE', 'Signing was interrupted (a signing worker stopped); nothing was written; retry', {
    reason: 'SIGNING_INTERRUPTED',
    retryAfterSeconds: RETRY_AFTER_SECONDS,
  });
  error.cause = cause; // logged, never sent
  return error;
}
