/**
 * The real server's in-memory limiter: per client IP, over the last second, requests
 * 11-20 are each delayed by 1 s and anything beyond 20 is refused with 429.
 * Refused requests still count, so a client that keeps hammering stays refused.
 */

export type RateDecision = 'allow' | 'delay' | 'reject';

export const RATE_LIMIT_DELAY_MS = 1000;

export class RateLimiter {
  private readonly hits = new Map<string, number[]>();

  constructor(
    private readonly freePerWindow = 10,
    private readonly windowMs = 1000,
  ) {}

  check(key: string, now = Date.now()): RateDecision {
    const recent = (this.hits.get(key) ?? []).filter((t) => now - t < this.windowMs);
    recent.push(now);
    this.hits.set(key, recent);
    if (recent.length > 2 * this.freePerWindow) return 'reject';
    if (recent.length > this.freePerWindow) return 'delay';
    return 'allow';
  }

  /** The limiter is in memory: a server restart forgets it. */
  reset(): void {
    this.hits.clear();
  }
}
