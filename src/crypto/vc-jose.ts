import { compactVerify, decodeProtectedHeader, importJWK, type JWK } from 'jose';
import { toBase64Url } from './ed25519.js';

/** Media type of a VC secured as a JWS (W3C VC-JOSE-COSE §3.1.1). */
export const VC_JWT_MEDIA_TYPE = 'application/vc+jwt';

/**
 * A credential secured with the enveloping proof of W3C VC-JOSE-COSE: a compact JWS (alg EdDSA, typ vc+jwt)
 * whose payload is the credential. The signature comes from `sign`, so the private key stays in the KeyStore
 * (a JOSE library would need the key itself); verification below uses `jose`.
 */
export async function signVcJwt(credential: object, kid: string, sign: (message: Uint8Array) => Promise<Uint8Array>): Promise<string> {
  const header = toBase64Url(Buffer.from(JSON.stringify({ alg: 'EdDSA', typ: 'vc+jwt', cty: 'vc', kid })));
  const payload = toBase64Url(Buffer.from(JSON.stringify(credential)));
  const signature = await sign(Buffer.from(`${header}.${payload}`, 'ascii'));
  return `${header}.${payload}.${toBase64Url(signature)}`;
}

/** `kid` of a compact JWS's protected header, or undefined when it is unreadable. */
export function jwsKid(jws: string): string | undefined {
  try {
    const kid = decodeProtectedHeader(jws).kid;
    return typeof kid === 'string' ? kid : undefined;
  } catch {
    return undefined;
  }
}

/** Verifies a vc+jwt against an Ed25519 JWK and answers its payload, or throws saying why. */
export async function verifyVcJwt(jws: string, jwk: JWK): Promise<Record<string, unknown>> {
  const key = await importJWK({ ...jwk, alg: 'EdDSA' }, 'EdDSA');
  const { payload, protectedHeader } = await compactVerify(jws, key, { algorithms: ['EdDSA', 'Ed25519'] });
  if (protectedHeader.typ !== 'vc+jwt') throw new Error(`JWS typ is ${String(protectedHeader.typ)}, expected vc+jwt`);
  const body: unknown = JSON.parse(Buffer.from(payload).toString('utf8'));
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new Error('JWS payload is not a JSON object');
  return body as Record<string, unknown>;
}
