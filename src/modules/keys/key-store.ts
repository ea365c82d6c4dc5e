/**
 * Where private signing keys live. The server never needs a private key outside this interface, so
 * an HSM (PKCS#11) or a cloud KMS adapter can replace the default by implementing these two calls.
 */
export interface KeyStore {
  /** A short name stored beside each key (`local-aes-gcm`, `pkcs11`, `aws-kms`, …). */
  readonly name: string;
  /** Creates an Ed25519 key pair; returns the raw 32-byte public key and an opaque reference to keep. */
  generate(): Promise<{ publicKey: Uint8Array; privateKeyRef: string }>;
  /** Signs each message with the private key behind `privateKeyRef`, in order. */
  sign(privateKeyRef: string, messages: readonly Uint8Array[]): Promise<Uint8Array[]>;
  /** Releases threads, sessions or connections at shutdown. */
  close?(): Promise<void>;
}
