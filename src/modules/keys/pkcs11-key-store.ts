import { createPublicKey, type KeyObject, randomBytes, verify } from 'node:crypto';
import type { Logger } from 'pino';
import { Piscina } from 'piscina';
import { ConfigError, type Secret } from '../../config/config.js';
import { canonicalBytes, sha256, toBase64Url } from '../../crypto/index.js';
import { RETRY_AFTER_SECONDS } from '../../db/unavailable.js';
import { AppError } from '../../errors/app-error.js';
import { type KeyStore, signingInterrupted } from './key-store.js';
import { packMessages, splitSignatures } from '../../crypto/sign-pool.js';
import type { Pkcs11SignJob } from './pkcs11-sign-worker.js';
import { type Attribute, checkMechanisms, CK, ckr, ED25519_PARAMS, ed25519Point, findSlot, formatRef, type Handle, login, openModule, parseRef, type Pkcs11Api, type TokenRef } from './pkcs11-token.js';

export type Pkcs11Settings = { module: string; tokenLabel: string; pin: Secret; pinSource: string; sessions: number };

/** After a failed reconnect, calls fail at once for this long instead of each knocking on a token that is away. */
const RECONNECT_INTERVAL_MS = 1_000;
/** Codes by which a token declines one way of naming the curve (then the other is tried). */
const CURVE_REFUSED = new Set(['CKR_ATTRIBUTE_VALUE_INVALID', 'CKR_CURVE_NOT_SUPPORTED', 'CKR_DOMAIN_PARAMS_INVALID', 'CKR_TEMPLATE_INCONSISTENT']);

type Connection = { slot: Handle; session: Handle; generation: number; pool: Piscina<Pkcs11SignJob, Uint8Array> };
type TokenKey = { handle: Handle; publicKey: KeyObject };

const unavailable = (message: string, cause?: unknown) => {
  const error = new AppError('SERVICE_UNAVAILABLE', message, { reason: 'KEY_STORE_UNAVAILABLE', retryAfterSeconds: RETRY_AFTER_SECONDS });
  error.cause = cause; // logged, never sent
  return error;
};
const notInStore = (message: string) => new AppError('SERVICE_UNAVAILABLE', message, { reason: 'SIGNING_KEY_NOT_IN_STORE' });
const isTrue = (v: Buffer | undefined) => v?.length === 1 && v[0] === 1;

/**
 * Brands' private keys inside a PKCS#11 token (an HSM; SoftHSM2 in tests): generated there with
 * CKM_EC_EDWARDS_KEY_PAIR_GEN as sensitive, never-extractable token objects whose CKA_ID is the key's kid,
 * used with CKM_EDDSA there, destroyed there on revocation. The database keeps the public key and an RFC 7512
 * URI naming the object. Batches are signed on a pool of worker threads, one token session each.
 *
 * A token failure fails the batch in hand (SERVICE_UNAVAILABLE, reason KEY_STORE_UNAVAILABLE) and marks the
 * connection broken; the next call finalises the library, initialises it again and logs in afresh.
 * Keys of the local store (references `v1.…`) are signed by `legacy` until their brand rotates.
 */
