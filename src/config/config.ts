import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { inspect } from 'node:util';
import { z } from 'zod';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const postgresUrl = z
  .string()
  .url()
  .refine((u) => /^postgres(ql)?:\/\//.test(u), 'must be a postgres:// or postgresql:// URL');

const origins = z
  .string()
  .transform((s) => s.split(',').map((o) => o.trim()).filter(Boolean))
  .pipe(z.array(z.string().url()).min(1));

/** Every environment variable the server reads, with its default. */
const schema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: int(0, 65535).default(4000),
  HOST: z.string().min(1).default('0.0.0.0'),
  DATABASE_URL: postgresUrl.optional(),
  DPP_DATA_DIR: z.string().min(1).default('./.data'),
  DPP_DB_POOL_SIZE: int(1, 200).default(10),
  REDIS_URL: z
    .string()
    .refine((u) => /^rediss?:\/\//.test(u), 'must be a redis:// or rediss:// URL')
    .optional(),
  DPP_REDIS_TIMEOUT_MS: int(10, 10_000).default(150),
  DPP_BOOTSTRAP_API_KEY: z.string().min(24, 'must be at least 24 characters').optional(),
  WEBAUTHN_RP_ID: z.string().min(1).default('localhost'),
  WEBAUTHN_ORIGINS: origins.optional(),
  WEBAUTHN_RP_NAME: z.string().min(1).max(64).default('Digital product passports'),
  WEBAUTHN_CHALLENGE_TTL_SECONDS: int(1, 3600).default(300),
  DPP_OWNER_SESSION_TTL_SECONDS: int(60, 90 * 86_400).default(7 * 86_400),
  DPP_TRANSFER_OFFER_TTL_SECONDS: int(60, 90 * 86_400).default(3 * 86_400),
  DPP_RESOLVER_HOST: z.string().min(1).optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  DPP_INTROSPECTION: bool.optional(),
  DPP_MAX_BODY_BYTES: int(1024, 64 * 1024 * 1024).default(1024 * 1024),
  DPP_MAX_DEPTH: int(2, 100).default(12),
  DPP_MAX_ALIASES: int(1, 1000).default(30),
  DPP_MAX_COST: int(100, 1_000_000).default(50_000),
  DPP_MAX_TOKENS: int(100, 1_000_000).default(5_000),
  DPP_MAX_DIRECTIVES: int(1, 1000).default(50),
  DPP_RATE_LIMIT_ANON_PER_MINUTE: int(1, 1_000_000).default(600),
  DPP_WS_MAX_SUBSCRIPTIONS: int(1, 10_000).default(50),
  DPP_WS_INIT_TIMEOUT_MS: int(100, 60_000).default(3_000),
  DPP_WS_RECHECK_MS: int(100, 3_600_000).default(30_000),
  DPP_SHUTDOWN_TIMEOUT_MS: int(100, 120_000).default(10_000),
  DPP_TRUST_PROXY: int(0, 10).default(0),
  DPP_API_KEY_CACHE_MS: int(0, 3_600_000).default(60_000),
  DPP_SCAN_RETENTION_DAYS: int(1, 36_500).default(400),
  DPP_AUDIT_RETENTION_DAYS: int(1, 36_500).default(2_190),
  DPP_RETENTION_INTERVAL_MS: int(0, 86_400_000).default(3_600_000),
  DPP_METRICS_TOKEN: z.string().min(24, 'must be at least 24 characters').optional(),
  DPP_METRICS_PORT: int(0, 65535).optional(),
  DPP_METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  DPP_WEBHOOK_RETRY_SCHEDULE: z
    .string()
    .transform((s) => s.split(',').map((v) => Number(v.trim())))
    .refine((a) => a.length >= 1 && a.length <= 30 && a.every((n) => Number.isFinite(n) && n >= 0 && n <= 7 * 86_400), 'comma-separated seconds, 1 to 30 of them, each at most 7 days')
    .optional(),
  DPP_WEBHOOK_CONNECT_TIMEOUT_MS: int(10, 60_000).default(5_000),
  DPP_WEBHOOK_TIMEOUT_MS: int(10, 120_000).default(15_000),
  DPP_WEBHOOK_CONCURRENCY: int(1, 100).default(4),
  DPP_WEBHOOK_ROTATION_GRACE_SECONDS: int(0, 30 * 86_400).default(86_400),
  DPP_WEBHOOK_POLL_MS: int(10, 60_000).default(1_000),
  DPP_LOG_ORIGIN: z
    .string()
    .regex(/^[^\s+]+$/, 'no spaces or plus signs (it is the checkpoint origin and the log key name)')
    .optional(),
  DPP_LOG_INTERVAL_MS: int(0, 60_000).default(500),
  DPP_LOG_CHECKPOINT_MS: int(0, 3_600_000).default(2_000),
  DPP_LOG_BATCH: int(1, 1_000_000).default(20_000),
  DPP_MASTER_KEY: z
    .string()
    .transform((s) => Buffer.from(s.trim(), /^[0-9a-fA-F]{64}$/.test(s.trim()) ? 'hex' : 'base64url'))
    .refine((b) => b.length === 32, 'must be 32 bytes, as 64 hex characters or base64url')
    .optional(),
  DPP_KEY_STORE: z.enum(['local', 'pkcs11']).default('local'),
  DPP_PKCS11_MODULE: z.string().min(1).optional(),
  // PKCS#11 token labels are 32 bytes, blank-padded.
  DPP_PKCS11_TOKEN_LABEL: z.string().min(1).refine((s) => Buffer.byteLength(s) <= 32, 'at most 32 bytes').optional(),
  DPP_PKCS11_PIN: z.string().min(1).max(256).optional(),
  DPP_PKCS11_PIN_FILE: z.string().min(1).optional(),
  DPP_PKCS11_SESSIONS: int(1, 64).optional(),
});

