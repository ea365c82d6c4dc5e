import { type RateLimiterAbstract, RateLimiterRes } from 'rate-limiter-flexible';

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
