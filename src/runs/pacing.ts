/**
 * When the poller's next round starts: after the interval, or sooner when woken (a run was queued
 * or cancelled) — but never sooner than `minGapMs` after the last round began. Without that floor, a
 * burst of startRun calls kept the poller claiming back to back: a few queries per round, hundreds
 * of rounds a second, about as much database work as the calls themselves (bench/RESULTS.md, scenario 1).
 */
export class Pacer {
  private wakeUp: (() => void) | undefined;
  private woken = false;
  private timer: NodeJS.Timeout | undefined;
  private lastTickAt = 0;

  constructor(
    private readonly minGapMs: number,
    /** False once the poller stops: a wake then ends the sleep at once. */
    private readonly running: () => boolean,
  ) {}

  /** A round begins now. */
  tick(): void {
    this.lastTickAt = Date.now();
  }

  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  /** Waits `ms`, or less when woken: then until `minGapMs` after the last round began. */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      let due = Date.now() + ms;
      const finish = () => {
        clearTimeout(this.timer);
        this.wakeUp = undefined;
        this.woken = false;
        resolve();
      };
      const schedule = (at: number) => {
        due = at;
        clearTimeout(this.timer);
        this.timer = setTimeout(finish, Math.max(0, at - Date.now()));
      };
      this.wakeUp = () => {
        if (!this.running()) return finish();
        const soonest = this.lastTickAt + this.minGapMs;
        if (soonest < due) schedule(soonest);
      };
      schedule(due);
      if (this.woken) this.wakeUp();
    });
  }
}

/** Runs `work` over `items`, at most `limit` at a time. */
export async function mapLimit<T>(
  items: T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await work(items[next++]);
  });
  await Promise.all(workers);
}
