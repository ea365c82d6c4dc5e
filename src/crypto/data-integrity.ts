import { base58 } from '@scure/base';
import { ED25519_KEY_LENGTH, ED25519_SIGNATURE_LENGTH, sign, verify } from './ed25519.js';
import { canonicalBytes, canonicalJson, sha256 } from './jcs.js';

/** Data Integrity proof `type` used by every cryptosuite in this module. */
export const DATA_INTEGRITY_PROOF = 'DataIntegrityProof';
/** The W3C vc-di-eddsa JCS cryptosuite identifier. */
export const EDDSA_JCS_2022 = 'eddsa-jcs-2022';

/** A JSON object (the document to secure). */
export type JsonObject = { [key: string]: unknown };

/** Proof options before signing: the proof without `proofValue`. */
export interface ProofConfig {
  type: typeof DATA_INTEGRITY_PROOF;
  cryptosuite: typeof EDDSA_JCS_2022;
  created?: string;
  verificationMethod: string;
  proofPurpose: string;
  '@context'?: unknown;
  [key: string]: unknown;
}

/** Input to {@link createProofConfig}: proof options whose `type` and `cryptosuite` default to this suite. */
export interface ProofConfigOptions {
  type?: string;
  cryptosuite?: string;
  created?: string;
  verificationMethod: string;
  proofPurpose: string;
  [key: string]: unknown;
}

/** An `eddsa-jcs-2022` Data Integrity proof. */
export interface DataIntegrityProof extends ProofConfig {
  proofValue: string;
}

/** Options for {@link createProof}. */
export interface CreateProofOptions {
  /** 32-byte Ed25519 private key seed. */
  privateKey: Uint8Array;
  /** URL of the verification method (for example `did:key:z6Mk...#z6Mk...`). */
  verificationMethod: string;
  /** XML Schema dateTimeStamp or a Date; defaults to now, to the second. */
  created?: string | Date;
  proofPurpose?: string;
}

/** Options for {@link verifyProof}. */
export interface VerifyProofOptions {
  /** When set, a proof with a different `proofPurpose` is rejected. */
  expectedProofPurpose?: string;
}

/** Outcome of {@link verifyProof}; `reasons` is empty exactly when `verified` is true. */
export interface VerifyProofResult {
  verified: boolean;
  reasons: string[];
}

/** Maps a proof's `verificationMethod` to a raw 32-byte Ed25519 public key, or undefined if unknown. */
export type PublicKeyResolver = (verificationMethod: string) => Uint8Array | undefined;

const DATE_TIME_STAMP = /^-?\d{4,}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isDateTimeStamp(value: unknown): value is string {
  return typeof value === 'string' && DATE_TIME_STAMP.test(value) && !Number.isNaN(Date.parse(value));
}

function formatCreated(created: string | Date | undefined): string {
  if (created === undefined || created instanceof Date) {
    const date = created ?? new Date();
    if (Number.isNaN(date.getTime())) throw new Error('created is an invalid Date');
    return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
  }
  if (!isDateTimeStamp(created)) throw new Error(`created is not an XML Schema dateTimeStamp: ${created}`);
  return created;
}

function withoutProof(document: JsonObject): JsonObject {
  const { proof: _proof, ...rest } = document;
  return rest;
}

/**
 * The proof configuration for `unsecuredDocument` (vc-di-eddsa §3.3.5): the proof options
 * with `@context` set to the document's `@context` when the document has one.
 */
export function createProofConfig(unsecuredDocument: JsonObject, options: ProofConfigOptions): ProofConfig {
  const type = options.type ?? DATA_INTEGRITY_PROOF;
  const cryptosuite = options.cryptosuite ?? EDDSA_JCS_2022;
  if (type !== DATA_INTEGRITY_PROOF) throw new Error(`proof type must be ${DATA_INTEGRITY_PROOF}`);
  if (cryptosuite !== EDDSA_JCS_2022) throw new Error(`cryptosuite must be ${EDDSA_JCS_2022}`);
  if (options.created !== undefined && !isDateTimeStamp(options.created)) {
    throw new Error('proof created is not an XML Schema dateTimeStamp');
  }
  const config: ProofConfig = { ...options, type, cryptosuite };
  if ('@context' in unsecuredDocument) config['@context'] = unsecuredDocument['@context'];
  return config;
}

/**
 * hashData (vc-di-eddsa §3.3.4): SHA-256(JCS(proofConfig)) || SHA-256(JCS(unsecuredDocument)), 64 bytes.
 */
export function proofHashData(unsecuredDocument: JsonObject, proofConfig: ProofConfig): Uint8Array {
  const hashData = new Uint8Array(64);
  hashData.set(sha256(canonicalBytes(proofConfig)), 0);
  hashData.set(sha256(canonicalBytes(unsecuredDocument)), 32);
  return hashData;
}

/**
 * Secures `unsecuredDocument` with an `eddsa-jcs-2022` Data Integrity proof and returns a new
 * document with `proof` added; the input is not modified.
 * @throws Error if the document already carries a proof, or on an invalid key, date or purpose.
 */
export function createProof<T extends JsonObject>(
  unsecuredDocument: T,
  options: CreateProofOptions,
): T & { proof: DataIntegrityProof } {
  if (!isJsonObject(unsecuredDocument)) throw new TypeError('document must be a JSON object');
  if ('proof' in unsecuredDocument) throw new Error('document already has a proof');
  const { privateKey, verificationMethod, proofPurpose = 'assertionMethod' } = options;
  if (typeof verificationMethod !== 'string' || verificationMethod.length === 0) {
    throw new TypeError('verificationMethod must be a non-empty string');
  }
  if (typeof proofPurpose !== 'string' || proofPurpose.length === 0) {
    throw new TypeError('proofPurpose must be a non-empty string');
  }
  const config = createProofConfig(unsecuredDocument, {
    created: formatCreated(options.created),
    verificationMethod,
    proofPurpose,
  });
  const signature = sign(proofHashData(unsecuredDocument, config), privateKey);
  return { ...unsecuredDocument, proof: { ...config, proofValue: `z${base58.encode(signature)}` } };
}

