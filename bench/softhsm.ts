/** bench:mint's PKCS#11 variant: a SoftHSM2 token of its own in a temporary directory, and its raw signing rate. */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CK, ED25519_PARAMS, type Pkcs11Api } from '../src/modules/keys/pkcs11-token.js';

export type BenchToken = { module: string; label: string; pin: string; env: Record<string, string>; remove(): void };

/** A fresh SoftHSM2 token (SOFTHSM2_CONF is set in this process), or why there can be none here. */
export function softHsmToken(): BenchToken | string {
  const module = process.env.BENCH_SOFTHSM_MODULE || '/usr/lib/softhsm/libsofthsm2.so';
  if (process.env.BENCH_PKCS11 === '0') return 'BENCH_PKCS11=0';
  if (!existsSync(module)) return `no SoftHSM2 library at ${module} (apt-get install softhsm2)`;
  try {
    createRequire(import.meta.url)('pkcs11js');
  } catch {
    return 'the pkcs11js binding is not built (npm rebuild pkcs11js)';
  }
  const dir = mkdtempSync(join(tmpdir(), 'dpp-bench-softhsm-'));
  mkdirSync(join(dir, 'tokens'));
  const conf = join(dir, 'softhsm2.conf');
  writeFileSync(conf, `directories.tokendir = ${join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  process.env.SOFTHSM2_CONF = conf;
  const label = 'dpp-bench';
  const pin = randomBytes(8).toString('hex');
  execFileSync('softhsm2-util', ['--init-token', '--free', '--label', label, '--so-pin', randomBytes(8).toString('hex'), '--pin', pin], { stdio: 'ignore' });
  return {
    module,
    label,
    pin,
    env: { DPP_KEY_STORE: 'pkcs11', DPP_PKCS11_MODULE: module, DPP_PKCS11_TOKEN_LABEL: label, DPP_PKCS11_PIN: pin },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** CKM_EDDSA signatures per second on one session of the token (C_SignInit + C_Sign each), with no server around. */
export function rawTokenSignRate(token: BenchToken, messages: readonly Uint8Array[]): number {
  const { PKCS11 } = createRequire(import.meta.url)('pkcs11js') as { PKCS11: new () => Pkcs11Api };
  const p = new PKCS11();
  p.load(token.module);
  p.C_Initialize({ flags: CK.CKF_OS_LOCKING_OK });
  try {
    const slot = p.C_GetSlotList(true).find((s) => p.C_GetTokenInfo(s).label.trim() === token.label)!;
    const session = p.C_OpenSession(slot, CK.CKF_SERIAL_SESSION | CK.CKF_RW_SESSION);
    p.C_Login(session, CK.CKU_USER, token.pin);
    const pair = (p as unknown as { C_GenerateKeyPair: (...a: unknown[]) => { privateKey: Buffer } }).C_GenerateKeyPair(
      session,
      { mechanism: CK.CKM_EC_EDWARDS_KEY_PAIR_GEN },
      [{ type: CK.CKA_TOKEN, value: true }, { type: CK.CKA_EC_PARAMS, value: ED25519_PARAMS[0] }],
      [{ type: CK.CKA_TOKEN, value: true }, { type: CK.CKA_PRIVATE, value: true }, { type: CK.CKA_SENSITIVE, value: true }, { type: CK.CKA_EXTRACTABLE, value: false }, { type: CK.CKA_SIGN, value: true }],
    );
    const out = Buffer.alloc(64);
    const t0 = performance.now();
    for (const m of messages) {
      p.C_SignInit(session, { mechanism: CK.CKM_EDDSA }, pair.privateKey);
      p.C_Sign(session, Buffer.from(m), out);
    }
    return messages.length / ((performance.now() - t0) / 1000);
  } finally {
    p.C_Finalize();
  }
}
