import { readFileSync, readdirSync } from 'node:fs';
import { createPublicKey } from 'node:crypto';
import path from 'node:path';
import { describe, it, expect } from 'vitest';
import canonicalize from 'canonicalize';
import * as ed from '@noble/ed25519';
import { sha512 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { base58 } from '@scure/base';
import {
  canonicalBytes,
  canonicalJson,
  canonicalTemplate,
  createProof,
  createProofConfig,
  fromBase64Url,
  generateKeyPair,
  getPublicKey,
  jwkToPublicKey,
  multibaseToPublicKey,
  proofHashData,
  publicKeyMultibase,
  publicKeyToJwk,
  sha256,
  sha256Hex,
  sign,
  toBase64Url,
  verify,
  verifyProof,
  type JsonObject,
} from '../../src/crypto/index.js';
import { describeVectors, vectorsDir } from './vectors.js';

ed.hashes.sha512 = sha512;

const utf8 = new TextEncoder();

function vectorText(...parts: string[]): string {
  if (!vectorsDir) throw new Error('shared vectors folder is absent');
  return readFileSync(path.join(vectorsDir, ...parts), 'utf8');
}

function vectorJson<T>(...parts: string[]): T {
  return JSON.parse(vectorText(...parts)) as T;
}

function nobleStrictVerify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  try {
    return ed.verify(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}

function nobleZip215Verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  try {
    return ed.verify(signature, message, publicKey);
  } catch {
    return false;
  }
}

function flipBit(bytes: Uint8Array, index: number): Uint8Array {
  const copy = Uint8Array.from(bytes);
  copy[index >> 3] ^= 1 << (index & 7);
  return copy;
}

const ED25519_L = 2n ** 252n + 27742317777372353535851937790883648493n;

function addLToS(signature: Uint8Array): Uint8Array {
  let s = 0n;
  for (let i = 63; i >= 32; i--) s = (s << 8n) | BigInt(signature[i]!);
  s += ED25519_L;
  const out = Uint8Array.from(signature);
  for (let i = 32; i < 64; i++) {
    out[i] = Number(s & 0xffn);
    s >>= 8n;
  }
  return out;
}

function didKeyResolver(verificationMethod: string): Uint8Array | undefined {
  const match = /^did:key:(z[1-9A-HJ-NP-Za-km-z]+)#(z[1-9A-HJ-NP-Za-km-z]+)$/.exec(verificationMethod);
  if (!match || match[1] !== match[2]) return undefined;
  try {
    return multibaseToPublicKey(match[1]!);
  } catch {
    return undefined;
  }
}

function didKeyFor(publicKey: Uint8Array): string {
  const multibase = publicKeyMultibase(publicKey);
  return `did:key:${multibase}#${multibase}`;
}

describe('jcs', () => {
  it('sorts keys by UTF-16 code unit and drops insignificant whitespace', () => {
    expect(canonicalJson({ b: 1, a: [true, null, 'x'], '\u00e9': 0, A: { d: 1e21, c: -0 } })).toBe(
      '{"A":{"c":0,"d":1e+21},"a":[true,null,"x"],"b":1,"é":0}',
    );
  });

  it('encodes canonical bytes as UTF-8', () => {
    expect(Array.from(canonicalBytes({ k: 'é€' }))).toEqual(Array.from(utf8.encode('{"k":"é€"}')));
  });

  it('throws clearly on values without a JSON form', () => {
    expect(() => canonicalJson(undefined)).toThrow(/no JSON representation/);
    expect(() => canonicalJson(() => 1)).toThrow(/no JSON representation/);
    expect(() => canonicalJson({ n: Number.NaN })).toThrow();
    expect(() => canonicalJson({ s: '\ud800' })).toThrow();
  });

  it('writes flat objects (the hot-path shortcut) exactly as the JCS library does', () => {
    const keys = ['a', 'B', 'é', '€', '😀', '\ufb33', 'aa', '', 'z\u0000', '1', '10', '2', '\u2028'];
    const values = ['x', '', 'line\nbreak "quoted" \\ tab\t', 'ünïcødé 😀', '\u007f\u0080\u2029', 0, -0, 42, -9007199254740991, true, false, null];
    for (let n = 0; n < 200; n++) {
      const o: Record<string, unknown> = {};
      for (let i = 0; i < 1 + (n % 9); i++) o[keys[(n * 7 + i * 3) % keys.length]!] = values[(n * 5 + i) % values.length];
      expect(canonicalJson(o)).toBe(canonicalize(o));
    }
    // Outside the shortcut (non-integers, nesting, arrays) the library answers.
    expect(canonicalJson({ b: 1.5, a: { y: [2, 1] } })).toBe('{"a":{"y":[2,1]},"b":1.5}');
  });

  it('fills a template with one open member exactly as canonicalJson writes the whole object', () => {
    const bases: Record<string, unknown>[] = [
      { batchId: 'b', gtin: '00614141000012', lot: null, site: 'Köln "A"', carrier: 'QR' },
      { kid: 'k1', algorithm: 'Ed25519' },
      {},
      { a: { nested: [1, 2.5] }, z: '\u0000dpp-template-0.5' },
    ];
    const values = ['0123456789ABCDEF', '', 'ünïcødé 😀', 'line\nbreak "quoted" \\', '\u2028'];
    for (const base of bases) {
      for (const key of ['serial', 'signature', 'a', 'z', '']) {
        const fill = canonicalTemplate(base, key);
        for (const value of values) expect(fill(value)).toBe(canonicalJson({ ...base, [key]: value }));
      }
    }
    // A lone surrogate has no RFC 8785 form: the template throws as canonicalJson does.
    expect(() => canonicalTemplate({ a: 1 }, 'b')('\ud800')).toThrow();
  });

  it('hashes with SHA-256 (FIPS 180-2 "abc")', () => {
    const expected = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
    expect(sha256Hex('abc')).toBe(expected);
    expect(sha256Hex(utf8.encode('abc'))).toBe(expected);
    expect(bytesToHex(sha256(utf8.encode('abc')))).toBe(expected);
  });
});

describeVectors('RFC 8785 vectors (cyberphone testdata)', () => {
  const names = ['arrays', 'french', 'structures', 'unicode', 'values', 'weird'];

  it('covers every input file', () => {
    expect(readdirSync(path.join(vectorsDir!, 'jcs', 'input')).sort()).toEqual(names.map((n) => `${n}.json`));
  });

  it.each(names)('%s.json canonicalises to the expected output bytes', (name) => {
    const input = JSON.parse(vectorText('jcs', 'input', `${name}.json`)) as unknown;
    const expected = vectorText('jcs', 'output', `${name}.json`);
    expect(expected.endsWith('\n')).toBe(false);
    expect(canonicalJson(input)).toBe(expected);
  });
});

describe('ed25519', () => {
  const rfc8032Test1 = {
    secret: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    public: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    signature:
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  };

  it('matches RFC 8032 test 1 (empty message)', () => {
    const seed = hexToBytes(rfc8032Test1.secret);
    expect(bytesToHex(getPublicKey(seed))).toBe(rfc8032Test1.public);
    const signature = sign(new Uint8Array(0), seed);
    expect(bytesToHex(signature)).toBe(rfc8032Test1.signature);
    expect(verify(signature, new Uint8Array(0), hexToBytes(rfc8032Test1.public))).toBe(true);
  });

  it('generates 32-byte keys whose public half matches noble', () => {
    const { publicKey, privateKey } = generateKeyPair();
    expect(publicKey).toBeInstanceOf(Uint8Array);
    expect(privateKey.length).toBe(32);
    expect(publicKey.length).toBe(32);
    expect(bytesToHex(publicKey)).toBe(bytesToHex(ed.getPublicKey(privateKey)));
  });

  it('round-trips sign/verify and signs identically to noble', () => {
    for (let i = 0; i < 10; i++) {
      const { publicKey, privateKey } = generateKeyPair();
      const message = utf8.encode(`passport ${i}`);
      const signature = sign(message, privateKey);
      expect(signature.length).toBe(64);
      expect(bytesToHex(signature)).toBe(bytesToHex(ed.sign(message, privateKey)));
      expect(verify(signature, message, publicKey)).toBe(true);
      expect(nobleStrictVerify(signature, message, publicKey)).toBe(true);
    }
  });

  it('rejects any single flipped bit in signature, message or key', () => {
    const { publicKey, privateKey } = generateKeyPair();
    const message = utf8.encode('tamper-evident');
    const signature = sign(message, privateKey);
    for (const bit of [0, 7, 100, 255, 256, 300, 511]) {
      expect(verify(flipBit(signature, bit), message, publicKey)).toBe(false);
    }
    for (const bit of [0, 13, 111]) expect(verify(signature, flipBit(message, bit), publicKey)).toBe(false);
    for (const bit of [0, 128, 254, 255]) expect(verify(signature, message, flipBit(publicKey, bit))).toBe(false);
  });

  it('returns false, without throwing, for wrong lengths and non-byte input', () => {
    const { publicKey, privateKey } = generateKeyPair();
    const message = utf8.encode('m');
    const signature = sign(message, privateKey);
    for (const length of [0, 31, 33, 64]) {
      const resized = new Uint8Array(length);
      resized.set(publicKey.subarray(0, Math.min(length, 32)));
      expect(verify(signature, message, resized)).toBe(false);
    }
    expect(verify(signature, message, Uint8Array.of(...publicKey, ...publicKey))).toBe(false);
    for (const length of [0, 32, 63, 65, 96]) {
      const resized = new Uint8Array(length);
      resized.set(signature.subarray(0, Math.min(length, 64)));
      expect(verify(resized, message, publicKey)).toBe(false);
    }
    expect(verify('sig' as unknown as Uint8Array, message, publicKey)).toBe(false);
    expect(verify(signature, 'm' as unknown as Uint8Array, publicKey)).toBe(false);
    expect(verify(signature, message, null as unknown as Uint8Array)).toBe(false);
  });

  it('rejects malleated signatures (S + L) like noble strict mode', () => {
    for (let i = 0; i < 5; i++) {
      const { publicKey, privateKey } = generateKeyPair();
      const message = utf8.encode(`malleable ${i}`);
      const malleated = addLToS(sign(message, privateKey));
      expect(verify(malleated, message, publicKey)).toBe(false);
      expect(nobleStrictVerify(malleated, message, publicKey)).toBe(false);
    }
  });

  it('agrees with noble strict mode on small-order and non-canonical point encodings', () => {
    const encodings = [
      '0100000000000000000000000000000000000000000000000000000000000000',
      'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
      '0000000000000000000000000000000000000000000000000000000000000000',
      '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
      'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
      'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
      'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
    ].flatMap((hex) => {
      const plain = hexToBytes(hex);
      return [plain, flipBit(plain, 255)];
    });
    let cases = 0;
    for (const publicKey of encodings) {
      for (const r of encodings) {
        for (const s of [new Uint8Array(32), Uint8Array.of(1, ...new Uint8Array(31))]) {
          const signature = new Uint8Array(64);
          signature.set(r);
          signature.set(s, 32);
          for (const message of [new Uint8Array(0), utf8.encode('abc')]) {
            cases++;
            expect(verify(signature, message, publicKey)).toBe(false);
            expect(nobleStrictVerify(signature, message, publicKey)).toBe(false);
          }
        }
      }
    }
    expect(cases).toBe(784);
  });

  it('throws when signing with a key that is not a 32-byte seed', () => {
    expect(() => sign(utf8.encode('m'), new Uint8Array(31))).toThrow(TypeError);
    expect(() => sign(utf8.encode('m'), new Uint8Array(64))).toThrow(TypeError);
  });
});

describeVectors('Wycheproof ed25519_test.json', () => {
  interface WycheproofTest {
    tcId: number;
    comment: string;
    msg: string;
    sig: string;
    result: 'valid' | 'invalid' | 'acceptable';
    flags: string[];
  }
  interface WycheproofFile {
    numberOfTests: number;
    testGroups: { publicKey: { pk: string }; tests: WycheproofTest[] }[];
  }

  function cases(): { pk: Uint8Array; test: WycheproofTest }[] {
    const file = vectorJson<WycheproofFile>('wycheproof', 'ed25519_test.json');
    const all = file.testGroups.flatMap((group) =>
      group.tests.map((test) => ({ pk: hexToBytes(group.publicKey.pk), test })),
    );
    expect(file.numberOfTests).toBe(151);
    expect(all.length).toBe(151);
    return all;
  }

  it('verify() returns true exactly for the 151 cases marked valid', () => {
    const all = cases();
    expect(all.filter(({ test }) => test.result === 'acceptable')).toEqual([]);
    expect(all.filter(({ test }) => test.result === 'valid').length).toBe(88);
    const mismatches = all
      .filter(({ pk, test }) => verify(hexToBytes(test.sig), hexToBytes(test.msg), pk) !== (test.result === 'valid'))
      .map(({ test }) => `${test.tcId}: ${test.comment}`);
    expect(mismatches).toEqual([]);
  });

  it('agrees with @noble/ed25519 strict mode (zip215: false) on all 151 cases', () => {
    const disagreements = cases()
      .filter(({ pk, test }) => {
        const sig = hexToBytes(test.sig);
        const msg = hexToBytes(test.msg);
        return verify(sig, msg, pk) !== nobleStrictVerify(sig, msg, pk);
      })
      .map(({ test }) => test.tcId);
    expect(disagreements).toEqual([]);
  });

  it('differs from noble default ZIP-215 mode only on case 151 (R = y=1 with sign bit)', () => {
    const zip215Accepts = cases()
      .filter(({ pk, test }) => test.result !== 'valid' && nobleZip215Verify(hexToBytes(test.sig), hexToBytes(test.msg), pk))
      .map(({ test }) => test.tcId);
    expect(zip215Accepts).toEqual([151]);
  });
});

describe('base64url', () => {
  it('encodes RFC 4648 vectors without padding, URL-safe', () => {
    const vectors: [string, string][] = [
      ['', ''], ['f', 'Zg'], ['fo', 'Zm8'], ['foo', 'Zm9v'], ['foob', 'Zm9vYg'], ['fooba', 'Zm9vYmE'], ['foobar', 'Zm9vYmFy'],
    ];
    for (const [plain, encoded] of vectors) {
      expect(toBase64Url(utf8.encode(plain))).toBe(encoded);
      expect(new TextDecoder().decode(fromBase64Url(encoded))).toBe(plain);
    }
    expect(toBase64Url(Uint8Array.of(0xfb, 0xff))).toBe('-_8');
  });

  it('round-trips every length from 0 to 40', () => {
    for (let length = 0; length <= 40; length++) {
      const bytes = generateKeyPair().privateKey.subarray(0, Math.min(length, 32));
      const data = Uint8Array.from([...bytes, ...new Uint8Array(Math.max(0, length - 32)).fill(0xa5)]);
      expect(Array.from(fromBase64Url(toBase64Url(data)))).toEqual(Array.from(data));
    }
  });

  it.each(['Eqs=', 'Zg==', 'Eq+s', 'Eq/s', 'Eq s', ' Eqs', 'Eqs\n', 'E', 'Eqt', 'Zh', 'Zm9v!'])(
    'rejects %j',
    (text) => {
      expect(() => fromBase64Url(text)).toThrow(/invalid base64url/);
    },
  );

  it('rejects non-string input', () => {
    expect(() => fromBase64Url(42 as unknown as string)).toThrow(TypeError);
  });
});

describe('jwk and multikey', () => {
  it('round-trips a public key through a JWK that node:crypto agrees with', () => {
    const { publicKey } = generateKeyPair();
    const jwk = publicKeyToJwk(publicKey, 'key-1');
    expect(jwk).toEqual({ kty: 'OKP', crv: 'Ed25519', x: toBase64Url(publicKey), kid: 'key-1', alg: 'EdDSA', use: 'sig' });
    expect(jwk.x).toHaveLength(43);
    expect(bytesToHex(jwkToPublicKey(jwk))).toBe(bytesToHex(publicKey));
    expect(bytesToHex(jwkToPublicKey(JSON.parse(JSON.stringify(jwk))))).toBe(bytesToHex(publicKey));
    const nodeJwk = createPublicKey({ key: jwk, format: 'jwk' }).export({ format: 'jwk' });
    expect(nodeJwk.x).toBe(jwk.x);
  });

  it('accepts a minimal public JWK', () => {
    const { publicKey } = generateKeyPair();
    expect(bytesToHex(jwkToPublicKey({ kty: 'OKP', crv: 'Ed25519', x: toBase64Url(publicKey) }))).toBe(bytesToHex(publicKey));
  });

  it.each<[string, unknown]>([
    ['null', null],
    ['an array', []],
    ['a string', 'OKP'],
    ['kty EC', { kty: 'EC', crv: 'Ed25519', x: 'A'.repeat(43) }],
    ['crv X25519', { kty: 'OKP', crv: 'X25519', x: 'A'.repeat(43) }],
    ['missing x', { kty: 'OKP', crv: 'Ed25519' }],
    ['short x', { kty: 'OKP', crv: 'Ed25519', x: 'A'.repeat(42) }],
    ['padded x', { kty: 'OKP', crv: 'Ed25519', x: `${'A'.repeat(43)}=` }],
    ['x of 33 bytes', { kty: 'OKP', crv: 'Ed25519', x: toBase64Url(new Uint8Array(33)) }],
    ['private d', { kty: 'OKP', crv: 'Ed25519', x: 'A'.repeat(43), d: 'A'.repeat(43) }],
    ['alg ES256', { kty: 'OKP', crv: 'Ed25519', x: 'A'.repeat(43), alg: 'ES256' }],
    ['use enc', { kty: 'OKP', crv: 'Ed25519', x: 'A'.repeat(43), use: 'enc' }],
  ])('jwkToPublicKey rejects %s', (_label, jwk) => {
    expect(() => jwkToPublicKey(jwk)).toThrow();
  });

  it('refuses to build a JWK from a key that is not 32 bytes', () => {
    expect(() => publicKeyToJwk(new Uint8Array(31), 'k')).toThrow(TypeError);
  });

  it('round-trips a Multikey and rejects other encodings', () => {
    const { publicKey } = generateKeyPair();
    const multibase = publicKeyMultibase(publicKey);
    expect(multibase).toMatch(/^z6Mk/);
    expect(bytesToHex(multibaseToPublicKey(multibase))).toBe(bytesToHex(publicKey));
    expect(() => multibaseToPublicKey(multibase.slice(1))).toThrow();
    expect(() => multibaseToPublicKey(`z0${multibase.slice(2)}`)).toThrow(/base58btc/);
    expect(() => multibaseToPublicKey(`z${base58.encode(Uint8Array.of(0x80, 0x26, ...publicKey))}`)).toThrow(/0xed01/);
    expect(() => multibaseToPublicKey(`z${base58.encode(Uint8Array.of(0xed, 0x01, ...publicKey, 0))}`)).toThrow(/0xed01/);
    expect(() => multibaseToPublicKey('z')).toThrow();
  });
});

describe('data integrity eddsa-jcs-2022', () => {
  const document: JsonObject = {
    '@context': ['https://www.w3.org/ns/credentials/v2'],
    type: ['VerifiableCredential'],
    issuer: 'https://example.org/issuer',
    credentialSubject: { id: 'urn:epc:id:sgtin:0614141.812345.6789', weightKg: 1.5 },
  };

  it('secures a document that verifies, without mutating the input', () => {
    const { publicKey, privateKey } = generateKeyPair();
    const verificationMethod = didKeyFor(publicKey);
    const before = canonicalJson(document);
    const secured = createProof(document, { privateKey, verificationMethod });
    expect(canonicalJson(document)).toBe(before);
    expect(secured.proof).toMatchObject({
      type: 'DataIntegrityProof',
      cryptosuite: 'eddsa-jcs-2022',
      verificationMethod,
      proofPurpose: 'assertionMethod',
      '@context': document['@context'],
    });
    expect(secured.proof.created).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    expect(secured.proof.proofValue).toMatch(/^z[1-9A-HJ-NP-Za-km-z]+$/);
    expect(verifyProof(secured, didKeyResolver)).toEqual({ verified: true, reasons: [] });
    expect(verifyProof(JSON.parse(JSON.stringify(secured)), didKeyResolver).verified).toBe(true);
  });

  it('omits @context from the proof when the document has none', () => {
    const { publicKey, privateKey } = generateKeyPair();
    const { '@context': _context, ...plain } = document;
    const secured = createProof(plain, { privateKey, verificationMethod: didKeyFor(publicKey), created: new Date(0) });
    expect('@context' in secured.proof).toBe(false);
    expect(secured.proof.created).toBe('1970-01-01T00:00:00Z');
    expect(verifyProof(secured, didKeyResolver).verified).toBe(true);
  });

  it('checks the expected proof purpose when asked', () => {
    const { publicKey, privateKey } = generateKeyPair();
    const secured = createProof(document, { privateKey, verificationMethod: didKeyFor(publicKey), proofPurpose: 'authentication' });
    expect(verifyProof(secured, didKeyResolver, { expectedProofPurpose: 'authentication' }).verified).toBe(true);
    const result = verifyProof(secured, didKeyResolver, { expectedProofPurpose: 'assertionMethod' });
    expect(result.verified).toBe(false);
    expect(result.reasons.join()).toMatch(/proofPurpose/);
  });

  it('refuses to create proofs it cannot make correctly', () => {
    const { publicKey, privateKey } = generateKeyPair();
    const verificationMethod = didKeyFor(publicKey);
    const secured = createProof(document, { privateKey, verificationMethod });
    expect(() => createProof(secured, { privateKey, verificationMethod })).toThrow(/already has a proof/);
    expect(() => createProof(document, { privateKey, verificationMethod, created: '2023-02-24 23:36:38' })).toThrow(/dateTimeStamp/);
    expect(() => createProof(document, { privateKey, verificationMethod, created: '2023-02-24T23:36:38' })).toThrow(/dateTimeStamp/);
    expect(() => createProof(document, { privateKey: new Uint8Array(64), verificationMethod })).toThrow(TypeError);
    expect(() => createProof(document, { privateKey, verificationMethod: '' })).toThrow(TypeError);
  });

  it('reports bad input without throwing', () => {
    const { publicKey, privateKey } = generateKeyPair();
    const verificationMethod = didKeyFor(publicKey);
    const secured = createProof(document, { privateKey, verificationMethod });
    const withProof = (proof: unknown): unknown => ({ ...secured, proof });
    const table: [string, unknown, (verificationMethod: string) => Uint8Array | undefined, RegExp][] = [
      ['not an object', 'hello', didKeyResolver, /not a JSON object/],
      ['null', null, didKeyResolver, /not a JSON object/],
      ['missing proof', document, didKeyResolver, /no proof/],
      ['proof array', withProof([secured.proof]), didKeyResolver, /proof sets/],
      ['proof string', withProof('z123'), didKeyResolver, /proof is not a JSON object/],
      ['wrong type', withProof({ ...secured.proof, type: 'Ed25519Signature2020' }), didKeyResolver, /proof\.type/],
      ['wrong cryptosuite', withProof({ ...secured.proof, cryptosuite: 'eddsa-rdfc-2022' }), didKeyResolver, /unsupported cryptosuite: eddsa-rdfc-2022/],
      ['missing proofValue', withProof({ ...secured.proof, proofValue: undefined }), didKeyResolver, /proofValue is missing/],
      ['base64 multibase', withProof({ ...secured.proof, proofValue: `u${secured.proof.proofValue.slice(1)}` }), didKeyResolver, /must start with "z"/],
      ['non-base58 proofValue', withProof({ ...secured.proof, proofValue: 'z0OIl' }), didKeyResolver, /not valid base58btc/],
      ['short proofValue', withProof({ ...secured.proof, proofValue: 'z2g' }), didKeyResolver, /decodes to \d+ bytes/],
      ['bad created', withProof({ ...secured.proof, created: 'yesterday' }), didKeyResolver, /created/],
      ['missing verificationMethod', withProof({ ...secured.proof, verificationMethod: undefined }), didKeyResolver, /verificationMethod/],
      ['unknown verification method', secured, () => undefined, /unknown verification method/],
      ['throwing resolver', secured, () => { throw new Error('network down'); }, /could not be resolved: network down/],
      ['resolver returns 33 bytes', secured, () => new Uint8Array(33), /32-byte/],
      ['resolver returns another key', secured, () => generateKeyPair().publicKey, /signature does not verify/],
    ];
    for (const [label, input, resolver, reason] of table) {
      let result: ReturnType<typeof verifyProof> | undefined;
      expect(() => { result = verifyProof(input, resolver); }, label).not.toThrow();
      expect(result?.verified, label).toBe(false);
      expect(result?.reasons.join('; '), label).toMatch(reason);
    }
  });

  it('follows spec §3.3.2 step 4 for @context: an appended context still verifies, a changed prefix does not', () => {
    const { publicKey, privateKey } = generateKeyPair();
    const secured = createProof(document, { privateKey, verificationMethod: didKeyFor(publicKey) });
    const appended = { ...secured, '@context': [...(document['@context'] as string[]), 'https://example.org/extra/v1'] };
    expect(verifyProof(appended, didKeyResolver).verified).toBe(true);
    const replaced = { ...secured, '@context': ['https://example.org/other/v1'] };
    expect(verifyProof(replaced, didKeyResolver).reasons.join()).toMatch(/@context/);
    const { '@context': _context, ...dropped } = secured;
    expect(verifyProof(dropped, didKeyResolver).verified).toBe(false);
  });
});

describeVectors('W3C vc-di-eddsa eddsa-jcs-2022 worked example', () => {
  interface Vectors {
    keyPair: { publicKeyMultibase: string; privateKeyMultibase: string };
    signed: JsonObject & { proof: JsonObject & { proofValue: string; created: string; verificationMethod: string } };
    unsecured: JsonObject;
    proofConfig: JsonObject;
  }

  function load(): Vectors {
    const signed = vectorJson<Vectors['signed']>('vc-di-eddsa', 'signedJCS.json');
    const { proof: _proof, ...unsecured } = signed;
    return {
      keyPair: vectorJson('vc-di-eddsa', 'keyPair.json'),
      signed,
      unsecured,
      proofConfig: vectorJson('vc-di-eddsa', 'proofConfigJCS.json'),
    };
  }

  function secretSeed(privateKeyMultibase: string): Uint8Array {
    expect(privateKeyMultibase.startsWith('z')).toBe(true);
    const bytes = base58.decode(privateKeyMultibase.slice(1));
    expect(bytes.length).toBe(34);
    expect([bytes[0], bytes[1]]).toEqual([0x80, 0x26]);
    return bytes.slice(2);
  }

  const text = (name: string): string => vectorText('vc-di-eddsa', name);

  it('decodes the Multikey key pair (private key is 0x8026 + 32-byte seed)', () => {
    const { keyPair } = load();
    const seed = secretSeed(keyPair.privateKeyMultibase);
    expect(publicKeyMultibase(getPublicKey(seed))).toBe(keyPair.publicKeyMultibase);
    expect(bytesToHex(multibaseToPublicKey(keyPair.publicKeyMultibase))).toBe(bytesToHex(getPublicKey(seed)));
    expect(() => multibaseToPublicKey(keyPair.privateKeyMultibase)).toThrow(/0xed01/);
  });

  it('reproduces the canonical document, proof config and hashes', () => {
    const { unsecured, proofConfig, signed } = load();
    expect(canonicalJson(unsecured)).toBe(text('canonDocJCS.txt'));
    const config = createProofConfig(unsecured, {
      created: signed.proof.created,
      verificationMethod: signed.proof.verificationMethod,
      proofPurpose: 'assertionMethod',
    });
    expect(config).toEqual(proofConfig);
    expect(canonicalJson(config)).toBe(text('proofCanonJCS.txt'));
    expect(sha256Hex(canonicalJson(config))).toBe(text('proofHashJCS.txt').trim());
    expect(sha256Hex(text('canonDocJCS.txt'))).toBe(text('docHashJCS.txt').trim());
    expect(bytesToHex(proofHashData(unsecured, config))).toBe(text('combinedHashJCS.txt').trim());
  });

  it('reproduces the signature and the signed credential exactly', () => {
    const { keyPair, unsecured, signed } = load();
    const secured = createProof(unsecured, {
      privateKey: secretSeed(keyPair.privateKeyMultibase),
      verificationMethod: signed.proof.verificationMethod,
      created: signed.proof.created,
    });
    expect(secured.proof.proofValue).toBe(text('sigBTC58JCS.txt').trim());
    expect(secured.proof.proofValue).toBe(signed.proof.proofValue);
    expect(bytesToHex(base58.decode(secured.proof.proofValue.slice(1)))).toBe(text('sigHexJCS.txt').trim());
    expect(secured).toEqual(signed);
    expect(canonicalJson(secured)).toBe(canonicalJson(signed));
  });

  it('verifies the published signed credential', () => {
    const { signed } = load();
    expect(verifyProof(signed, didKeyResolver)).toEqual({ verified: true, reasons: [] });
  });

  const otherKey = didKeyFor(generateKeyPair().publicKey);
  const tampering: [string, (doc: Vectors['signed']) => void, RegExp][] = [
    ['credentialSubject value', (d) => { (d.credentialSubject as JsonObject).alumniOf = 'The School of Forgery'; }, /signature does not verify/],
    ['issuer', (d) => { d.issuer = 'https://vc.example/issuers/5679'; }, /signature does not verify/],
    ['validFrom date', (d) => { d.validFrom = '2023-01-02T00:00:00Z'; }, /signature does not verify/],
    ['proof created', (d) => { d.proof.created = '2023-02-24T23:36:39Z'; }, /signature does not verify/],
    ['proof verificationMethod (another valid key)', (d) => { d.proof.verificationMethod = otherKey; }, /signature does not verify/],
    ['proof verificationMethod (unresolvable)', (d) => { d.proof.verificationMethod = 'did:example:unknown#key-1'; }, /unknown verification method/],
    ['one character of proofValue', (d) => {
      const v = d.proof.proofValue;
      const i = 40;
      d.proof.proofValue = `${v.slice(0, i)}${v[i] === 'A' ? 'B' : 'A'}${v.slice(i + 1)}`;
    }, /signature does not verify|decodes to/],
    ['added credential field', (d) => { d.extra = true; }, /signature does not verify/],
    ['proof purpose', (d) => { d.proof.proofPurpose = 'authentication'; }, /signature does not verify/],
  ];

  it.each(tampering)('rejects the credential after changing the %s', (_label, mutate, reason) => {
    const doc = structuredClone(load().signed);
    mutate(doc);
    const result = verifyProof(doc, didKeyResolver);
    expect(result.verified).toBe(false);
    expect(result.reasons.join('; ')).toMatch(reason);
  });
});