export class Pkcs11KeyStore implements KeyStore {
  readonly name = 'pkcs11';
  private conn: Connection | null = null;
  private generation = 0;
  private readonly keys = new Map<string, TokenKey>();
  private lock: Promise<unknown> = Promise.resolve();
  private lastFailure: { at: number; error: AppError } | null = null;
  private readonly legacyWarned = new Set<string>();
  private curveParams = ED25519_PARAMS;
  private closed = false;
  /** Worker pools of broken connections, until their threads have left the library. */
  private draining: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly p: Pkcs11Api,
    private readonly settings: Pkcs11Settings,
    private readonly log: Logger,
    private readonly legacy?: KeyStore,
  ) {}

  /** Loads the module, finds the token and logs in, or throws a ConfigError naming the variable at fault. */
  static open(settings: Pkcs11Settings, log: Logger, legacy?: KeyStore): Pkcs11KeyStore {
    const p = openModule(settings);
    const store = new Pkcs11KeyStore(p, settings, log, legacy);
    try {
      store.conn = store.connect();
    } catch (e) {
      store.finalize();
      throw e;
    }
    log.info({ module: settings.module, token: settings.tokenLabel, sessions: settings.sessions }, 'PKCS#11 key store: logged in to the token');
    return store;
  }

  async generate(): Promise<{ publicKey: Uint8Array; privateKeyRef: string }> {
    return this.exclusive(async () => {
      const conn = await this.ready();
      const temp = randomBytes(16);
      let pair: { publicKey: Handle; privateKey: Handle } | undefined;
      for (const params of this.curveParams) {
        try {
          pair = await this.p.C_GenerateKeyPairAsync(conn.session, { mechanism: CK.CKM_EC_EDWARDS_KEY_PAIR_GEN }, publicTemplate(params, temp), privateTemplate(temp));
          this.curveParams = [params, ...ED25519_PARAMS.filter((x) => x !== params)];
          break;
        } catch (e) {
          if (!CURVE_REFUSED.has(ckr(e) ?? '')) throw this.failed(e, 'generating a key');
        }
      }
      if (!pair) throw unavailable('The token refused to generate an Ed25519 key', new Error('both forms of CKA_EC_PARAMS were refused'));
      try {
        const [point] = this.p.C_GetAttributeValue(conn.session, pair.publicKey, [{ type: CK.CKA_EC_POINT }]);
        const publicKey = ed25519Point(point!.value);
        // The RFC 7638 thumbprint signing-key.service's kidFor gives the row: CKA_ID is the kid's 32 bytes.
        const kid = toBase64Url(sha256(canonicalBytes({ crv: 'Ed25519', kty: 'OKP', x: toBase64Url(publicKey) })));
        const id = Buffer.from(kid, 'base64url');
        const label = `dpp:${kid}`;
        for (const object of [pair.privateKey, pair.publicKey]) {
          this.p.C_SetAttributeValue(conn.session, object, [{ type: CK.CKA_ID, value: id }, { type: CK.CKA_LABEL, value: label }]);
        }
        this.assertGuarded(conn.session, pair.privateKey);
        const ref = formatRef(this.settings.tokenLabel, id, label);
        this.keys.set(ref, { handle: pair.privateKey, publicKey: ed25519Key(publicKey) });
        this.log.info({ kid, token: this.settings.tokenLabel }, 'PKCS#11 key store: generated an Ed25519 key in the token');
        return { publicKey: new Uint8Array(publicKey), privateKeyRef: ref };
      } catch (e) {
        for (const object of [pair.privateKey, pair.publicKey]) {
          try {
            this.p.C_DestroyObject(conn.session, object);
          } catch {
            // the key is unusable without its row; a failed clean-up leaves an unnamed object, never a used one
          }
        }
        throw e instanceof AppError ? e : this.failed(e, 'labelling a new key');
      }
    });
  }

  async sign(privateKeyRef: string, messages: readonly Uint8Array[]): Promise<Uint8Array[]> {
    const ref = parseRef(privateKeyRef);
    if (!ref) return this.signLegacy(privateKeyRef, messages);
    if (ref.token !== this.settings.tokenLabel) {
      throw notInStore(`This signing key lives in the token ${JSON.stringify(ref.token)}, not in ${JSON.stringify(this.settings.tokenLabel)}; rotate the key`);
    }
    if (messages.length === 0) return [];
    const { conn, key } = await this.exclusive(async () => {
      const live = await this.ready();
      return { conn: live, key: this.keyFor(live, privateKeyRef, ref) };
    });
    // From here to the last pool.run nothing awaits: a batch never mixes one connection's pool with another's handles.
    if (conn !== this.conn) throw unavailable('The signing token reconnected meanwhile; nothing was written; retry');
    const { pool, generation } = conn;
    const slot = new Uint8Array(conn.slot);
    const handle = new Uint8Array(key.handle);
    const per = Math.max(64, Math.ceil(messages.length / (this.settings.sessions * 4)));
    const tasks: Promise<Uint8Array>[] = [];
    for (let start = 0; start < messages.length; start += per) {
      const { data, offsets } = packMessages(messages.slice(start, start + per));
      const job: Pkcs11SignJob = { module: this.settings.module, slot, generation, key: handle, data, offsets };
      tasks.push(pool.run(job, { transferList: [data.buffer, offsets.buffer] }));
    }
    let parts: Uint8Array[];
    try {
      parts = await Promise.all(tasks);
    } catch (e) {
      const message = (e as Error)?.message ?? String(e);
      // A token error in this batch, or the pool stopped under it because another batch found the token failing.
      if (message.startsWith('pkcs11: ') || this.conn !== conn) throw this.failed(e, 'signing a batch', generation);
      throw signingInterrupted(e);
    }
    // A reconnect during the batch would have renumbered handles: nothing signed across one is kept.
    if (generation !== this.generation) throw unavailable('The signing token reconnected during the batch; nothing was written; retry');
    const out = splitSignatures(parts);
    // One signature of each slice checked against the key's public half: the token signed with the key the row names.
    for (let start = 0; start < messages.length; start += per) {
      if (!verify(null, messages[start]!, key.publicKey, out[start]!)) {
        throw this.failed(new Error('a signature from the token does not verify with the key it was asked to use'), 'checking a batch', generation);
      }
    }
    return out;
  }

  /**
   * Destroys a key's objects (private and public) in the token; revocation calls it once the revocation is
   * committed. Never throws: a failure is logged and retried at the next start (see sweepRevokedKeys).
   */
  async destroy(privateKeyRef: string): Promise<boolean> {
    const ref = parseRef(privateKeyRef);
    if (!ref) return true; // a local key: its reference is the row itself
    if (ref.token !== this.settings.tokenLabel) {
      this.log.error({ token: ref.token }, 'PKCS#11 key store: cannot destroy a key held by another token; destroy it there by hand');
      return false;
    }
    return this.exclusive(async () => {
      try {
        const conn = await this.ready();
        this.keys.delete(privateKeyRef);
        const objects = [CK.CKO_PRIVATE_KEY, CK.CKO_PUBLIC_KEY].flatMap((kind) =>
          this.find(conn.session, [{ type: CK.CKA_CLASS, value: kind }, { type: CK.CKA_ID, value: ref.id }]).map((handle) => ({ kind, handle })),
        );
        for (const { kind, handle } of objects) {
          try {
            this.p.C_DestroyObject(conn.session, handle);
          } catch (e) {
            if (ckr(e) !== 'CKR_ACTION_PROHIBITED') throw e;
            // A token that refuses deletion (CKA_DESTROYABLE false): the private key is at least made unable to sign.
            if (kind === CK.CKO_PRIVATE_KEY) this.p.C_SetAttributeValue(conn.session, handle, [{ type: CK.CKA_SIGN, value: false }]);
            this.log.warn({ kid: toBase64Url(ref.id) }, 'PKCS#11 key store: the token refuses to destroy the key; its private half is marked CKA_SIGN=false');
          }
        }
        if (objects.length) this.log.info({ kid: toBase64Url(ref.id), objects: objects.length }, 'PKCS#11 key store: destroyed a key in the token');
        return true;
      } catch (e) {
        if (!(e instanceof AppError)) this.failed(e, 'destroying a key');
        this.log.error({ err: e, kid: toBase64Url(ref.id) }, 'PKCS#11 key store: could not destroy a revoked key in the token; retried at the next start');
        return false;
      }
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.exclusive(async () => {
      await this.conn?.pool.destroy();
      await this.draining;
      this.finalize();
    });
    await this.legacy?.close?.();
  }

  /**
   * The token's session pool and control session: the live connection, or a fresh one after a failure.
   * Called under {@link exclusive} only, so no other token call runs while the library is finalised.
   */
  private async ready(): Promise<Connection> {
    if (this.closed) throw unavailable('The key store is closed');
    if (this.conn) return this.conn;
    if (this.lastFailure && Date.now() - this.lastFailure.at < RECONNECT_INTERVAL_MS) throw this.lastFailure.error;
    // No worker thread may be inside the library when it is finalised.
    await this.draining;
    try {
      this.finalize();
      this.p.C_Initialize({ flags: CK.CKF_OS_LOCKING_OK });
      this.conn = this.connect();
      this.lastFailure = null;
      this.log.info({ token: this.settings.tokenLabel, generation: this.generation }, 'PKCS#11 key store: reconnected to the token');
      return this.conn;
    } catch (e) {
      const problem = e instanceof ConfigError ? e.problems.join('; ') : (ckr(e) ?? (e as Error).message);
      const error = unavailable('The signing token is unavailable; nothing was written; retry', e);
      this.lastFailure = { at: Date.now(), error };
      this.log.warn({ problem }, 'PKCS#11 key store: reconnecting to the token failed');
      throw error;
    }
  }

  /** Finds the token, logs in and starts an empty signing pool (its workers open their sessions on first use). */
  private connect(): Connection {
    const slot = findSlot(this.p, this.settings);
    checkMechanisms(this.p, slot, this.settings);
    const session = login(this.p, slot, this.settings.pin.reveal(), this.settings);
    this.keys.clear();
    const generation = ++this.generation;
    // From src/ under the test runner the worker is .ts (Node strips the types); compiled it is .js.
    const filename = new URL(`./pkcs11-sign-worker.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`, import.meta.url).href;
    const size = this.settings.sessions;
    const pool = new Piscina<Pkcs11SignJob, Uint8Array>({ filename, minThreads: size, maxThreads: size, idleTimeout: Infinity, concurrentTasksPerWorker: 2 });
    pool.on('error', () => undefined); // a worker failing while idle is replaced; unheard, the event would crash the process
    return { slot, session, generation, pool };
  }

  /** Marks the connection broken (the next call reconnects) and says so, without any detail a client should not see. */
  private failed(e: unknown, doing: string, generation = this.generation): AppError {
    const broken = this.conn;
    if (broken && broken.generation === generation) {
      this.conn = null;
      this.draining = Promise.all([this.draining, broken.pool.destroy().catch(() => undefined)]);
    }
    this.log.error({ err: e, code: ckr(e), token: this.settings.tokenLabel }, `PKCS#11 key store: the token failed while ${doing}; reconnecting on next use`);
    return unavailable('The signing token failed; nothing was written; retry', e);
  }

  private finalize(): void {
    this.conn = null;
    try {
      this.p.C_Finalize();
    } catch {
      // already finalised, or the library is gone: either way there is nothing left to close
    }
  }

  /** The private key's handle and public half for this connection, found once by CKA_ID. */
  private keyFor(conn: Connection, refText: string, ref: TokenRef): TokenKey {
    const cached = this.keys.get(refText);
    if (cached) return cached;
    let priv: Handle[];
    let pub: Handle[];
    let point: Buffer;
    try {
      priv = this.find(conn.session, [{ type: CK.CKA_CLASS, value: CK.CKO_PRIVATE_KEY }, { type: CK.CKA_ID, value: ref.id }]);
      pub = this.find(conn.session, [{ type: CK.CKA_CLASS, value: CK.CKO_PUBLIC_KEY }, { type: CK.CKA_ID, value: ref.id }]);
      if (priv.length !== 1 || pub.length !== 1) {
        throw notInStore(`The signing key ${toBase64Url(ref.id)} is not in the token (destroyed, or created in another token); rotate the key`);
      }
      point = ed25519Point(this.p.C_GetAttributeValue(conn.session, pub[0]!, [{ type: CK.CKA_EC_POINT }])[0]!.value);
    } catch (e) {
      throw e instanceof AppError ? e : this.failed(e, 'finding a key');
    }
    const key = { handle: priv[0]!, publicKey: ed25519Key(point) };
    this.keys.set(refText, key);
    return key;
  }

  private find(session: Handle, template: Attribute[]): Handle[] {
    this.p.C_FindObjectsInit(session, template);
    try {
      return this.p.C_FindObjects(session, 16);
    } finally {
      this.p.C_FindObjectsFinal(session);
    }
  }

  /** Refuses a key the token did not make sensitive and non-extractable, whatever the template asked. */
  private assertGuarded(session: Handle, key: Handle): void {
    const want = [
      [CK.CKA_TOKEN, true],
      [CK.CKA_PRIVATE, true],
      [CK.CKA_SENSITIVE, true],
      [CK.CKA_EXTRACTABLE, false],
      [CK.CKA_ALWAYS_SENSITIVE, true],
      [CK.CKA_NEVER_EXTRACTABLE, true],
    ] as const;
    const got = this.p.C_GetAttributeValue(session, key, want.map(([type]) => ({ type })));
    const wrong = want.filter(([, value], i) => isTrue(got[i]?.value) !== value);
    if (wrong.length) throw unavailable('The token did not keep a new key sensitive and non-extractable', new Error(`attributes not as asked: ${wrong.map(([t]) => t.toString(16)).join(', ')}`));
  }

  private async signLegacy(ref: string, messages: readonly Uint8Array[]): Promise<Uint8Array[]> {
    if (!this.legacy) throw notInStore('This signing key is not in the PKCS#11 token; rotate the key');
    if (!this.legacyWarned.has(ref)) {
      this.legacyWarned.add(ref);
      this.log.warn("PKCS#11 key store: a brand's ACTIVE key is still a local key; it signs until the brand rotates (rotateSigningKey) into the token");
    }
    return this.legacy.sign(ref, messages);
  }

  /** Runs token calls that use the control session one at a time (and never across a reconnect). */
  private exclusive<T>(fn: () => Promise<T> | T): Promise<T> {
    const run = this.lock.then(fn, fn);
    this.lock = run.catch(() => undefined);
    return run;
  }
}

function ed25519Key(raw: Buffer): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
}

function publicTemplate(params: Buffer, id: Buffer): Attribute[] {
  return [
    { type: CK.CKA_TOKEN, value: true },
    { type: CK.CKA_PRIVATE, value: false },
    { type: CK.CKA_VERIFY, value: true },
    { type: CK.CKA_EC_PARAMS, value: params },
    { type: CK.CKA_ID, value: id },
    { type: CK.CKA_LABEL, value: 'dpp:pending' },
  ];
}

/** Sensitive and never extractable: no call, not even with the PIN, can read or wrap the private key out. */
function privateTemplate(id: Buffer): Attribute[] {
  return [
    { type: CK.CKA_TOKEN, value: true },
    { type: CK.CKA_PRIVATE, value: true },
    { type: CK.CKA_SENSITIVE, value: true },
    { type: CK.CKA_EXTRACTABLE, value: false },
    { type: CK.CKA_SIGN, value: true },
    { type: CK.CKA_DERIVE, value: false },
    { type: CK.CKA_ID, value: id },
    { type: CK.CKA_LABEL, value: 'dpp:pending' },
  ];
}
