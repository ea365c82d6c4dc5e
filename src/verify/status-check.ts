import { verifyProof } from '../crypto/data-integrity.js';
import { jwsKid, verifyVcJwt } from '../crypto/vc-jose.js';
import { decodeList, getBit, STATUS_LIST_SIZE } from '../modules/status-lists/bitstring.js';
import { type Jwks, keysOf } from './offline-verifier.js';

export type StatusVerdict = { state: 'VALID' | 'REVOKED' | 'SUSPENDED' | 'INVALID'; reasons: string[] };
/** Gives the status list credential named by an entry: a parsed JSON credential, or a vc+jwt as text. */
export type StatusSource = (url: string) => Promise<unknown>;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
export const JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** The verification method's key from a JWKS (`…#<kid>`), or undefined. */
function jwkFor(jwks: Jwks, vm: string): Obj | undefined {
  return (Array.isArray(jwks?.keys) ? jwks.keys : []).find((k): k is Obj => isObj(k) && typeof k.kid === 'string' && vm.endsWith(`#${k.kid}`));
}

/**
 * A credential in any form we issue (an embedded eddsa-jcs-2022 proof, an EnvelopedVerifiableCredential,
 * or a bare vc+jwt), verified against published keys: its content and the method that signed it, or a reason.
 */
export async function verifyAnyForm(doc: unknown, jwks: Jwks): Promise<{ credential: Obj; vm: string } | string> {
  if (isObj(doc) && typeof doc.id === 'string' && doc.id.startsWith('data:application/vc+jwt,')) doc = doc.id.slice('data:application/vc+jwt,'.length);
  if (typeof doc === 'string' && JWS.test(doc.trim())) {
    const vm = jwsKid(doc.trim());
    const jwk = vm ? jwkFor(jwks, vm) : undefined;
    if (!vm || !jwk) return 'the JWS is signed by a key that is not published';
    try {
      return { credential: await verifyVcJwt(doc.trim(), jwk), vm };
    } catch (e) {
      return `the JWS does not verify: ${(e as Error).message}`;
    }
  }
  if (!isObj(doc)) return 'neither a JSON credential nor a vc+jwt';
  const { keys } = keysOf(jwks);
  const result = verifyProof(doc, (vm) => keys.find((k) => vm.endsWith(`#${k.kid}`))?.publicKey);
  if (!result.verified) return `the proof does not verify: ${result.reasons.join('; ')}`;
  return { credential: doc, vm: String((doc.proof as Obj).verificationMethod) };
}

/** A credential's issuer id (a string, or an object with an id as UNTP's CredentialIssuer). */
export function issuerOf(credential: Obj): unknown {
  return isObj(credential.issuer) ? credential.issuer.id : credential.issuer;
}

/**
 * Checks a verified credential's `credentialStatus` entries (W3C Bitstring Status List v1.0 §3.2): each
 * list must verify with a published key of the credential's own issuer, be the list the entry names and be
 * in its validity period; a set bit answers REVOKED (or SUSPENDED). A credential without entries is VALID.
 */
export async function checkStatus(credential: Obj, load: StatusSource, jwks: Jwks, now = new Date()): Promise<StatusVerdict> {
  const raw = credential.credentialStatus;
  const entries = (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]).filter(isObj);
  const issuer = issuerOf(credential);
  const reasons: string[] = [];
  let state = 'VALID' as StatusVerdict['state'];
  for (const entry of entries) {
    if (entry.type !== 'BitstringStatusListEntry') continue;
    const url = entry.statusListCredential;
    const index = Number(entry.statusListIndex);
    if (typeof url !== 'string' || !Number.isSafeInteger(index) || index < 0) return { state: 'INVALID', reasons: ['a credentialStatus entry is malformed'] };
    let list: Awaited<ReturnType<typeof verifyAnyForm>>;
    try {
      list = await verifyAnyForm(await load(url), jwks);
    } catch (e) {
      return { state: 'INVALID', reasons: [`status list ${url} could not be read: ${(e as Error).message}`] };
    }
    if (typeof list === 'string') return { state: 'INVALID', reasons: [`status list ${url}: ${list}`] };
    const { credential: sl, vm } = list;
    const subject = isObj(sl.credentialSubject) ? sl.credentialSubject : {};
    const types = Array.isArray(sl.type) ? sl.type : [sl.type];
    const problems = [
      !types.includes('BitstringStatusListCredential') && 'the status list is not a BitstringStatusListCredential',
      sl.id !== url && `the status list is ${String(sl.id)}, not the ${url} the credential names`,
      (typeof issuer !== 'string' || !vm.startsWith(`${issuer}#`)) && 'the status list is not signed by the credential\'s issuer',
      subject.statusPurpose !== entry.statusPurpose && 'the status list has another purpose than the entry',
      typeof sl.validFrom === 'string' && Date.parse(sl.validFrom) > now.getTime() && 'the status list is not valid yet',
      typeof sl.validUntil === 'string' && Date.parse(sl.validUntil) < now.getTime() && 'the status list has expired',
    ].filter((p): p is string => typeof p === 'string');
    if (problems.length) return { state: 'INVALID', reasons: problems };
    let bits: Uint8Array;
    try {
      bits = decodeList(String(subject.encodedList));
    } catch (e) {
      return { state: 'INVALID', reasons: [`the status list's encodedList is unreadable: ${(e as Error).message}`] };
    }
    if (bits.length * 8 < STATUS_LIST_SIZE || index >= bits.length * 8) return { state: 'INVALID', reasons: ['the status list is shorter than the standard minimum or the entry'] };
    if (getBit(bits, index)) {
      state = entry.statusPurpose === 'suspension' && state !== 'REVOKED' ? 'SUSPENDED' : 'REVOKED';
      reasons.push(`${entry.statusPurpose} bit ${index} is set in ${url}`);
    } else reasons.push(`${entry.statusPurpose} bit ${index} is clear in ${url} (list valid from ${String(sl.validFrom)})`);
  }
  if (!entries.length) reasons.push('the credential carries no status entry');
  return { state, reasons };
}
