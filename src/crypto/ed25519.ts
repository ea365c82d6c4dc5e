import {
  createPrivateKey,
  createPublicKey,
  randomBytes,
  sign as nodeSign,
  verify as nodeVerify,
  type KeyObject,
} from 'node:crypto';
import { base64urlnopad } from '@scure/base';

/** Length in bytes of an Ed25519 public key, private key seed and half a signature. */
export const ED25519_KEY_LENGTH = 32;
/** Length in bytes of an Ed25519 signature. */
export const ED25519_SIGNATURE_LENGTH = 64;

const PKCS8_PREFIX = Uint8Array.from(Buffer.from('302e020100300506032b657004220420', 'hex'));
const SPKI_PREFIX = Uint8Array.from(Buffer.from('302a300506032b6570032100', 'hex'));

/** A raw Ed25519 key pair: `privateKey` is the 32-byte RFC 8032 seed. */
export interface Ed25519KeyPair {
  publicKey: Uint8Array;
  privateKey: Uint8Array;
}

function withPrefix(prefix: Uint8Array, key: Uint8Array): Buffer {
  return Buffer.concat([prefix, key]);
}

function privateKeyObject(privateKey: Uint8Array): KeyObject {
  if (!(privateKey instanceof Uint8Array) || privateKey.length !== ED25519_KEY_LENGTH) {
    throw new TypeError(`Ed25519 private key must be a ${ED25519_KEY_LENGTH}-byte seed`);
  }
  return createPrivateKey({ key: withPrefix(PKCS8_PREFIX, privateKey), format: 'der', type: 'pkcs8' });
}

/** The 32-byte public key for a 32-byte private key seed. */
export function getPublicKey(privateKey: Uint8Array): Uint8Array {
  const spki = createPublicKey(privateKeyObject(privateKey)).export({ format: 'der', type: 'spki' });
  return Uint8Array.from(spki.subarray(SPKI_PREFIX.length));
}

/** A fresh random Ed25519 key pair. */
export function generateKeyPair(): Ed25519KeyPair {
  const privateKey = Uint8Array.from(randomBytes(ED25519_KEY_LENGTH));
  return { publicKey: getPublicKey(privateKey), privateKey };
}

/**
 * Deterministic RFC 8032 Ed25519 signature of `message`.
 * @throws TypeError if `privateKey` is not a 32-byte seed.
 */
export function sign(message: Uint8Array, privateKey: Uint8Array): Uint8Array {
  return Uint8Array.from(nodeSign(null, message, privateKeyObject(privateKey)));
}

/**
 * Strict RFC 8032 verification (canonical S, canonical point encodings, no small-order keys).
 * Returns false, never throws, for malformed input of any kind.
 */
export function verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  if (!(signature instanceof Uint8Array) || signature.length !== ED25519_SIGNATURE_LENGTH) return false;
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== ED25519_KEY_LENGTH) return false;
  if (!(message instanceof Uint8Array)) return false;
  try {
    const key = createPublicKey({ key: withPrefix(SPKI_PREFIX, publicKey), format: 'der', type: 'spki' });
    return nodeVerify(null, message, key, signature);
  } catch {
    return false;
  }
}

/** Unpadded base64url (RFC 4648 §5) text of `bytes`. */
export function toBase64Url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}

/**
 * Decodes unpadded base64url.
 * @throws Error on padding, characters outside the URL-safe alphabet, or non-canonical trailing bits.
 */
export function fromBase64Url(text: string): Uint8Array {
  if (typeof text !== 'string') throw new TypeError('base64url input must be a string');
  try {
    return base64urlnopad.decode(text);
  } catch (err) {
    throw new Error(`invalid base64url: ${(err as Error).message}`);
  }
}
