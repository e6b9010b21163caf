/** Waits after the 1st, 2nd, … failed attempt; after the last, hourly until the delivery is a day old. */
export const RETRY_DELAYS_MS = [5_000, 30_000, 120_000, 600_000, 1_800_000, 3_600_000];
export const RETRY_FOR_MS = 24 * 3_600_000;
const JITTER = 0.2;

export interface RetrySchedule {
  /** Multiplies every wait and the 24 h limit (tests use a small factor). */
  scale: number;
  random?: () => number;
}

/**
 * When to try again after `attempts` failed attempts of a delivery created at `createdAt`, or null
 * when it has been retried for 24 hours and is now failed. Each wait varies by ±20%; a receiver's
 * Retry-After, when longer, wins.
 */
export function nextAttemptAt(
  attempts: number,
  createdAt: Date,
  now: Date,
  schedule: RetrySchedule,
  retryAfterMs: number | null = null,
): Date | null {
  const base = RETRY_DELAYS_MS[Math.min(attempts, RETRY_DELAYS_MS.length) - 1] * schedule.scale;
  const jittered = base * (1 + JITTER * (2 * (schedule.random ?? Math.random)() - 1));
  const wait = Math.max(jittered, retryAfterMs ?? 0);
  const at = new Date(now.getTime() + wait);
  if (at.getTime() - createdAt.getTime() > RETRY_FOR_MS * schedule.scale) return null;
  return at;
}
