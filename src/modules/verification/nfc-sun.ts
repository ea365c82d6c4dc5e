/**
 * NFC secure tags: verification of NXP NTAG 424 DNA "SUN" (Secure Unique NFC) messages.
 *
 * On every tap an NTAG 424 DNA configured for Secure Dynamic Messaging (SDM) mirrors two values into
 * its NDEF URL (NXP AN12196 "NTAG 424 DNA and NTAG 424 DNA TagTamper features and hints", section 3;
 * NTAG 424 DNA datasheet NT4H2421Gx, section 9.3 "Secure Dynamic Messaging"):
 *
 * - `picc_data` (a.k.a. `e`): 16 bytes, AES-128-CBC (zero IV) encryption under `SDMMetaReadKey` of
 *   `PICCDataTag (1) || UID (7) || SDMReadCtr (3, little-endian) || random padding (5)`;
 * - `cmac` (a.k.a. `c`): the SDMMAC, AES-CMAC under the session key
 *   `KSesSDMFileReadMAC = CMAC(SDMFileReadKey, SV2)`, `SV2 = 3CC3 0001 0080 || UID || SDMReadCtr`,
 *   over the bytes between SDMMACInputOffset and SDMMACOffset (empty in the usual configuration),
 *   truncated to the 8 bytes at odd indexes.
 *
 * This module is pure (no database): it decrypts, recomputes the MAC and compares it in constant
 * time. The caller stores the last accepted counter per tag and raises NFC_REPLAY when
 * {@link isReplay} says the counter did not increase.
 *
 * Cryptographic primitives are not hand-rolled: AES-CBC/ECB come from `node:crypto` (OpenSSL) and
 * AES-CMAC (RFC 4493) from `@noble/ciphers`. The only arithmetic done here is the GF(2^128)
 * doubling AN10922 needs to form the CMAC subkeys for its own padding rule (checked against the
 * subkeys and diversified key published in AN10922).
 *
 * @module
 */
import { createCipheriv, createDecipheriv, randomBytes, timingSafeEqual } from 'node:crypto';
import { cmac } from '@noble/ciphers/aes.js';

/** Why a SUN message was refused: malformed input, a MAC mismatch, or an unexpected PICCDataTag. */
export type NfcSunErrorReason = 'FORMAT' | 'MAC' | 'TAG';

/** A SUN message that cannot be verified. `reason` is stable; the message is safe to log. */
export class NfcSunError extends Error {
  constructor(
    readonly reason: NfcSunErrorReason,
    message: string,
  ) {
    super(message);
    this.name = 'NfcSunError';
  }
}

/** Length of the NTAG 424 DNA (7-byte, double-size) UID. */
export const UID_LENGTH = 7;
/** The read counter is 24 bits; it never wraps (the tag stops at its limit). */
export const MAX_READ_COUNTER = 0xff_ffff;
/**
 * The only PICCDataTag accepted: UID mirrored (bit 7), SDMReadCtr mirrored (bit 6), UID length 7
 * (low nibble). Without the UID there is no per-tag key, without the counter no replay detection.
 */
export const PICC_DATA_TAG = 0xc7;
/** Hex characters of the encrypted PICC data (one AES block) and of the truncated SDMMAC. */
export const PICC_DATA_HEX_LENGTH = 32;
export const SDMMAC_HEX_LENGTH = 16;
/** Longest URL / query string {@link parseSunQuery} looks at; a real NDEF URL is far shorter. */
export const MAX_SUN_QUERY_LENGTH = 2048;

const KEY_LENGTH = 16;
const BLOCK = 16;
const ZERO_IV = new Uint8Array(BLOCK);
/** SV2 prefix for the SDM file-read MAC session key (datasheet 9.3.9, AN12196 3.4.4). */
const SV2_PREFIX = Uint8Array.of(0x3c, 0xc3, 0x00, 0x01, 0x00, 0x80);

// ---------------------------------------------------------------------------------------------
// Small byte helpers
// ---------------------------------------------------------------------------------------------

function requireKey(key: Uint8Array, name: string): void {
  if (!(key instanceof Uint8Array) || key.length !== KEY_LENGTH) {
    throw new RangeError(`${name} must be a 16-byte AES-128 key`);
  }
}

