import { base58 } from '@scure/base';
import { ED25519_KEY_LENGTH, fromBase64Url, toBase64Url } from './ed25519.js';

/** An Ed25519 public key as a JSON Web Key (RFC 8037). */
export type Ed25519PublicJwk = {
  kty: 'OKP';
  crv: 'Ed25519';
  x: string;
  kid: string;
  alg: 'EdDSA';
  use: 'sig';
};

const ED25519_PUB_MULTICODEC = Uint8Array.of(0xed, 0x01);

function assertPublicKey(publicKey: Uint8Array): void {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== ED25519_KEY_LENGTH) {
    throw new TypeError(`Ed25519 public key must be ${ED25519_KEY_LENGTH} bytes`);
  }
}

/** The public JWK for a raw 32-byte Ed25519 public key. */
export function publicKeyToJwk(publicKey: Uint8Array, kid: string): Ed25519PublicJwk {
  assertPublicKey(publicKey);
  if (typeof kid !== 'string' || kid.length === 0) throw new TypeError('kid must be a non-empty string');
  return { kty: 'OKP', crv: 'Ed25519', x: toBase64Url(publicKey), kid, alg: 'EdDSA', use: 'sig' };
}

/**
 * The raw 32-byte public key of an Ed25519 public JWK.
 * @throws Error if the value is not an OKP/Ed25519 public JWK with a 32-byte `x`
 *   (a private `d` member, a foreign `alg` or a non-`sig` `use` are rejected too).
 */
export function jwkToPublicKey(jwk: unknown): Uint8Array {
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) throw new Error('JWK must be an object');
  const members = jwk as Record<string, unknown>;
  if (members.kty !== 'OKP') throw new Error('JWK kty must be "OKP"');
  if (members.crv !== 'Ed25519') throw new Error('JWK crv must be "Ed25519"');
  if ('d' in members) throw new Error('JWK contains a private key (d); expected a public JWK');
  if (members.alg !== undefined && members.alg !== 'EdDSA' && members.alg !== 'Ed25519') {
    throw new Error('JWK alg must be "EdDSA" or "Ed25519"');
  }
  if (members.use !== undefined && members.use !== 'sig') throw new Error('JWK use must be "sig"');
  if (members.kid !== undefined && typeof members.kid !== 'string') throw new Error('JWK kid must be a string');
  if (typeof members.x !== 'string') throw new Error('JWK x must be a string');
  const publicKey = fromBase64Url(members.x);
  if (publicKey.length !== ED25519_KEY_LENGTH) throw new Error(`JWK x must encode ${ED25519_KEY_LENGTH} bytes`);
  return publicKey;
}

/** Multikey `publicKeyMultibase`: `z` + base58btc(0xed 0x01 || publicKey). */
export function publicKeyMultibase(publicKey: Uint8Array): string {
  assertPublicKey(publicKey);
  const bytes = new Uint8Array(ED25519_PUB_MULTICODEC.length + publicKey.length);
  bytes.set(ED25519_PUB_MULTICODEC);
  bytes.set(publicKey, ED25519_PUB_MULTICODEC.length);
  return `z${base58.encode(bytes)}`;
}

/**
 * The raw public key of a Multikey `publicKeyMultibase` value.
 * @throws Error unless it is `z` + base58btc of 0xed 0x01 followed by 32 bytes.
 */
export function multibaseToPublicKey(multibase: string): Uint8Array {
  if (typeof multibase !== 'string' || !multibase.startsWith('z')) {
    throw new Error('publicKeyMultibase must be a base58btc multibase string (z...)');
  }
  let bytes: Uint8Array;
  try {
    bytes = base58.decode(multibase.slice(1));
  } catch (err) {
    throw new Error(`publicKeyMultibase is not valid base58btc: ${(err as Error).message}`);
  }
  if (bytes.length !== ED25519_PUB_MULTICODEC.length + ED25519_KEY_LENGTH ||
    bytes[0] !== ED25519_PUB_MULTICODEC[0] || bytes[1] !== ED25519_PUB_MULTICODEC[1]) {
    throw new Error('publicKeyMultibase is not an Ed25519 Multikey (0xed01 + 32 bytes)');
  }
  return bytes.slice(ED25519_PUB_MULTICODEC.length);
}
