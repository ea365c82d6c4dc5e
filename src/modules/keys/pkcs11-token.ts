// The PKCS#11 binding (pkcs11js) as far as the key store uses it, the standard constants, and the
// start-up checks that turn a wrong module, token or PIN into a message naming the variable to fix.
import { createRequire } from 'node:module';
import { ConfigError } from '../../config/config.js';

export type Handle = Buffer;
export type Attribute = { type: number; value?: boolean | number | string | Buffer };

/** The part of pkcs11js's PKCS11 class this store calls (typed here so the build never needs the addon). */
export interface Pkcs11Api {
  load(path: string): void;
  close(): void;
  C_Initialize(options?: { flags?: number }): void;
  C_Finalize(): void;
  C_GetSlotList(tokenPresent?: boolean): Handle[];
  C_GetTokenInfo(slot: Handle): { label: string };
  C_GetMechanismList(slot: Handle): number[];
  C_OpenSession(slot: Handle, flags: number): Handle;
  C_CloseSession(session: Handle): void;
  C_Login(session: Handle, userType: number, pin: string): void;
  C_GenerateKeyPairAsync(session: Handle, mechanism: { mechanism: number }, publicTemplate: Attribute[], privateTemplate: Attribute[]): Promise<{ publicKey: Handle; privateKey: Handle }>;
  C_GetAttributeValue(session: Handle, object: Handle, template: Attribute[]): { type: number; value: Buffer }[];
  C_SetAttributeValue(session: Handle, object: Handle, template: Attribute[]): void;
  C_FindObjectsInit(session: Handle, template: Attribute[]): void;
  C_FindObjects(session: Handle, maxObjectCount: number): Handle[];
  C_FindObjectsFinal(session: Handle): void;
  C_DestroyObject(session: Handle, object: Handle): void;
  C_SignInit(session: Handle, mechanism: { mechanism: number }, key: Handle): void;
  C_Sign(session: Handle, data: Buffer, out: Buffer): Buffer;
}

/** PKCS#11 2.40 / 3.0 values (pkcs11t.h); CKM_EDDSA and the Edwards key type are 3.0's. */
export const CK = {
  CKF_RW_SESSION: 0x2,
  CKF_SERIAL_SESSION: 0x4,
  CKF_OS_LOCKING_OK: 0x2,
  CKU_USER: 1,
  CKO_PUBLIC_KEY: 2,
  CKO_PRIVATE_KEY: 3,
  CKK_EC_EDWARDS: 0x40,
  CKA_CLASS: 0x0,
  CKA_TOKEN: 0x1,
  CKA_PRIVATE: 0x2,
  CKA_LABEL: 0x3,
  CKA_VALUE: 0x11,
  CKA_KEY_TYPE: 0x100,
  CKA_ID: 0x102,
  CKA_SENSITIVE: 0x103,
  CKA_SIGN: 0x108,
  CKA_VERIFY: 0x10a,
  CKA_DERIVE: 0x10c,
  CKA_EXTRACTABLE: 0x162,
  CKA_NEVER_EXTRACTABLE: 0x164,
  CKA_ALWAYS_SENSITIVE: 0x165,
  CKA_EC_PARAMS: 0x180,
  CKA_EC_POINT: 0x181,
  CKM_EC_EDWARDS_KEY_PAIR_GEN: 0x1055,
  CKM_EDDSA: 0x1057,
} as const;

/**
 * CKA_EC_PARAMS naming Ed25519: the curve's OID 1.3.101.112 (RFC 8410), and the PrintableString
 * "edwards25519" that PKCS#11 3.0 also allows; a token refusing the first is offered the second.
 */
export const ED25519_PARAMS = [Buffer.from('06032b6570', 'hex'), Buffer.from([0x13, 12, ...Buffer.from('edwards25519')])];

/** The CKR_ name of a PKCS#11 failure (pkcs11js puts it in the message), or undefined for other errors. */
export function ckr(e: unknown): string | undefined {
  const m = /\b(CKR_[A-Z0-9_]+)/.exec((e as Error)?.message ?? '');
  return m?.[1];
}

/** The raw 32-byte key from CKA_EC_POINT: a DER OCTET STRING (04 20 …), as SoftHSM and the spec give it, or bare. */
export function ed25519Point(value: Buffer): Buffer {
  if (value.length === 34 && value[0] === 0x04 && value[1] === 0x20) return value.subarray(2);
  if (value.length === 32) return value;
  throw new Error(`unexpected CKA_EC_POINT of ${value.length} bytes for an Ed25519 key`);
}

/** A private key's place in the token, stored in the database: an RFC 7512 PKCS#11 URI. */
export type TokenRef = { token: string; id: Buffer };

