import { describe, expect, it } from 'vitest';
import { ClaimCodes, identityBytes, identityBytesViaJcs, identityMismatches, identityRecord, sameIdentity } from '../../src/modules/passports/identity.js';

describe('identity record bytes', () => {
  it.each([
    { gtin: '00614141000012', serial: 'ABC123' },
    { gtin: '00614141000012', serial: 'ABC123', lot: 'L1' },
    { gtin: '80614141123458', serial: `!"%&'()*+,-./:;<=>?_z`.slice(0, 20), lot: 'a"b\\c' },
    { gtin: '80614141123458', serial: 'é€😀', lot: null },
  ])('equals the RFC 8785 form from the JCS library for %j', (p) => {
    expect(Buffer.from(identityBytes(p)).toString('utf8')).toBe(Buffer.from(identityBytesViaJcs(p)).toString('utf8'));
  });
});

describe('identity mismatches', () => {
  const unit = { gtin: '00614141000012', serial: 'ABC123', lot: 'L42' };
  it('lists every field of the record a link states otherwise, and none it leaves out', () => {
    const fields = Object.keys(identityRecord(unit)).filter((f) => f !== 'typ');
    expect(fields.sort()).toEqual(['gtin', 'lot', 'serial']);
    for (const f of fields) expect(identityMismatches({ ...unit, [f]: 'OTHER' }, unit)).toEqual([f]);
    expect(identityMismatches({ gtin: unit.gtin, serial: unit.serial }, unit)).toEqual([]);
    expect(identityMismatches({ ...unit, lot: 'L1' }, { ...unit, lot: null })).toEqual(['lot']);
  });
  it('calls identities the same only when every field, a missing lot included, is equal', () => {
    expect(sameIdentity(unit, { ...unit })).toBe(true);
    expect(sameIdentity({ gtin: unit.gtin, serial: unit.serial }, unit)).toBe(false);
    expect(sameIdentity({ ...unit, lot: null }, { ...unit, lot: undefined })).toBe(true);
  });
});

describe('claim codes', () => {
  const codes = new ClaimCodes(Buffer.alloc(32, 1));
  it('are 16 Crockford base32 characters, stable per unit, different across units and keys', () => {
    const a = codes.codeFor('00000000-0000-7000-8000-000000000001');
    expect(a).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$/);
    expect(codes.codeFor('00000000-0000-7000-8000-000000000001')).toBe(a);
    expect(codes.codeFor('00000000-0000-7000-8000-000000000002')).not.toBe(a);
    expect(new ClaimCodes(Buffer.alloc(32, 2)).codeFor('00000000-0000-7000-8000-000000000001')).not.toBe(a);
  });

  it('hash what a person types the same way: case, dashes, spaces and Crockford look-alikes', () => {
    const code = codes.codeFor('00000000-0000-7000-8000-000000000003');
    const typed = code.toLowerCase().replace(/-/g, ' ').replace(/0/g, 'o').replace(/1/g, 'l');
    expect(codes.hash(typed)).toBe(codes.hash(code));
    expect(codes.hash(code)).not.toBe(codes.hash(code.slice(0, -1) + (code.endsWith('A') ? 'B' : 'A')));
  });

  it('issue (the minting path) answers codeFor and the hash a claim compares with', () => {
    for (let i = 0; i < 50; i++) {
      const id = `00000000-0000-7000-8000-${String(i).padStart(12, '0')}`;
      const { code, hash } = codes.issue(id);
      expect(code).toBe(codes.codeFor(id));
      expect(hash).toBe(codes.hash(code));
      expect(hash).toBe(codes.hash(code.toLowerCase().replace(/-/g, ' ')));
    }
  });
});
