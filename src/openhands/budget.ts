/**
 * A token bucket shared by every request towards OpenHands. OpenHands rate-limits per client IP
 * (11+ requests in a second are delayed, 21+ refused), so the whole process stays under one budget.
 */
export class RequestBudget {
  private tokens: number;
  private last = Date.now();
  private queue: Array<() => void> = [];
  private timer: NodeJS.Timeout | undefined;
  private pausedUntil = 0;

  constructor(private readonly perSecond: number) {
    this.tokens = perSecond;
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
    this.tokens = 0;
  }

  get waiting(): number {
    return this.queue.length;
  }

  private refill(): void {
    const now = Date.now();
    this.tokens = Math.min(this.perSecond, this.tokens + ((now - this.last) / 1000) * this.perSecond);
    this.last = now;
  }

  private drain(): void {
    if (this.timer) return;
    const now = Date.now();
    if (now < this.pausedUntil) {
      this.schedule(this.pausedUntil - now);
      return;
    }
    this.refill();
    while (this.queue.length > 0 && this.tokens >= 1) {
      this.tokens -= 1;
      this.queue.shift()?.();
    }
    if (this.queue.length > 0) this.schedule(Math.ceil(((1 - this.tokens) / this.perSecond) * 1000));
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
