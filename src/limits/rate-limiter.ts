import type { Principal } from '../auth/principal.js';
import { AppError } from '../errors.js';

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * A token bucket per key: `burst` requests at once, refilled at `perMinute`. In memory, so each
 * replica counts on its own (N replicas allow up to N times the rate); enough to stop one runaway
 * client without a shared store.
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();
  private readonly perMs: number;

  constructor(
    private readonly perMinute: number,
    private readonly burst: number,
    private readonly now: () => number = Date.now,
  ) {
    this.perMs = perMinute / 60_000;
  }

  /** Takes one token; returns 0 when allowed, else the seconds until one is available. */
  take(key: string): number {
    if (this.perMinute <= 0) return 0;
    const now = this.now();
    const bucket = this.buckets.get(key) ?? { tokens: this.burst, at: now };
    bucket.tokens = Math.min(this.burst, bucket.tokens + (now - bucket.at) * this.perMs);
    bucket.at = now;
    this.buckets.set(key, bucket);
    if (this.buckets.size > 10_000) this.prune(now);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / this.perMs / 1000));
  }

  /** Full buckets carry no state worth keeping. */
  private prune(now: number): void {
    for (const [key, bucket] of this.buckets) {
      if (bucket.tokens + (now - bucket.at) * this.perMs >= this.burst) this.buckets.delete(key);
    }
  }
}

/**
 * A per-token limit on one kind of operation (`limit`: "mutations", "queries"), answering
 * RATE_LIMITED with the retry time. Internal callers (the system principal) are never limited.
 */
export function tokenRateLimiter(limit: string, perMinute: number, burst: number, onLimited?: () => void) {
  const buckets = new TokenBuckets(perMinute, burst);
  return (principal: Principal): void => {
    if (principal.name === 'system') return;
    const retryAfterSeconds = buckets.take(principal.name);
    if (retryAfterSeconds === 0) return;
    onLimited?.();
    throw new AppError(
      'RATE_LIMITED',
      `Too many ${limit} for this token: at most ${perMinute} per minute (bursts of ${burst}); retry in ${retryAfterSeconds} s`,
      { limit, retryAfterSeconds },
    );
  };
}

/**
 * The mutation limit shared by GraphQL and REST (RunService calls it), so both answer RATE_LIMITED
 * — REST as 429 with Retry-After.
 */
export function mutationLimiter(perMinute: number, burst: number, onLimited?: () => void) {
  return tokenRateLimiter('mutations', perMinute, burst, onLimited);
}

/** The query limit (GraphQL queries; subscriptions are bounded by MAX_SUBSCRIPTIONS_PER_TOKEN). */
export function queryLimiter(perMinute: number, burst: number, onLimited?: () => void) {
  return tokenRateLimiter('queries', perMinute, burst, onLimited);
}