/** Variables whose values never appear in an error (a bad value is reported by its length only). */
const SECRET_VARIABLES = new Set(['DPP_PKCS11_PIN', 'DPP_MASTER_KEY', 'DPP_BOOTSTRAP_API_KEY', 'DPP_METRICS_TOKEN']);

/**
 * A secret the server must keep in memory (the token PIN): JSON, `util.inspect` and string conversion all
 * print `[redacted]`, so no log line, error or serialised config can carry it by accident.
 */
export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  /** The secret itself, for the one call that needs it. */
  reveal(): string {
    return this.#value;
  }
  toJSON(): string {
    return '[redacted]';
  }
  toString(): string {
    return '[redacted]';
  }
  [inspect.custom](): string {
    return '[redacted]';
  }
}

/** Where brands' private signing keys live: encrypted in the database (`local`) or in a PKCS#11 token. */
export type KeyStoreConfig =
  | { kind: 'local' }
  | {
      kind: 'pkcs11';
      /** The vendor's PKCS#11 library (a shared object). */
      module: string;
      tokenLabel: string;
      pin: Secret;
      /** Which variable the PIN came from, for messages (DPP_PKCS11_PIN or DPP_PKCS11_PIN_FILE). */
      pinSource: 'DPP_PKCS11_PIN' | 'DPP_PKCS11_PIN_FILE';
      /** Token sessions, each on its own signing thread. */
      sessions: number;
    };

export type Config = {
  env: 'development' | 'production' | 'test';
  port: number;
  host: string;
  /** PostgreSQL server URL; undefined means the embedded PGlite database. */
  databaseUrl?: string;
  /** Where embedded PGlite keeps its files; `memory://` for a throwaway database. */
  dataDir: string;
  dbPoolSize: number;
  redisUrl?: string;
  /** How long a request waits on Redis for a rate-limit decision before the limit is counted in this process instead. */
  redisTimeoutMs: number;
  bootstrapApiKey?: string;
  webauthn: {
    rpId: string;
    origins: string[];
    /** Shown by authenticators next to the account name. */
    rpName: string;
    /** How long a passkey challenge may be answered. */
    challengeTtlSeconds: number;
    /** True when WEBAUTHN_ORIGINS was not set: the origin follows the port actually bound (PORT=0 in tests). */
    originsDefaulted: boolean;
  };
  owners: {
    /** Lifetime of an owner session token. */
    sessionTtlSeconds: number;
    /** How long a transfer offer's one-time code may be accepted. */
    transferOfferTtlSeconds: number;
  };
  /** Host (optionally with scheme and port) that GS1 Digital Links point at. */
  resolverHost: string;
  logLevel: string;
  introspection: boolean;
  limits: {
    maxBodyBytes: number;
    maxDepth: number;
    maxAliases: number;
    maxCost: number;
    maxTokens: number;
    maxDirectives: number;
    anonRequestsPerMinute: number;
    wsMaxSubscriptions: number;
    wsInitTimeoutMs: number;
    /** How often open graphql-ws connections re-check their key or owner session; revoked or expired ones are closed (4403). */
    wsRecheckMs: number;
  };
  shutdownTimeoutMs: number;
  /**
   * How long a successful API-key lookup may be answered from this process's memory (0: never). Revocations
   * evict at once; this bounds what a lost notification could leave.
   */
  apiKeyCacheMs: number;
  /** Proxy hops whose X-Forwarded-For is believed (0: none), for per-client rate limits behind a load balancer. */
  trustProxy: number | false;
  /** 32-byte master secret (encrypts signing keys at rest, peppers claim codes). */
  masterKey?: Uint8Array;
  keyStore: KeyStoreConfig;
  retention: {
    /** Scans are deleted this many days after they were recorded (aggregated per day first). */
    scanDays: number;
    /** Audit entries are deleted this many days after they were written. */
    auditDays: number;
    /** How often each replica runs the retention job (0: never). */
    intervalMs: number;
  };
  /**
   * Where Prometheus reads `/metrics`: on a listener of its own (`port`, bound to `host`), and/or behind a
   * bearer `token`. With neither, metrics are not served at all (they name operations and reveal load).
   */
  metrics: { token?: string; port?: number; host: string };
  webhooks: {
    /** Production: https only, and no loopback, link-local or private address (also after DNS resolution). */
    strictUrls: boolean;
    /** Delay in ms before each retry after the first attempt; its length is the number of retries (default spans 75 h). */
    retryScheduleMs: number[];
    connectTimeoutMs: number;
    /** Whole attempt, connect to last response byte. */
    timeoutMs: number;
    /** Attempts in flight per endpoint, across replicas. */
    concurrency: number;
    /** How long the previous secret keeps signing after a rotation. */
    rotationGraceSeconds: number;
    pollMs: number;
  };
  /** The transparency log (issue 17): who integrates leaves, how often, and what its checkpoints are called. */
  log: {
    /** Checkpoint origin line and log key name (C2SP tlog-checkpoint); defaults to `<resolver host>/log`. */
    origin: string;
    /** How often this replica looks for events to integrate (0: never; it still serves proofs). */
    intervalMs: number;
    /** Least time between two checkpoints while leaves arrive. */
    checkpointMs: number;
    /** Most leaves integrated in one transaction. */
    batch: number;
  };
};

