import { createCipheriv } from 'node:crypto';
import { cmac } from '@noble/ciphers/aes.js';
import { describe, expect, it } from 'vitest';
import {
  brandSunKeys,
  decryptPiccData,
  deriveTagKeys,
  diversifyAn10922,
  fileReadKey,
  isReplay,
  metaReadKey,
  NfcSunError,
  parseSunQuery,
  requireValidSunMessage,
  sdmMac,
  sessionMacKey,
  simulateSunMessage,
  verifySunMessage,
} from '../../src/modules/verification/nfc-sun.js';

const hex = (s: string) => Uint8Array.from(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex').toUpperCase();
const ZERO = new Uint8Array(16);
const ZERO_KEYS = { metaRead: ZERO, fileRead: ZERO };

/** NXP AN12196, SUN example with PICC data encryption and an empty MAC input (all-zero keys). */
const AN12196 = {
  piccData: 'EF963FF7828658A599F3041510671E88',
  cmac: '94EED9EE65337086',
  uid: '04DE5F1EACC040',
  readCounter: 61,
  sessionKey: '3FB5F6E3A807A03D5E3570ACE393776F',
};
/** NXP AN12196, SUN example whose MAC also covers mirrored encrypted file data (all-zero keys). */
const AN12196_WITH_INPUT = {
  piccData: 'FD91EC264309878BE6345CBE53BADF40',
  cmac: 'ECC1E7F6C6C73BF6',
  macInput: new TextEncoder().encode('CEE9A53E3E463EF1F459635736738962&cmac='),
  uid: '04958CAA5C5E80',
  readCounter: 8,
  sessionKey: '3ED0920E5E6A0320D823D5987FEAFBB1',
};

function flipHexBit(value: string, bit: number): string {
  const bytes = hex(value);
  bytes[bit >> 3]! ^= 0x80 >> (bit & 7);
  return toHex(bytes);
}

function sunError(fn: () => unknown): NfcSunError {
  try {
    fn();
  } catch (error) {
    if (error instanceof NfcSunError) return error;
    throw error;
  }
  throw new Error('expected an NfcSunError');
}

describe('NTAG 424 DNA SUN: NXP AN12196 vectors', () => {
  it('decrypts the PICC data to UID 04DE5F1EACC040, read counter 61 (little-endian 3D0000)', () => {
    const picc = decryptPiccData(AN12196.piccData, ZERO);
    expect(toHex(picc.uid)).toBe(AN12196.uid);
    expect(picc.readCounter).toBe(61);
    expect(picc.tagType).toBe(0xc7);
    expect(decryptPiccData(AN12196.piccData.toLowerCase(), ZERO).readCounter).toBe(61);
  });

  it('derives the session MAC key and the truncated SDMMAC 94EED9EE65337086', () => {
    const session = sessionMacKey(ZERO, hex(AN12196.uid), AN12196.readCounter);
    expect(toHex(session)).toBe(AN12196.sessionKey);
    expect(toHex(sdmMac(session, new Uint8Array(0)))).toBe(AN12196.cmac);
    expect(toHex(sdmMac(session))).toBe(AN12196.cmac);
  });

  it('session key from a non-zero file-read key (AN12196 SV2 example)', () => {
    const session = sessionMacKey(hex('5ACE7E50AB65D5D51FD5BF5A16B8205B'), hex('04C767F2066180'), 1);
    expect(toHex(session)).toBe('3A3E8110E05311F7A3FCF0D969BF2B48');
  });

  it('verifies the whole message', () => {
    expect(verifySunMessage({ piccData: AN12196.piccData, cmac: AN12196.cmac, keys: ZERO_KEYS })).toEqual({
      uid: AN12196.uid,
      readCounter: 61,
      valid: true,
    });
    expect(requireValidSunMessage({ piccData: AN12196.piccData, cmac: AN12196.cmac, keys: ZERO_KEYS })).toEqual({
      uid: AN12196.uid,
      readCounter: 61,
    });
  });

  it('verifies a MAC over a non-empty MAC input (mirrored file data)', () => {
    const v = AN12196_WITH_INPUT;
    expect(toHex(sessionMacKey(ZERO, hex(v.uid), v.readCounter))).toBe(v.sessionKey);
    expect(verifySunMessage({ piccData: v.piccData, cmac: v.cmac, keys: ZERO_KEYS, macInput: v.macInput })).toEqual({
      uid: v.uid,
      readCounter: 8,
      valid: true,
    });
    // Without the MAC input the same MAC does not verify.
    expect(verifySunMessage({ piccData: v.piccData, cmac: v.cmac, keys: ZERO_KEYS }).valid).toBe(false);
  });
});

describe('NTAG 424 DNA SUN: tampering and wrong keys', () => {
  it('every single flipped bit in the CMAC makes the message invalid (not an exception)', () => {
    for (let bit = 0; bit < 64; bit++) {
      const cmacHex = flipHexBit(AN12196.cmac, bit);
      expect(verifySunMessage({ piccData: AN12196.piccData, cmac: cmacHex, keys: ZERO_KEYS })).toEqual({
        uid: AN12196.uid,
        readCounter: 61,
        valid: false,
      });
    }
    const error = sunError(() => requireValidSunMessage({ piccData: AN12196.piccData, cmac: flipHexBit(AN12196.cmac, 0), keys: ZERO_KEYS }));
    expect(error.reason).toBe('MAC');
  });

  it('a flipped bit in the PICC data never verifies: TAG error, or another UID/counter with an invalid MAC', () => {
    const first = sunError(() => verifySunMessage({ piccData: flipHexBit(AN12196.piccData, 0), cmac: AN12196.cmac, keys: ZERO_KEYS }));
    expect(first.reason).toBe('TAG');
    for (let bit = 0; bit < 128; bit++) {
      const piccData = flipHexBit(AN12196.piccData, bit);
      try {
        const result = verifySunMessage({ piccData, cmac: AN12196.cmac, keys: ZERO_KEYS });
        expect(result.valid).toBe(false);
        expect(result.uid !== AN12196.uid || result.readCounter !== 61).toBe(true);
      } catch (error) {
        expect(error).toBeInstanceOf(NfcSunError);
        expect((error as NfcSunError).reason).toBe('TAG');
      }
    }
  });

  it('a wrong file-read key gives valid: false; a wrong meta-read key cannot decrypt', () => {
    const other = hex('00112233445566778899AABBCCDDEEFF');
    expect(verifySunMessage({ piccData: AN12196.piccData, cmac: AN12196.cmac, keys: { metaRead: ZERO, fileRead: other } }).valid).toBe(false);
    const error = sunError(() => verifySunMessage({ piccData: AN12196.piccData, cmac: AN12196.cmac, keys: { metaRead: other, fileRead: ZERO } }));
    expect(error.reason).toBe('TAG');
  });

  it('a genuine MAC for another counter does not verify (the MAC covers UID and counter)', () => {
    const forOtherCounter = toHex(sdmMac(sessionMacKey(ZERO, hex(AN12196.uid), 62)));
    expect(verifySunMessage({ piccData: AN12196.piccData, cmac: forOtherCounter, keys: ZERO_KEYS }).valid).toBe(false);
  });

  const malformed: [string, string][] = [
    ['empty', ''],
    ['odd length', AN12196.piccData.slice(0, 31)],
    ['non-hex', 'ZZ963FF7828658A599F3041510671E88'],
    ['30 hex characters', AN12196.piccData.slice(0, 30)],
    ['34 hex characters', AN12196.piccData + 'AB'],
    ['10,000 characters', 'A'.repeat(10_000)],
    ['whitespace', ` ${AN12196.piccData.slice(1)}`],
  ];
  it.each(malformed)('PICC data: %s → FORMAT', (_, piccData) => {
    expect(sunError(() => decryptPiccData(piccData, ZERO)).reason).toBe('FORMAT');
    expect(sunError(() => verifySunMessage({ piccData, cmac: AN12196.cmac, keys: ZERO_KEYS })).reason).toBe('FORMAT');
  });

  const malformedMac: [string, string][] = [
    ['empty', ''],
    ['odd length', AN12196.cmac.slice(0, 15)],
    ['non-hex', '94EED9EE6533708G'],
    ['14 hex characters', AN12196.cmac.slice(0, 14)],
    ['the full 32-hex CMAC', AN12196.cmac.repeat(2)],
    ['10,000 characters', 'A'.repeat(10_000)],
  ];
  it.each(malformedMac)('CMAC: %s → FORMAT', (_, cmacHex) => {
    expect(sunError(() => verifySunMessage({ piccData: AN12196.piccData, cmac: cmacHex, keys: ZERO_KEYS })).reason).toBe('FORMAT');
  });

  it('rejects keys, UIDs and counters of the wrong size', () => {
    expect(() => decryptPiccData(AN12196.piccData, new Uint8Array(15))).toThrow(RangeError);
    expect(() => sessionMacKey(ZERO, new Uint8Array(4), 1)).toThrow(RangeError);
    expect(() => sessionMacKey(ZERO, hex(AN12196.uid), 0x1000000)).toThrow(RangeError);
    expect(() => sessionMacKey(ZERO, hex(AN12196.uid), -1)).toThrow(RangeError);
    expect(() => sessionMacKey(ZERO, hex(AN12196.uid), 1.5)).toThrow(RangeError);
  });
});

describe('parseSunQuery', () => {
  const expected = { piccData: AN12196.piccData, cmac: AN12196.cmac };

  it.each([
    [`https://id.example.com/01/09506000134352/21/1?picc_data=${AN12196.piccData}&cmac=${AN12196.cmac}`],
    [`https://id.example.com/t?e=${AN12196.piccData}&c=${AN12196.cmac}#frag`],
    [`?picc_data=${AN12196.piccData}&cmac=${AN12196.cmac}`],
    [`cmac=${AN12196.cmac}&picc_data=${AN12196.piccData}`],
    [`uid=x&e=${AN12196.piccData}&cmac=${AN12196.cmac}`],
  ])('extracts the parameters from %s', (input) => {
    expect(parseSunQuery(input)).toEqual(expected);
  });

  it.each([
    ['no query', 'https://id.example.com/t'],
    ['missing cmac', `picc_data=${AN12196.piccData}`],
    ['missing picc_data', `cmac=${AN12196.cmac}`],
    ['lower-case hex', `picc_data=${AN12196.piccData.toLowerCase()}&cmac=${AN12196.cmac}`],
    ['odd length', `picc_data=${AN12196.piccData.slice(0, 31)}&cmac=${AN12196.cmac}`],
    ['non-hex', `picc_data=${AN12196.piccData}&cmac=94EED9EE6533708Z`],
    ['30 hex characters', `picc_data=${AN12196.piccData.slice(0, 30)}&cmac=${AN12196.cmac}`],
    ['cmac of 18 hex', `picc_data=${AN12196.piccData}&cmac=${AN12196.cmac}AB`],
    ['10,000 characters', `picc_data=${AN12196.piccData}&cmac=${AN12196.cmac}&x=${'A'.repeat(10_000)}`],
    ['duplicate parameter', `picc_data=${AN12196.piccData}&cmac=${AN12196.cmac}&c=${AN12196.cmac}`],
    ['both names for picc_data', `picc_data=${AN12196.piccData}&e=${AN12196.piccData}&cmac=${AN12196.cmac}`],
  ])('%s → FORMAT', (_, input) => {
    expect(sunError(() => parseSunQuery(input)).reason).toBe('FORMAT');
  });

  it('feeds verifySunMessage', () => {
    const parsed = parseSunQuery(`https://x.example/t?picc_data=${AN12196.piccData}&cmac=${AN12196.cmac}`);
    expect(verifySunMessage({ ...parsed, keys: ZERO_KEYS }).valid).toBe(true);
  });
});

describe('key diversification (NXP AN10922, AES-128)', () => {
  const master = hex('00112233445566778899AABBCCDDEEFF');

  it('matches the AN10922 published example (UID 04782E21801D80, AID 3042F5, "NXP Abu")', () => {
    expect(toHex(diversifyAn10922(master, hex('04782E21801D803042F54E585020416275')))).toBe('A8DD63A3B89D54B37CA802473FDA9175');
  });

  it('equals plain AES-CMAC of 0x01 || input when that fills more than one block, and not otherwise', () => {
    for (let n = 1; n <= 31; n++) {
      const input = Uint8Array.from({ length: n }, (_, i) => i);
      const plain = cmac(Uint8Array.of(0x01, ...input), master);
      if (n >= 16) expect(toHex(diversifyAn10922(master, input))).toBe(toHex(plain));
      else expect(toHex(diversifyAn10922(master, input))).not.toBe(toHex(plain));
    }
  });

  it('matches independent short/boundary vectors (input bytes 00 01 02 …)', () => {
    const cases: [number, string][] = [
      [1, '281049D52ECBC8F60961993D34DE3D54'],
      [7, 'E8B7F67C78C34AF1446E331EF7E6D3FF'],
      [15, '5A3C7F6F0687F24F82DEE7EDA0970D08'],
      [16, 'FEED9FBD36CDB16819A72D30BCF9240B'],
      [31, '21C28CD89BB3147F66C7DBD4851CAB20'],
    ];
    for (const [n, expected] of cases) {
      expect(toHex(diversifyAn10922(master, Uint8Array.from({ length: n }, (_, i) => i)))).toBe(expected);
    }
  });

  it('refuses empty or over-long inputs and wrong-size master keys', () => {
    expect(() => diversifyAn10922(master, new Uint8Array(0))).toThrow(RangeError);
    expect(() => diversifyAn10922(master, new Uint8Array(32))).toThrow(RangeError);
    expect(() => diversifyAn10922(new Uint8Array(32), new Uint8Array(1))).toThrow(RangeError);
    expect(() => fileReadKey(master, new Uint8Array(8))).toThrow(RangeError);
  });

  it('one meta-read key per brand, one file-read key per tag, distinct per brand', () => {
    const uidA = hex('04A1B2C3D4E5F6');
    const uidB = hex('04A1B2C3D4E5F7');
    const a = deriveTagKeys(master, uidA);
    const b = deriveTagKeys(master, uidB);
    expect(a.metaRead).toEqual(b.metaRead);
    expect(a.metaRead).toEqual(metaReadKey(master));
    expect(a.fileRead).not.toEqual(b.fileRead);
    expect(a.fileRead).not.toEqual(a.metaRead);
    expect(a.fileRead).toEqual(fileReadKey(master, uidA));
    const otherBrand = deriveTagKeys(hex('FFEEDDCCBBAA99887766554433221100'), uidA);
    expect(otherBrand.metaRead).not.toEqual(a.metaRead);
    expect(otherBrand.fileRead).not.toEqual(a.fileRead);
  });
});

describe('end-to-end: derived keys, a simulated tap, replay detection', () => {
  const brandMaster = hex('2B7E151628AED2A6ABF7158809CF4F3C');
  const uid = hex('04C0FFEE123456');
  const readCounter = 0x012345;

  /** What the tag does, built independently with node:crypto: AES-CBC (zero IV) of PICC data, SDMMAC. */
  function tagTap(counter: number) {
    const keys = deriveTagKeys(brandMaster, uid);
    const plain = Uint8Array.of(0xc7, ...uid, counter & 0xff, (counter >> 8) & 0xff, (counter >> 16) & 0xff, 1, 2, 3, 4, 5);
    const cipher = createCipheriv('aes-128-cbc', keys.metaRead, new Uint8Array(16)).setAutoPadding(false);
    const piccData = toHex(Buffer.concat([cipher.update(plain), cipher.final()]));
    const mac = toHex(sdmMac(sessionMacKey(keys.fileRead, uid, counter)));
    return `https://id.example.com/01/09506000134352/21/ABC?picc_data=${piccData}&cmac=${mac}`;
  }

  it('verifies a message built for a chosen UID and counter with the brand keys', () => {
    const url = tagTap(readCounter);
    const result = verifySunMessage({ ...parseSunQuery(url), keys: brandSunKeys(brandMaster) });
    expect(result).toEqual({ uid: '04C0FFEE123456', readCounter: 0x012345, valid: true });
    // Another tag's file-read key (same brand) does not verify it.
    const otherTag = { metaRead: metaReadKey(brandMaster), fileRead: fileReadKey(brandMaster, hex('04000000000001')) };
    expect(verifySunMessage({ ...parseSunQuery(url), keys: otherTag }).valid).toBe(false);
    // simulateSunMessage agrees with the independent construction.
    const simulated = simulateSunMessage({ uid, readCounter, keys: deriveTagKeys(brandMaster, uid), padding: Uint8Array.of(1, 2, 3, 4, 5) });
    expect(`?picc_data=${simulated.piccData}&cmac=${simulated.cmac}`).toBe(url.slice(url.indexOf('?')));
  });

  it('a replayed message yields the same counter, which isReplay flags; the next tap is accepted', () => {
    const keys = brandSunKeys(brandMaster);
    let lastCounter: number | null = null;
    const accept = (url: string) => {
      const r = verifySunMessage({ ...parseSunQuery(url), keys });
      expect(r.valid).toBe(true);
      const replay = isReplay(lastCounter, r.readCounter);
      if (!replay) lastCounter = r.readCounter;
      return replay;
    };
    const tap = tagTap(readCounter);
    expect(accept(tap)).toBe(false);
    expect(accept(tap)).toBe(true); // same counter: NFC_REPLAY
    expect(accept(tagTap(readCounter + 1))).toBe(false);
    expect(accept(tap)).toBe(true); // older counter
    expect(lastCounter).toBe(readCounter + 1);
  });

  it('isReplay: strictly increasing 24-bit counters, no wrap, fails closed', () => {
    expect(isReplay(null, 0)).toBe(false);
    expect(isReplay(null, 0xffffff)).toBe(false);
    expect(isReplay(5, 6)).toBe(false);
    expect(isReplay(5, 100)).toBe(false);
    expect(isReplay(5, 5)).toBe(true);
    expect(isReplay(5, 4)).toBe(true);
    expect(isReplay(0xfffffe, 0xffffff)).toBe(false);
    expect(isReplay(0xffffff, 0xffffff)).toBe(true);
    expect(isReplay(0xffffff, 0)).toBe(true); // a "wrapped" counter is not newer
    expect(isReplay(0xfffff0, 3)).toBe(true);
    expect(isReplay(null, 0x1000000)).toBe(true);
    expect(isReplay(null, -1)).toBe(true);
    expect(isReplay(null, Number.NaN)).toBe(true);
    expect(isReplay(1, 2.5)).toBe(true);
    expect(isReplay(0x1000000, 5)).toBe(true);
  });
});
