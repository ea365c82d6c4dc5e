import { createHash, generateKeyPairSync, type KeyObject, randomBytes, sign } from 'node:crypto';
import { type CBORType, encodeCBOR } from '@levischuck/tiny-cbor';

/**
 * A software WebAuthn authenticator for tests: real key pairs (P-256 or Ed25519, node:crypto), a CBOR
 * attestation object with "none" attestation, authenticator data with the RP ID hash, flags and signature
 * counter, and client data with type, challenge and origin, so the server verifies real bytes. Every field
 * a browser or authenticator controls can be overridden to build the bad cases.
 */

const FLAG_UP = 0x01;
const FLAG_UV = 0x04;
const FLAG_BE = 0x08;
const FLAG_BS = 0x10;
const FLAG_AT = 0x40;

export type Algorithm = 'ES256' | 'EdDSA';

export type SoftCredential = { id: Buffer; privateKey: KeyObject; cose: Uint8Array; algorithm: Algorithm; counter: number; userHandle: Buffer; rpId: string };

/** What a test may bend in one ceremony. */
export type Overrides = {
  origin?: string;
  rpId?: string;
  type?: string;
  challenge?: string;
  up?: boolean;
  uv?: boolean;
  /** Use this counter value instead of advancing the credential's counter. */
  counter?: number;
  /** Answer with this credential (base64url id) instead of the first one the options allow. */
  credentialId?: string;
  /** Flip a byte of the signature. */
  badSignature?: boolean;
  /** Leave userHandle out of the assertion. */
  omitUserHandle?: boolean;
};

type RegistrationOptions = { challenge: string; rp: { id?: string }; user: { id: string }; excludeCredentials?: { id: string }[] };
type RequestOptions = { challenge: string; rpId?: string; allowCredentials?: { id: string }[] };

const b64url = (b: Uint8Array | string) => Buffer.from(b).toString('base64url');
const sha256 = (b: Uint8Array | string) => createHash('sha256').update(b).digest();

function coseKey(algorithm: Algorithm, publicKey: KeyObject): Uint8Array {
  const jwk = publicKey.export({ format: 'jwk' });
  const x = Buffer.from(jwk.x!, 'base64url');
  if (algorithm === 'EdDSA') return encodeCBOR(new Map<number, number | Uint8Array>([[1, 1], [3, -8], [-1, 6], [-2, x]]));
  const y = Buffer.from(jwk.y!, 'base64url');
  return encodeCBOR(new Map<number, number | Uint8Array>([[1, 2], [3, -7], [-1, 1], [-2, x], [-3, y]]));
}

export class SoftAuthenticator {
  readonly credentials: SoftCredential[] = [];

  constructor(
    readonly opts: {
      origin: string;
      rpId?: string;
      algorithm?: Algorithm;
      /** BE flag (a synced passkey) and BS flag (currently backed up). */
      backupEligible?: boolean;
      backedUp?: boolean;
      /** How much the counter moves per assertion: 0 for authenticators that never count (many synced passkeys). */
      counterStep?: number;
    },
  ) {}

  private flags(o: Overrides, extra = 0): number {
    let f = extra;
    if (o.up !== false) f |= FLAG_UP;
    if (o.uv !== false) f |= FLAG_UV;
    if (this.opts.backupEligible) f |= FLAG_BE;
    if (this.opts.backupEligible && this.opts.backedUp) f |= FLAG_BS;
    return f;
  }

  private clientData(type: string, challenge: string, o: Overrides): Buffer {
    return Buffer.from(JSON.stringify({ type: o.type ?? type, challenge: o.challenge ?? challenge, origin: o.origin ?? this.opts.origin, crossOrigin: false }));
  }

  private counterBytes(n: number): Buffer {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n >>> 0);
    return b;
  }

  /** Answers `navigator.credentials.create()` options: a new credential; returns the JSON a browser's `toJSON()` gives. */
  create(options: RegistrationOptions, o: Overrides = {}): Record<string, unknown> {
    const algorithm = this.opts.algorithm ?? 'ES256';
    const { privateKey, publicKey } = algorithm === 'EdDSA' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const rpId = o.rpId ?? options.rp.id ?? this.opts.rpId ?? 'localhost';
    const id = randomBytes(32);
    const cose = coseKey(algorithm, publicKey);
    const counter = o.counter ?? 0;
    const credIdLength = Buffer.alloc(2);
    credIdLength.writeUInt16BE(id.length);
    const authData = Buffer.concat([sha256(rpId), Buffer.from([this.flags(o, FLAG_AT)]), this.counterBytes(counter), Buffer.alloc(16), credIdLength, id, Buffer.from(cose)]);
    const attestationObject = encodeCBOR(new Map<string, CBORType>([['fmt', 'none'], ['attStmt', new Map<string, CBORType>()], ['authData', authData]]));
    this.credentials.push({ id, privateKey, cose, algorithm, counter, userHandle: Buffer.from(options.user.id, 'base64url'), rpId });
    return {
      id: b64url(id),
      rawId: b64url(id),
      type: 'public-key',
      response: { clientDataJSON: b64url(this.clientData('webauthn.create', options.challenge, o)), attestationObject: b64url(attestationObject), transports: ['internal', 'hybrid'] },
      clientExtensionResults: {},
      authenticatorAttachment: 'platform',
    };
  }

  /** Answers `navigator.credentials.get()` options with an assertion; returns the JSON a browser's `toJSON()` gives. */
  get(options: RequestOptions, o: Overrides = {}): Record<string, unknown> {
    const allowed = (options.allowCredentials ?? []).map((c) => c.id);
    const cred = o.credentialId
      ? this.credentials.find((c) => b64url(c.id) === o.credentialId)
      : allowed.length
        ? this.credentials.find((c) => allowed.includes(b64url(c.id)))
        : this.credentials[0];
    if (!cred) throw new Error('soft authenticator: no credential for these options');
    const rpId = o.rpId ?? options.rpId ?? cred.rpId;
    const counter = o.counter ?? (cred.counter += this.opts.counterStep ?? 1);
    const authData = Buffer.concat([sha256(rpId), Buffer.from([this.flags(o)]), this.counterBytes(counter)]);
    const clientDataJSON = this.clientData('webauthn.get', options.challenge, o);
    const data = Buffer.concat([authData, sha256(clientDataJSON)]);
    const signature = cred.algorithm === 'EdDSA' ? sign(null, data, cred.privateKey) : sign('sha256', data, cred.privateKey);
    if (o.badSignature) signature[signature.length - 1] ^= 0x01;
    return {
      id: b64url(cred.id),
      rawId: b64url(cred.id),
      type: 'public-key',
      response: {
        clientDataJSON: b64url(clientDataJSON),
        authenticatorData: b64url(authData),
        signature: b64url(signature),
        ...(o.omitUserHandle ? {} : { userHandle: b64url(cred.userHandle) }),
      },
      clientExtensionResults: {},
      authenticatorAttachment: 'platform',
    };
  }
}