/** Standard Webhooks' example schedule: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h (75 h in all). */
const WEBHOOK_RETRY_SECONDS = [5, 300, 1800, 7200, 18_000, 36_000, 50_400, 72_000, 86_400];

/** The host (and port) of a host or URL: `https://id.example.com/x` and `id.example.com` both give `id.example.com`. */
const hostOf = (h: string) => {
  try {
    return new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(h) ? h : `http://${h}`).host;
  } catch {
    return h.replace(/[\s+]/g, '');
  }
};

/** Thrown when the environment does not describe a startable server; lists every bad variable. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Parses and validates the environment once; throws ConfigError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const present = Object.fromEntries(
    Object.keys(schema.shape)
      .filter((k) => env[k] !== undefined && env[k] !== '')
      .map((k) => [k, env[k]]),
  );
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => {
        const name = String(i.path[0]);
        const got = SECRET_VARIABLES.has(name) ? `${String(present[name]).length} characters, not shown` : JSON.stringify(present[name]);
        return `${i.path.join('.')}: ${i.message} (got ${got})`;
      }),
    );
  }
  const e = parsed.data;
  if (e.NODE_ENV === 'production' && !e.DPP_MASTER_KEY) {
    throw new ConfigError(['DPP_MASTER_KEY: required when NODE_ENV=production (32 bytes, hex or base64url)']);
  }
  const keyStore = keyStoreConfig(e);
  const localOrigin = `http://localhost:${e.PORT}`;
  return {
    env: e.NODE_ENV,
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL,
    dataDir: e.DPP_DATA_DIR,
    dbPoolSize: e.DPP_DB_POOL_SIZE,
    redisUrl: e.REDIS_URL,
    redisTimeoutMs: e.DPP_REDIS_TIMEOUT_MS,
    bootstrapApiKey: e.DPP_BOOTSTRAP_API_KEY,
    webauthn: {
      rpId: e.WEBAUTHN_RP_ID,
      origins: e.WEBAUTHN_ORIGINS ?? [localOrigin],
      rpName: e.WEBAUTHN_RP_NAME,
      challengeTtlSeconds: e.WEBAUTHN_CHALLENGE_TTL_SECONDS,
      originsDefaulted: !e.WEBAUTHN_ORIGINS,
    },
    owners: { sessionTtlSeconds: e.DPP_OWNER_SESSION_TTL_SECONDS, transferOfferTtlSeconds: e.DPP_TRANSFER_OFFER_TTL_SECONDS },
    resolverHost: e.DPP_RESOLVER_HOST ?? localOrigin,
    logLevel: e.LOG_LEVEL,
    introspection: e.DPP_INTROSPECTION ?? e.NODE_ENV !== 'production',
    limits: {
      maxBodyBytes: e.DPP_MAX_BODY_BYTES,
      maxDepth: e.DPP_MAX_DEPTH,
      maxAliases: e.DPP_MAX_ALIASES,
      maxCost: e.DPP_MAX_COST,
      maxTokens: e.DPP_MAX_TOKENS,
      maxDirectives: e.DPP_MAX_DIRECTIVES,
      anonRequestsPerMinute: e.DPP_RATE_LIMIT_ANON_PER_MINUTE,
      wsMaxSubscriptions: e.DPP_WS_MAX_SUBSCRIPTIONS,
      wsInitTimeoutMs: e.DPP_WS_INIT_TIMEOUT_MS,
      wsRecheckMs: e.DPP_WS_RECHECK_MS,
    },
    shutdownTimeoutMs: e.DPP_SHUTDOWN_TIMEOUT_MS,
    apiKeyCacheMs: e.DPP_API_KEY_CACHE_MS,
    trustProxy: e.DPP_TRUST_PROXY || false,
    masterKey: e.DPP_MASTER_KEY,
    keyStore,
    retention: { scanDays: e.DPP_SCAN_RETENTION_DAYS, auditDays: e.DPP_AUDIT_RETENTION_DAYS, intervalMs: e.DPP_RETENTION_INTERVAL_MS },
    metrics: { token: e.DPP_METRICS_TOKEN, port: e.DPP_METRICS_PORT, host: e.DPP_METRICS_HOST },
    webhooks: {
      strictUrls: e.NODE_ENV === 'production',
      retryScheduleMs: (e.DPP_WEBHOOK_RETRY_SCHEDULE ?? WEBHOOK_RETRY_SECONDS).map((s) => Math.round(s * 1000)),
      connectTimeoutMs: e.DPP_WEBHOOK_CONNECT_TIMEOUT_MS,
      timeoutMs: e.DPP_WEBHOOK_TIMEOUT_MS,
      concurrency: e.DPP_WEBHOOK_CONCURRENCY,
      rotationGraceSeconds: e.DPP_WEBHOOK_ROTATION_GRACE_SECONDS,
      pollMs: e.DPP_WEBHOOK_POLL_MS,
    },
    log: {
      origin: e.DPP_LOG_ORIGIN ?? `${hostOf(e.DPP_RESOLVER_HOST ?? localOrigin)}/log`,
      intervalMs: e.DPP_LOG_INTERVAL_MS,
      checkpointMs: e.DPP_LOG_CHECKPOINT_MS,
      batch: e.DPP_LOG_BATCH,
    },
  };
}

/** DPP_KEY_STORE and its PKCS#11 settings; the PIN is read here (from the file, once) and never printed. */
function keyStoreConfig(e: z.infer<typeof schema>): KeyStoreConfig {
  if (e.DPP_KEY_STORE === 'local') return { kind: 'local' };
  const problems: string[] = [];
  if (!e.DPP_PKCS11_MODULE) problems.push("DPP_PKCS11_MODULE: required when DPP_KEY_STORE=pkcs11 (the vendor's PKCS#11 library)");
  if (!e.DPP_PKCS11_TOKEN_LABEL) problems.push('DPP_PKCS11_TOKEN_LABEL: required when DPP_KEY_STORE=pkcs11');
  let pin: string | undefined;
  if (e.DPP_PKCS11_PIN && e.DPP_PKCS11_PIN_FILE) problems.push('DPP_PKCS11_PIN / DPP_PKCS11_PIN_FILE: set one, not both');
  else if (e.DPP_PKCS11_PIN) pin = e.DPP_PKCS11_PIN;
  else if (e.DPP_PKCS11_PIN_FILE) {
    try {
      // One trailing line break is the file's, not the PIN's.
      pin = readFileSync(e.DPP_PKCS11_PIN_FILE, 'utf8').replace(/\r?\n$/, '');
      if (!pin) problems.push(`DPP_PKCS11_PIN_FILE: ${e.DPP_PKCS11_PIN_FILE} is empty`);
    } catch (err) {
      problems.push(`DPP_PKCS11_PIN_FILE: cannot read ${e.DPP_PKCS11_PIN_FILE} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  } else problems.push('DPP_PKCS11_PIN_FILE (or DPP_PKCS11_PIN): the user PIN is required when DPP_KEY_STORE=pkcs11');
  if (problems.length) throw new ConfigError(problems);
  return {
    kind: 'pkcs11',
    module: e.DPP_PKCS11_MODULE!,
    tokenLabel: e.DPP_PKCS11_TOKEN_LABEL!,
    pin: new Secret(pin!),
    pinSource: e.DPP_PKCS11_PIN ? 'DPP_PKCS11_PIN' : 'DPP_PKCS11_PIN_FILE',
    sessions: e.DPP_PKCS11_SESSIONS ?? Math.max(1, Math.min(4, availableParallelism())),
  };
}
