/**
 * The request budget shared by every request towards OpenHands. OpenHands rate-limits per client IP
 * over a sliding one-second window (requests 11-20 in a second are delayed 1 s, beyond 20 refused),
 * so the whole process lets at most `perSecond` requests start within any `windowMs` — a sliding
 * window like the server's, not a token bucket: a full bucket plus its refill would allow twice the
 * rate within one second.
 */
export class RequestBudget {
  /** Start times of the requests let through within the last window, oldest first. */
  private readonly sent: number[] = [];
  private readonly queue: Array<() => void> = [];
  private timer: NodeJS.Timeout | undefined;
  private pausedUntil = 0;

  constructor(
    private readonly perSecond: number,
    private readonly windowMs = 1000,
  ) {
    if (!(perSecond >= 1)) throw new RangeError('perSecond must be at least 1');
  }

  /** Resolves when a request may be sent. */
  take(): Promise<void> {
    return new Promise((resolve) => {
      this.queue.push(resolve);
      this.drain();
    });
  }

  /** Upstream asked us to back off (429 Retry-After): nobody sends until then. */
  pause(ms: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, Date.now() + ms);
  }

  get waiting(): number {
    return this.queue.length;
  }

  private drain(): void {
    if (this.timer) return;
    const now = Date.now();
    if (now < this.pausedUntil) {
      this.schedule(this.pausedUntil - now);
      return;
    }
    while (this.sent.length > 0 && now - this.sent[0] >= this.windowMs) this.sent.shift();
    while (this.queue.length > 0 && this.sent.length < this.perSecond) {
      this.sent.push(now);
      this.queue.shift()?.();
    }
    if (this.queue.length > 0) this.schedule(this.sent[0] + this.windowMs - now);
  }

  private schedule(ms: number): void {
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.drain();
      },
      Math.max(1, ms),
    );
    this.timer.unref();
  }
}