function contextItems(context: unknown): unknown[] {
  return Array.isArray(context) ? context : [context];
}

function sameJson(a: unknown, b: unknown): boolean {
  try {
    return canonicalJson(a) === canonicalJson(b);
  } catch {
    return false;
  }
}

function contextStartsWith(documentContext: unknown, proofContext: unknown): boolean {
  const doc = contextItems(documentContext);
  const proof = contextItems(proofContext);
  return proof.length <= doc.length && proof.every((item, i) => sameJson(item, doc[i]));
}

function decodeProofValue(proofValue: unknown, reasons: string[]): Uint8Array | undefined {
  if (typeof proofValue !== 'string') {
    reasons.push('proof.proofValue is missing or not a string');
    return undefined;
  }
  if (!proofValue.startsWith('z')) {
    reasons.push('proof.proofValue is not a base58btc multibase value (must start with "z")');
    return undefined;
  }
  let bytes: Uint8Array;
  try {
    bytes = base58.decode(proofValue.slice(1));
  } catch {
    reasons.push('proof.proofValue is not valid base58btc');
    return undefined;
  }
  if (bytes.length !== ED25519_SIGNATURE_LENGTH) {
    reasons.push(`proof.proofValue decodes to ${bytes.length} bytes, expected ${ED25519_SIGNATURE_LENGTH}`);
    return undefined;
  }
  return bytes;
}

/**
 * Verifies the `eddsa-jcs-2022` proof on `securedDocument` (vc-di-eddsa §3.3.2). Never throws:
 * malformed documents, proofs, resolver failures and bad signatures all yield `verified: false`
 * with a reason per problem found.
 */
export function verifyProof(
  securedDocument: unknown,
  resolvePublicKey: PublicKeyResolver,
  options: VerifyProofOptions = {},
): VerifyProofResult {
  const reasons: string[] = [];
  const fail = (): VerifyProofResult => ({ verified: false, reasons });

  if (!isJsonObject(securedDocument)) {
    reasons.push('document is not a JSON object');
    return fail();
  }
  const proof = securedDocument.proof;
  if (proof === undefined) {
    reasons.push('document has no proof');
    return fail();
  }
  if (Array.isArray(proof)) {
    reasons.push('proof sets (an array of proofs) are not supported');
    return fail();
  }
  if (!isJsonObject(proof)) {
    reasons.push('proof is not a JSON object');
    return fail();
  }

  const { proofValue, ...proofOptions } = proof;
  if (proofOptions.type !== DATA_INTEGRITY_PROOF) reasons.push(`proof.type is not ${DATA_INTEGRITY_PROOF}`);
  if (proofOptions.cryptosuite !== EDDSA_JCS_2022) {
    reasons.push(`unsupported cryptosuite: ${String(proofOptions.cryptosuite)} (expected ${EDDSA_JCS_2022})`);
  }
  const verificationMethod = proofOptions.verificationMethod;
  if (typeof verificationMethod !== 'string' || verificationMethod.length === 0) {
    reasons.push('proof.verificationMethod is missing or not a string');
  }
  if (typeof proofOptions.proofPurpose !== 'string') {
    reasons.push('proof.proofPurpose is missing or not a string');
  } else if (options.expectedProofPurpose !== undefined && proofOptions.proofPurpose !== options.expectedProofPurpose) {
    reasons.push(`proof.proofPurpose is ${proofOptions.proofPurpose}, expected ${options.expectedProofPurpose}`);
  }
  if (proofOptions.created !== undefined && !isDateTimeStamp(proofOptions.created)) {
    reasons.push('proof.created is not an XML Schema dateTimeStamp');
  }
  const unsecuredDocument = withoutProof(securedDocument);
  if ('@context' in proofOptions) {
    if (!('@context' in unsecuredDocument) || !contextStartsWith(unsecuredDocument['@context'], proofOptions['@context'])) {
      reasons.push('document @context does not start with the proof @context');
    } else {
      unsecuredDocument['@context'] = proofOptions['@context'];
    }
  }
  const signature = decodeProofValue(proofValue, reasons);
  if (reasons.length > 0 || signature === undefined || typeof verificationMethod !== 'string') return fail();

  let publicKey: Uint8Array | undefined;
  try {
    publicKey = resolvePublicKey(verificationMethod);
  } catch (err) {
    reasons.push(`verification method ${verificationMethod} could not be resolved: ${(err as Error)?.message ?? String(err)}`);
    return fail();
  }
  if (publicKey === undefined) {
    reasons.push(`unknown verification method: ${verificationMethod}`);
    return fail();
  }
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== ED25519_KEY_LENGTH) {
    reasons.push(`verification method ${verificationMethod} did not resolve to a ${ED25519_KEY_LENGTH}-byte Ed25519 key`);
    return fail();
  }

  let hashData: Uint8Array;
  try {
    const config = createProofConfig(unsecuredDocument, proofOptions as ProofConfigOptions);
    hashData = proofHashData(unsecuredDocument, config);
  } catch (err) {
    reasons.push(`document cannot be canonicalised: ${(err as Error)?.message ?? String(err)}`);
    return fail();
  }
  if (!verify(signature, hashData, publicKey)) {
    reasons.push('signature does not verify');
    return fail();
  }
  return { verified: true, reasons };
}
