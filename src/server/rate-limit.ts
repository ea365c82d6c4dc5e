import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';

/**
 * Per-client budgets (rate-limiter-flexible): in memory on one replica, in Redis when REDIS_URL
 * is set so every replica draws from the same budget.
 */
export function createRateLimiter(opts: { keyPrefix: string; points: number; durationSeconds: number; redis?: Redis }): RateLimiterAbstract {
  const common = { keyPrefix: opts.keyPrefix, points: opts.points, duration: opts.durationSeconds };
  return opts.redis
    ? new RateLimiterRedis({ ...common, storeClient: opts.redis, insuranceLimiter: new RateLimiterMemory(common) })
    : new RateLimiterMemory(common);
}

/** Takes one point; returns the seconds to wait when the budget is spent, or 0. */
export async function consume(limiter: RateLimiterAbstract, key: string): Promise<number> {
  try {
    await limiter.consume(key);
    return 0;
  } catch (e) {
    if (e instanceof RateLimiterRes) return Math.max(1, Math.ceil(e.msBeforeNext / 1000));
    throw e;
  }
}
