import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import {
  type IRateLimiterOptions,
  type IRateLimiterRedisOptions,
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
  type RateLimiterAbstract,
  RLWrapperTimeouts,
} from 'rate-limiter-flexible';

/** Told when a limiter falls back to counting in this process (Redis slow or away) and when Redis answers again. */
export type LimiterHealth = { fellBack(limiter: string): void; recovered(limiter: string): void };

/** The in-process limit used while Redis does not answer; tells `health` each time it decides. */
class InsuranceLimiter extends RateLimiterMemory {
  constructor(opts: IRateLimiterOptions, private readonly onUse: () => void) {
    super(opts);
  }
  override consume(key: string | number, points?: number, options?: Record<string, unknown>): Promise<RateLimiterRes> {
    this.onUse();
    return super.consume(key, points, options);
  }
}

/** The Redis limiter; tells `health` when Redis answers (a decision either way). */
class WatchedRedisLimiter extends RateLimiterRedis {
  constructor(opts: IRateLimiterRedisOptions, private readonly onAnswer: () => void) {
    super(opts);
  }
  override consume(key: string | number, points?: number, options?: Record<string, unknown>): Promise<RateLimiterRes> {
    return super.consume(key, points, options).then(
      (res) => (this.onAnswer(), res),
      (err: unknown) => {
        if (err instanceof RateLimiterRes) this.onAnswer();
        throw err;
      },
    );
  }
}

/**
 * Per-client budgets (rate-limiter-flexible): in memory on one replica, in Redis when REDIS_URL is set so
 * every replica draws from the same budget. Redis never holds a request up: when its connection is not
 * ready, or it has not answered within `timeoutMs`, the decision is taken by an in-process limiter of the
 * same budget (the library's `insuranceLimiter`), per replica, until Redis answers again.
 */
export function createRateLimiter(opts: {
  keyPrefix: string;
  points: number;
  durationSeconds: number;
  redis?: Redis;
  timeoutMs?: number;
  health?: LimiterHealth;
}): RateLimiterAbstract {
  const common = { keyPrefix: opts.keyPrefix, points: opts.points, duration: opts.durationSeconds };
  if (!opts.redis) return new RateLimiterMemory(common);
  const { health, keyPrefix } = opts;
  const insurance = new InsuranceLimiter(common, () => health?.fellBack(keyPrefix));
  const redis = new WatchedRedisLimiter({ ...common, storeClient: opts.redis, rejectIfRedisNotReady: true }, () => health?.recovered(keyPrefix));
  return new RLWrapperTimeouts({ limiter: redis, timeoutMs: opts.timeoutMs ?? 150, insuranceLimiter: insurance });
}

/**
 * Logs and counts degraded rate limiting: one warning when a limiter starts deciding in process, one line
 * when Redis answers again, and every fallback decision in `dpp_rate_limit_fallback_total`.
 */
export function limiterHealth(log: Logger, metrics: { rateLimitFallback(limiter: string): void; rateLimitDegraded(limiter: string, degraded: boolean): void }): LimiterHealth {
  const degraded = new Set<string>();
  return {
    fellBack(limiter) {
      metrics.rateLimitFallback(limiter);
      if (degraded.has(limiter)) return;
      degraded.add(limiter);
      metrics.rateLimitDegraded(limiter, true);
      log.warn({ limiter }, 'rate limiter degraded: Redis did not answer in time, limits are counted per replica until it does');
    },
    recovered(limiter) {
      if (!degraded.delete(limiter)) return;
      metrics.rateLimitDegraded(limiter, false);
      log.info({ limiter }, 'rate limiter back on Redis');
    },
  };
}
