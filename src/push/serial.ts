/**
 * Pushes for one run are written one transaction at a time, and only a few transactions run at
 * once overall. An agent server sends each event as soon as it happens (buffer size 1), so a busy
 * conversation has many POSTs in flight at once: as concurrent transactions they would each hold a
 * database connection while waiting for the same row lock, and exhaust the pool; one after another
 * they would queue behind each other. So pushes that arrive while the run's write is in flight wait
 * (without a connection) and are then written together, in one transaction; each request is
 * answered once the write that includes it has committed.
 */
export class PushCoalescer<Item, Result> {
  private readonly writing = new Set<string>();
  private readonly pending = new Map<string, Array<{ item: Item; settle: Settle<Result> }>>();

  constructor(
    /** Writes the items of one run together. */
    private readonly write: (key: string, items: Item[]) => Promise<Result>,
    /** Shared with the push lookups: the database connections pushes may hold at once. */
    private readonly slots: Semaphore,
  ) {}

  submit(key: string, item: Item): Promise<Result> {
    return new Promise<Result>((resolve, reject) => {
      const queue = this.pending.get(key) ?? [];
      queue.push({ item, settle: { resolve, reject } });
      this.pending.set(key, queue);
      if (!this.writing.has(key)) void this.drain(key);
    });
  }

  private async drain(key: string): Promise<void> {
    this.writing.add(key);
    try {
      for (let batch = this.take(key); batch.length > 0; batch = this.take(key)) {
        await this.slots.run(async () => {
          try {
            const result = await this.write(
              key,
              batch.map((b) => b.item),
            );
            for (const b of batch) b.settle.resolve(result);
          } catch (error) {
            for (const b of batch) b.settle.reject(error);
          }
        });
      }
    } finally {
      this.writing.delete(key);
    }
  }

  private take(key: string) {
    const batch = this.pending.get(key) ?? [];
    this.pending.delete(key);
    return batch;
  }
}

/**
 * At most `limit` tasks at once; the rest wait in memory. Pushes can arrive by the thousand (every
 * sandbox of the OpenHands server, runs or not): without a bound their queries would take every
 * pooled connection and starve the poller and the API.
 */
export class Semaphore {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly limit: number) {}

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active++;
    try {
      return await work();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}

interface Settle<T> {
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
}