function requireUid(uid: Uint8Array): void {
  if (!(uid instanceof Uint8Array) || uid.length !== UID_LENGTH) {
    throw new RangeError(`the tag UID must be ${UID_LENGTH} bytes`);
  }
}

function requireCounter(readCounter: number): void {
  if (!Number.isInteger(readCounter) || readCounter < 0 || readCounter > MAX_READ_COUNTER) {
    throw new RangeError('the read counter must be an integer in 0..0xFFFFFF');
  }
}

/** Strict hex of an exact length (either case): anything else is a FORMAT error. */
function hexBytes(value: unknown, hexLength: number, what: string): Uint8Array {
  if (typeof value !== 'string' || value.length !== hexLength || !/^[0-9A-Fa-f]+$/.test(value)) {
    throw new NfcSunError('FORMAT', `${what} must be ${hexLength} hexadecimal characters`);
  }
  return Uint8Array.from(Buffer.from(value, 'hex'));
}

function toHexUpper(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex').toUpperCase();
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function counterLE(readCounter: number): Uint8Array {
  return Uint8Array.of(readCounter & 0xff, (readCounter >>> 8) & 0xff, (readCounter >>> 16) & 0xff);
}

function aesCbcNoPadding(mode: 'encrypt' | 'decrypt', key: Uint8Array, data: Uint8Array): Uint8Array {
  const cipher =
    mode === 'encrypt'
      ? createCipheriv('aes-128-cbc', key, ZERO_IV)
      : createDecipheriv('aes-128-cbc', key, ZERO_IV);
  cipher.setAutoPadding(false);
  return Uint8Array.from(Buffer.concat([cipher.update(data), cipher.final()]));
}

// ---------------------------------------------------------------------------------------------
// 1. PICC data
// ---------------------------------------------------------------------------------------------

/** What the tag put in its encrypted PICC data. */
export interface PiccData {
  /** 7-byte UID. */
  uid: Uint8Array;
  /** SDMReadCtr, 0..0xFFFFFF. */
  readCounter: number;
  /** The PICCDataTag byte (always {@link PICC_DATA_TAG} here). */
  tagType: number;
}

/**
 * Decrypts the `picc_data` mirror: AES-128-CBC with a zero IV over one block, under the
 * SDMMetaReadKey. This alone proves nothing (anyone can encrypt with a known key; a wrong key just
 * yields noise): only {@link verifySunMessage}'s MAC check authenticates the tap.
 *
 * @throws NfcSunError `FORMAT` when the input is not 32 hex characters, `TAG` when the plaintext
 *   does not start with PICCDataTag 0xC7 (wrong key, tampered data, or a tag configured without
 *   UID and counter mirroring).
 */
export function decryptPiccData(piccDataHex: string, sdmMetaReadKey: Uint8Array): PiccData {
  const encrypted = hexBytes(piccDataHex, PICC_DATA_HEX_LENGTH, 'picc_data');
  requireKey(sdmMetaReadKey, 'the SDM meta-read key');
  const plain = aesCbcNoPadding('decrypt', sdmMetaReadKey, encrypted);
  const tagType = plain[0]!;
  if (tagType !== PICC_DATA_TAG) {
    throw new NfcSunError('TAG', 'unknown PICC data tag (wrong key or altered picc_data)');
  }
  const uid = plain.slice(1, 1 + UID_LENGTH);
  const readCounter = plain[8]! | (plain[9]! << 8) | (plain[10]! << 16);
  return { uid, readCounter, tagType };
}

// ---------------------------------------------------------------------------------------------
// 2. Session key and SDMMAC
// ---------------------------------------------------------------------------------------------

/**
 * `KSesSDMFileReadMAC = AES-CMAC(SDMFileReadKey, SV2)`, with
 * `SV2 = 3CC3 0001 0080 || UID (7) || SDMReadCtr (3, little-endian)` (16 bytes).
 */
export function sessionMacKey(sdmFileReadKey: Uint8Array, uid: Uint8Array, readCounter: number): Uint8Array {
  requireKey(sdmFileReadKey, 'the SDM file-read key');
  requireUid(uid);
  requireCounter(readCounter);
  return cmac(concat(SV2_PREFIX, uid, counterLE(readCounter)), sdmFileReadKey);
}

/**
 * The SDMMAC: AES-CMAC(sessionKey, macInput) truncated to the 8 bytes at odd indexes (1, 3, …, 15),
 * as the datasheet specifies. `macInput` is the mirrored data between SDMMACInputOffset and
 * SDMMACOffset as ASCII bytes; it is empty when both offsets coincide (the common setup).
 */
export function sdmMac(sessionKey: Uint8Array, macInput: Uint8Array = new Uint8Array(0)): Uint8Array {
  requireKey(sessionKey, 'the session MAC key');
  const full = cmac(macInput, sessionKey);
  const truncated = new Uint8Array(8);
  for (let i = 0; i < 8; i++) truncated[i] = full[2 * i + 1]!;
  return truncated;
}

// ---------------------------------------------------------------------------------------------
// 3. Verification
// ---------------------------------------------------------------------------------------------

/**
 * The SDM keys of one tag. `fileRead` may be a function of the (decrypted) UID, since the per-tag
 * file-read key can only be chosen once the UID is known; see {@link brandSunKeys}.
 */
export interface SunKeys {
  metaRead: Uint8Array;
  fileRead: Uint8Array | ((uid: Uint8Array) => Uint8Array);
}

export interface SunMessage {
  /** The `picc_data` / `e` value: 32 hex characters. */
  piccData: string;
  /** The `cmac` / `c` value: 16 hex characters. */
  cmac: string;
  keys: SunKeys;
  /** Bytes covered by the MAC besides the session key (default: none). */
  macInput?: Uint8Array;
}

export interface SunVerification {
  /** UID as upper-case hex (14 characters). Not trustworthy unless `valid`. */
  uid: string;
  /** SDMReadCtr. Not trustworthy unless `valid`; record it only for a valid message. */
  readCounter: number;
  /** Whether the SDMMAC matches. */
  valid: boolean;
}

/**
 * Verifies a SUN message: decrypts the PICC data, derives the session key, recomputes the SDMMAC
 * and compares it in constant time (`timingSafeEqual`). A wrong MAC (or wrong file-read key) gives
 * `valid: false`; it does not throw. Replay is the caller's job: compare `readCounter` with the
 * last accepted one using {@link isReplay}.
 *
 * @throws NfcSunError `FORMAT` for malformed hex / lengths; `TAG` when the PICC data does not
 *   decrypt to a known PICCDataTag (wrong meta-read key or altered `picc_data`) — both mean the
 *   message is not authentic.
 */
export function verifySunMessage(message: SunMessage): SunVerification {
  const received = hexBytes(message.cmac, SDMMAC_HEX_LENGTH, 'cmac');
  const { uid, readCounter } = decryptPiccData(message.piccData, message.keys.metaRead);
  const fileRead = typeof message.keys.fileRead === 'function' ? message.keys.fileRead(uid) : message.keys.fileRead;
  const expected = sdmMac(sessionMacKey(fileRead, uid, readCounter), message.macInput ?? new Uint8Array(0));
  return { uid: toHexUpper(uid), readCounter, valid: timingSafeEqual(expected, received) };
}

/** {@link verifySunMessage}, but an invalid MAC throws `NfcSunError('MAC')`. */
export function requireValidSunMessage(message: SunMessage): Omit<SunVerification, 'valid'> {
  const { uid, readCounter, valid } = verifySunMessage(message);
  if (!valid) throw new NfcSunError('MAC', 'the SUN message MAC does not verify');
  return { uid, readCounter };
}

/**
 * Replay check for the caller that stores the last accepted counter per tag: true when the tag has
 * been seen (`lastCounter !== null`) and `counter` is not strictly greater. Plain integer order, no
 * modular arithmetic: the 24-bit counter never wraps, so 0 after 0xFFFFFF is a replay, not a newer
 * read. Fails closed: a counter (or stored counter) outside 0..0xFFFFFF counts as a replay.
 */
export function isReplay(lastCounter: number | null, counter: number): boolean {
  const valid = (n: number) => Number.isInteger(n) && n >= 0 && n <= MAX_READ_COUNTER;
  if (!valid(counter)) return true;
  if (lastCounter === null) return false;
  if (!valid(lastCounter)) return true;
  return counter <= lastCounter;
}

// ---------------------------------------------------------------------------------------------
// 4. Key derivation (NXP AN10922, AES-128)
// ---------------------------------------------------------------------------------------------

/** GF(2^128) doubling (RFC 4493 subkey generation step), constant-time in the secret bit. */
function dbl(block: Uint8Array): Uint8Array {
  const out = new Uint8Array(BLOCK);
  for (let i = 0; i < BLOCK; i++) out[i] = ((block[i]! << 1) | (i + 1 < BLOCK ? block[i + 1]! >>> 7 : 0)) & 0xff;
  out[BLOCK - 1] ^= 0x87 & -(block[0]! >>> 7);
  return out;
}

/**
 * NXP AN10922 ("Symmetric key diversifications", section 2.2) AES-128 diversification:
 * `M = 0x01 || divInput` (divInput 1..31 bytes). When M is shorter than 32 bytes it is padded
 * with `80 00…` to 32 bytes and the last block is XORed with CMAC subkey K2, otherwise with K1;
 * the diversified key is the last block of AES-CBC (zero IV) over the two blocks. (Note: unlike
 * plain AES-CMAC, M is always padded to two blocks, so for divInput shorter than 16 bytes the
 * result differs from `CMAC(master, M)`.) Checked against AN10922's published example
 * (master 00112233…EEFF, divInput 04782E21801D80 3042F5 4E585020416275 → A8DD63A3…9175).
 */
export function diversifyAn10922(masterKey: Uint8Array, divInput: Uint8Array): Uint8Array {
  requireKey(masterKey, 'the master key');
  if (!(divInput instanceof Uint8Array) || divInput.length < 1 || divInput.length > 31) {
    throw new RangeError('AN10922 diversification input must be 1..31 bytes');
  }
  const l = aesCbcNoPadding('encrypt', masterKey, new Uint8Array(BLOCK)); // AES_K(0^128)
  const k1 = dbl(l);
  const k2 = dbl(k1);
  const m = new Uint8Array(2 * BLOCK);
  m[0] = 0x01;
  m.set(divInput, 1);
  const padded = divInput.length + 1 < 2 * BLOCK;
  if (padded) m[divInput.length + 1] = 0x80;
  const subkey = padded ? k2 : k1;
  for (let i = 0; i < BLOCK; i++) m[BLOCK + i] ^= subkey[i]!;
  const cbc = aesCbcNoPadding('encrypt', masterKey, m);
  l.fill(0);
  k1.fill(0);
  k2.fill(0);
  return cbc.slice(BLOCK);
}

/**
 * System identifier this project puts into every AN10922 diversification input (ASCII
 * "DPP-NTAG424"), so brand master keys used elsewhere never yield the same keys. Tag-programming
 * tools must use the same inputs (see {@link metaReadKey} and {@link fileReadKey}).
 */
export const DIVERSIFICATION_SYSTEM_ID = Uint8Array.from(Buffer.from('DPP-NTAG424', 'ascii'));
/** Purpose bytes in the diversification input. */
export const KEY_PURPOSE = { metaRead: 0x01, fileRead: 0x02 } as const;

/**
 * The brand-wide SDMMetaReadKey: `AN10922(master, 0x01 || "DPP-NTAG424")`. One key per brand,
 * because the UID is only known after decrypting the PICC data with it.
 */
export function metaReadKey(masterKey: Uint8Array): Uint8Array {
  return diversifyAn10922(masterKey, concat(Uint8Array.of(KEY_PURPOSE.metaRead), DIVERSIFICATION_SYSTEM_ID));
}

/**
 * The per-tag SDMFileReadKey (the SDMMAC key): `AN10922(master, UID (7) || 0x02 || "DPP-NTAG424")`,
 * following AN10922's UID-first layout. A key extracted from one tag forges nothing for another.
 */
export function fileReadKey(masterKey: Uint8Array, uid: Uint8Array): Uint8Array {
  requireUid(uid);
  return diversifyAn10922(masterKey, concat(uid, Uint8Array.of(KEY_PURPOSE.fileRead), DIVERSIFICATION_SYSTEM_ID));
}

/** Both SDM keys of one tag, derived from the brand's 16-byte master key. */
export function deriveTagKeys(masterKey: Uint8Array, uid: Uint8Array): { metaRead: Uint8Array; fileRead: Uint8Array } {
  return { metaRead: metaReadKey(masterKey), fileRead: fileReadKey(masterKey, uid) };
}

/** {@link SunKeys} for a brand: its meta-read key, and the file-read key derived from the UID. */
export function brandSunKeys(masterKey: Uint8Array): SunKeys {
  const metaRead = metaReadKey(masterKey);
  return { metaRead, fileRead: (uid) => fileReadKey(masterKey, uid) };
}

// ---------------------------------------------------------------------------------------------
// 5. URL / query parsing
// ---------------------------------------------------------------------------------------------

const PICC_DATA_RE = /^[0-9A-F]{32}$/;
const CMAC_RE = /^[0-9A-F]{16}$/;

function oneParam(params: URLSearchParams, names: readonly string[], what: string): string {
  const values = names.flatMap((name) => params.getAll(name));
  if (values.length === 0) throw new NfcSunError('FORMAT', `missing ${what}`);
  if (values.length > 1) throw new NfcSunError('FORMAT', `${what} given more than once`);
  return values[0]!;
}

/**
 * Extracts the SUN parameters from a tapped URL or its query string (with or without `?`):
 * `picc_data` (or `e`) and `cmac` (or `c`), each exactly once. The tag mirrors upper-case hex, so
 * anything else — lower case, other lengths — is refused as altered.
 *
 * @throws NfcSunError `FORMAT`
 */
export function parseSunQuery(urlOrQuery: string): { piccData: string; cmac: string } {
  if (typeof urlOrQuery !== 'string' || urlOrQuery.length > MAX_SUN_QUERY_LENGTH) {
    throw new NfcSunError('FORMAT', 'SUN URL missing or too long');
  }
  const withoutFragment = urlOrQuery.split('#', 1)[0]!;
  const q = withoutFragment.indexOf('?');
  const query = q >= 0 ? withoutFragment.slice(q + 1) : /^[a-z][a-z0-9+.-]*:\/\//i.test(withoutFragment) ? '' : withoutFragment;
  const params = new URLSearchParams(query);
  const piccData = oneParam(params, ['picc_data', 'e'], 'picc_data');
  const cmacHex = oneParam(params, ['cmac', 'c'], 'cmac');
  if (!PICC_DATA_RE.test(piccData)) throw new NfcSunError('FORMAT', 'picc_data must be 32 upper-case hex characters');
  if (!CMAC_RE.test(cmacHex)) throw new NfcSunError('FORMAT', 'cmac must be 16 upper-case hex characters');
  return { piccData, cmac: cmacHex };
}

// ---------------------------------------------------------------------------------------------
// Simulation (tests, demos, tag-programming checks)
// ---------------------------------------------------------------------------------------------

/**
 * Builds the `picc_data` / `cmac` pair a tag with these keys would mirror for `uid` and
 * `readCounter` (empty MAC input). For tests, demos and checking a tag-programming setup; real
 * messages come from tags. `padding` (5 bytes) defaults to random, as on a tag.
 */
export function simulateSunMessage(input: {
  uid: Uint8Array;
  readCounter: number;
  keys: { metaRead: Uint8Array; fileRead: Uint8Array };
  padding?: Uint8Array;
}): { piccData: string; cmac: string } {
  requireUid(input.uid);
  requireCounter(input.readCounter);
  requireKey(input.keys.metaRead, 'the SDM meta-read key');
  const padding = input.padding ?? randomBytes(5);
  if (padding.length !== 5) throw new RangeError('padding must be 5 bytes');
  const plain = concat(Uint8Array.of(PICC_DATA_TAG), input.uid, counterLE(input.readCounter), padding);
  const piccData = toHexUpper(aesCbcNoPadding('encrypt', input.keys.metaRead, plain));
  const mac = sdmMac(sessionMacKey(input.keys.fileRead, input.uid, input.readCounter));
  return { piccData, cmac: toHexUpper(mac) };
}
