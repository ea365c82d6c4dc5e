import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ED25519_PARAMS, ed25519Point, formatRef, parseRef } from '../../src/modules/keys/pkcs11-token.js';

describe('PKCS#11 token references and encodings', () => {
  it('writes RFC 7512 URIs that read back to the same token and CKA_ID, whatever the label holds', () => {
    const id = randomBytes(32);
    for (const label of ['dpp', 'brand keys; prod/eu', 'Ünïcode 🔑', '%41']) {
      const ref = formatRef(label, id, 'dpp:kid');
      expect(ref).toMatch(/^pkcs11:token=[^;/?]+;id=(%[0-9a-f]{2}){32};object=dpp:kid;type=private$/);
      expect(parseRef(ref)).toEqual({ token: label, id });
    }
    expect(parseRef('v1.abc.def')).toBeUndefined();
    expect(parseRef('pkcs11:object=x')).toBeUndefined();
  });

  it('takes the Ed25519 point from CKA_EC_POINT as an OCTET STRING or bare, and refuses anything else', () => {
    const raw = randomBytes(32);
    expect(ed25519Point(Buffer.concat([Buffer.from([0x04, 0x20]), raw]))).toEqual(raw);
    expect(ed25519Point(raw)).toEqual(raw);
    expect(() => ed25519Point(randomBytes(33))).toThrow(/33 bytes/);
  });

  it('names the curve by OID 1.3.101.112 first, then as the PrintableString "edwards25519"', () => {
    expect(ED25519_PARAMS.map((b) => b.toString('hex'))).toEqual(['06032b6570', '130c' + Buffer.from('edwards25519').toString('hex')]);
  });
});
