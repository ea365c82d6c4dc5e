import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SOFTHSM_MODULE } from './requires.js';

/**
 * A SoftHSM2 token of its own in a temporary directory: SOFTHSM2_CONF points the library (in this process, and
 * in the child processes given `env`) at a config whose directories.tokendir is inside it.
 */
export type SoftHsmToken = {
  dir: string;
  conf: string;
  module: string;
  label: string;
  /** A distinctive user PIN, so a grep of the logs for it means something. */
  pin: string;
  soPin: string;
  /** SOFTHSM2_CONF, for child processes. */
  env: Record<string, string>;
  /** The server's settings for this token (the PIN given inline). */
  serverEnv: Record<string, string>;
  /** Runs OpenSC's pkcs11-tool against this token (logged in when `login`), returning stdout. */
  tool(args: string[], opts?: { login?: boolean }): string;
  /** The token's directory under tokendir (SoftHSM names it by a UUID). */
  tokenPath(): string;
  /** Deletes the token's files (as if the HSM went away), keeping a copy for {@link restore}. */
  vanish(): void;
  restore(): void;
  remove(): void;
};

export function createSoftHsmToken(label = `dpp-${randomBytes(3).toString('hex')}`): SoftHsmToken {
  const dir = mkdtempSync(join(tmpdir(), 'dpp-softhsm-'));
  const tokens = join(dir, 'tokens');
  mkdirSync(tokens);
  const conf = join(dir, 'softhsm2.conf');
  writeFileSync(conf, `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`);
  const env = { SOFTHSM2_CONF: conf };
  const pin = `pin-${randomBytes(6).toString('hex')}`;
  const soPin = `so-${randomBytes(6).toString('hex')}`;
  execFileSync('softhsm2-util', ['--init-token', '--free', '--label', label, '--so-pin', soPin, '--pin', pin], { env: { ...process.env, ...env }, stdio: 'pipe' });
  const tokenPath = () => join(tokens, readdirSync(tokens).find((d) => readFileSync(join(tokens, d, 'token.object')).includes(Buffer.from(label)))!);
  const backup = join(dir, 'backup');
  let saved: string | undefined;
  return {
    dir,
    conf,
    module: SOFTHSM_MODULE,
    label,
    pin,
    soPin,
    env,
    serverEnv: { DPP_KEY_STORE: 'pkcs11', DPP_PKCS11_MODULE: SOFTHSM_MODULE, DPP_PKCS11_TOKEN_LABEL: label, DPP_PKCS11_PIN: pin },
    tool(args, opts = {}) {
      const login = opts.login ? ['--login', '--pin', pin] : [];
      return execFileSync('pkcs11-tool', ['--module', SOFTHSM_MODULE, '--token-label', label, ...login, ...args], { env: { ...process.env, ...env }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    },
    tokenPath,
    vanish() {
      saved = tokenPath();
      rmSync(backup, { recursive: true, force: true });
      cpSync(saved, backup, { recursive: true });
      rmSync(saved, { recursive: true, force: true });
    },
    restore() {
      cpSync(backup, saved!, { recursive: true });
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * What another application holding the PIN can learn of a private key, asked from a process of its own
 * (pkcs11js): its protection attributes, and what C_GetAttributeValue(CKA_VALUE) answers.
 */
export function probePrivateKey(token: SoftHsmToken, idHex: string): { count: number; sensitive?: boolean; extractable?: boolean; alwaysSensitive?: boolean; neverExtractable?: boolean; value?: string } {
  const script = `
    const { PKCS11 } = require('pkcs11js');
    const p = new PKCS11(); p.load(process.env.MODULE); p.C_Initialize();
    const slot = p.C_GetSlotList(true).find((s) => p.C_GetTokenInfo(s).label.trim() === process.env.LABEL);
    const s = p.C_OpenSession(slot, 4); p.C_Login(s, 1, process.env.PIN);
    p.C_FindObjectsInit(s, [{ type: 0, value: 3 }, { type: 0x102, value: Buffer.from(process.env.ID, 'hex') }]);
    const found = p.C_FindObjects(s, 10); p.C_FindObjectsFinal(s);
    const out = { count: found.length };
    if (found.length) {
      const flag = (t) => p.C_GetAttributeValue(s, found[0], [{ type: t }])[0].value[0] === 1;
      Object.assign(out, { sensitive: flag(0x103), extractable: flag(0x162), alwaysSensitive: flag(0x165), neverExtractable: flag(0x164) });
      try { p.C_GetAttributeValue(s, found[0], [{ type: 0x11 }]); out.value = 'READ'; } catch (e) { out.value = e.message.split('\\n')[0]; }
    }
    p.C_Finalize();
    process.stdout.write(JSON.stringify(out));`;
  const out = execFileSync(process.execPath, ['-e', script], {
    cwd: process.cwd(),
    env: { ...process.env, ...token.env, MODULE: token.module, LABEL: token.label, PIN: token.pin, ID: idHex },
    encoding: 'utf8',
  });
  return JSON.parse(out) as ReturnType<typeof probePrivateKey>;
}
