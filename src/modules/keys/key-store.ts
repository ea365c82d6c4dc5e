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