const hex = (b: number) => `%${b.toString(16).padStart(2, '0')}`;
const pct = (bytes: Buffer) => [...bytes].map(hex).join('');
/** RFC 7512 pk11-pchar: unreserved characters and a few sub-delims stay as they are, every other byte is %-encoded. */
const pctText = (text: string) => [...Buffer.from(text)].map((b) => (b < 0x80 && /[A-Za-z0-9\-._~:[\]@!$'()*+,=&]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : hex(b))).join('');

export function formatRef(tokenLabel: string, id: Buffer, label: string): string {
  return `pkcs11:token=${pctText(tokenLabel)};id=${pct(id)};object=${pctText(label)};type=private`;
}

export function parseRef(ref: string): TokenRef | undefined {
  if (!ref.startsWith('pkcs11:')) return undefined;
  const attrs = new Map(ref.slice('pkcs11:'.length).split(';').map((a) => a.split('=', 2) as [string, string]));
  const token = attrs.get('token');
  const id = attrs.get('id');
  if (token === undefined || !id) return undefined;
  return { token: unpct(token).toString('utf8'), id: unpct(id) };
}

function unpct(text: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '%') {
      out.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else out.push(...Buffer.from(text[i]!));
  }
  return Buffer.from(out);
}

/** pkcs11js, loaded only when the PKCS#11 store is chosen: the local store never needs the native addon. */
export function loadBinding(): { PKCS11: new () => Pkcs11Api } {
  try {
    return createRequire(import.meta.url)('pkcs11js') as { PKCS11: new () => Pkcs11Api };
  } catch (e) {
    throw new ConfigError([
      `DPP_KEY_STORE=pkcs11: the pkcs11js binding is not installed or did not build (${(e as Error).message.split('\n')[0]}); ` +
        'it is an optional dependency compiled by npm ci with python3, make and g++: install them and run npm rebuild pkcs11js',
    ]);
  }
}

export type TokenSettings = { module: string; tokenLabel: string; pinSource: string };

/** Loads and initialises the module; a missing or foreign library is DPP_PKCS11_MODULE's fault. */
export function openModule(settings: TokenSettings): Pkcs11Api {
  const { PKCS11 } = loadBinding();
  const p = new PKCS11();
  try {
    p.load(settings.module);
  } catch (e) {
    throw new ConfigError([`DPP_PKCS11_MODULE: cannot load the PKCS#11 library ${settings.module} (${(e as Error).message.split('\n')[0]})`]);
  }
  try {
    p.C_Initialize({ flags: CK.CKF_OS_LOCKING_OK });
  } catch (e) {
    if (ckr(e) !== 'CKR_CRYPTOKI_ALREADY_INITIALIZED') {
      p.close();
      throw new ConfigError([`DPP_PKCS11_MODULE: ${settings.module} failed to initialise (${ckr(e) ?? (e as Error).message})`]);
    }
  }
  return p;
}

/** The one slot holding the token labelled `tokenLabel`; none, or two, is DPP_PKCS11_TOKEN_LABEL's fault. */
export function findSlot(p: Pkcs11Api, settings: TokenSettings): Handle {
  const labels: string[] = [];
  const matches: Handle[] = [];
  for (const slot of p.C_GetSlotList(true)) {
    const label = p.C_GetTokenInfo(slot).label.replace(/[\s\0]+$/, '');
    labels.push(label);
    if (label === settings.tokenLabel) matches.push(slot);
  }
  if (matches.length === 1) return matches[0]!;
  const seen = labels.length ? `tokens present: ${labels.map((l) => JSON.stringify(l)).join(', ')}` : 'no token is present';
  throw new ConfigError([
    matches.length === 0
      ? `DPP_PKCS11_TOKEN_LABEL: no token labelled ${JSON.stringify(settings.tokenLabel)} in ${settings.module} (${seen})`
      : `DPP_PKCS11_TOKEN_LABEL: ${matches.length} tokens are labelled ${JSON.stringify(settings.tokenLabel)}; labels must be unique`,
  ]);
}

/** Checks the token signs Ed25519 at all, so a wrong token fails at start rather than at the first mint. */
export function checkMechanisms(p: Pkcs11Api, slot: Handle, settings: TokenSettings): void {
  const mechanisms = new Set(p.C_GetMechanismList(slot));
  const missing = [
    [CK.CKM_EC_EDWARDS_KEY_PAIR_GEN, 'CKM_EC_EDWARDS_KEY_PAIR_GEN'],
    [CK.CKM_EDDSA, 'CKM_EDDSA'],
  ].filter(([m]) => !mechanisms.has(m as number));
  if (missing.length) {
    throw new ConfigError([`DPP_PKCS11_TOKEN_LABEL: the token ${JSON.stringify(settings.tokenLabel)} does not offer Ed25519 (${missing.map(([, n]) => n).join(', ')} missing)`]);
  }
}

/**
 * Opens a read-write session and logs the user in: every later session of this process shares the login.
 * A refused PIN is the PIN variable's fault; the PIN itself appears nowhere.
 */
export function login(p: Pkcs11Api, slot: Handle, pin: string, settings: TokenSettings): Handle {
  const session = p.C_OpenSession(slot, CK.CKF_SERIAL_SESSION | CK.CKF_RW_SESSION);
  try {
    p.C_Login(session, CK.CKU_USER, pin);
  } catch (e) {
    const code = ckr(e);
    if (code === 'CKR_USER_ALREADY_LOGGED_IN') return session;
    p.C_CloseSession(session);
    const why =
      code === 'CKR_PIN_INCORRECT' ? 'refused the PIN (wrong PIN)'
      : code === 'CKR_PIN_LOCKED' ? 'has locked the user PIN (too many wrong PINs; the security officer must reset it)'
      : code === 'CKR_PIN_EXPIRED' ? 'says the user PIN has expired'
      : `refused the login (${code ?? 'error'})`;
    throw new ConfigError([`${settings.pinSource}: the token ${JSON.stringify(settings.tokenLabel)} ${why}`]);
  }
  return session;
}
