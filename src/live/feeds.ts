import type { PrismaClient } from '../generated/prisma/client.js';
import type { Run, RunEvent, RunNotice } from '../runs/store.js';
import { untilAborted } from './abortable.js';
import type { NoticeBus } from './bus.js';

/** An event as subscribers receive it: the log row plus the run as read with it. */
export interface LiveEvent extends RunEvent {
  run: Run;
}

/** Recent events kept per followed run, so many subscribers share one read. */
const CACHE_EVENTS = 256;
const PAGE = 100;
/** Even without a notice, a waiting subscriber re-checks the log this often (belt and braces). */
const RECHECK_MS = 15_000;

/**
 * One followed run on this replica. The log in PostgreSQL is the truth; this keeps a short tail of
 * it in memory and a list of subscribers waiting for more. A notice triggers one read of the new
 * rows, shared by every subscriber of the run, however many there are.
 */
class RunFeed {
  private tail: LiveEvent[] = [];
  /** Highest seq announced by a notice. */
  private noticed = 0;
  /** Highest seq read into the tail. */
  private loaded = 0;
  /**
   * The next read must go to the log even without a newer notice: nothing read yet, notices may
   * have been missed (resync), the last read filled a page, or the periodic recheck is due.
   */
  private stale = true;
  private refreshing: Promise<void> | undefined;
  private waiters = new Set<() => void>();
  private recheck: NodeJS.Timeout | undefined;
  users = 0;

  constructor(
    private readonly prisma: PrismaClient,
    readonly runId: string,
  ) {}

  /** Events with seq > after, in order, at most PAGE of them. */
  async after(after: number): Promise<LiveEvent[]> {
    const first = this.tail[0]?.seq;
    if (first !== undefined && after + 1 >= first && after < this.loaded) {
      return this.tail.filter((e) => e.seq > after).slice(0, PAGE);
    }
    if (after >= this.loaded) {
      // Every announced event is loaded already: asking the log would only confirm there is none.
      // (Without this, each subscriber's "anything more?" after a batch was one more read per event.)
      if (!this.stale && this.noticed <= this.loaded) return [];
      await this.refresh();
      if (after < this.loaded) return this.tail.filter((e) => e.seq > after).slice(0, PAGE);
      return [];
    }
    // Older than the cache: a replay straight from the log.
    return this.read(after, PAGE);
  }

  /** Resolves when events beyond `seq` may exist, on resync, or after RECHECK_MS. */
  waitBeyond(seq: number, signal: AbortSignal): Promise<void> {
    if (this.noticed > seq || this.stale) return Promise.resolve();
    // One recheck timer per run, not one per waiting subscriber.
    this.recheck ??= setTimeout(() => {
      this.recheck = undefined;
      this.stale = true;
      this.wake();
    }, RECHECK_MS).unref();
    return untilAborted(signal, (resolve) => {
      this.waiters.add(resolve);
      return () => this.waiters.delete(resolve);
    });
  }

  notice(notice: RunNotice): void {
    if (notice.seq > this.noticed) this.noticed = notice.seq;
    this.wake();
  }

  resync(): void {
    this.stale = true;
    this.wake();
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  /** Reads rows newer than the cache (single flight) and trims the cache. */
  private refresh(): Promise<void> {
    this.refreshing ??= (async () => {
      try {
        this.stale = false;
        let rows: LiveEvent[];
        try {
          rows = await this.read(this.loaded, CACHE_EVENTS);
        } catch (error) {
          this.stale = true;
          throw error;
        }
        if (rows.length) {
          this.tail = [...this.tail, ...rows].slice(-CACHE_EVENTS);
          this.loaded = rows[rows.length - 1].seq;
        }
        // A full page: more rows may follow it.
        if (rows.length === CACHE_EVENTS) this.stale = true;
      } finally {
        this.refreshing = undefined;
      }
    })();
    return this.refreshing;
  }

  private async read(after: number, take: number): Promise<LiveEvent[]> {
    const found = await this.prisma.run.findUnique({
      where: { id: this.runId },
      include: { events: { where: { seq: { gt: after } }, orderBy: { seq: 'asc' }, take } },
    });
    if (!found) return [];
    const { events, ...run } = found;
    return events.map((e) => ({ ...e, run }));
  }
}

/** The runs this replica's subscribers follow, fed by the notice bus. */
export class RunFeeds {
  private readonly feeds = new Map<string, RunFeed>();
  private readonly changeListeners = new Set<(notice: RunNotice) => void>();
  private readonly resyncListeners = new Set<() => void>();
  private readonly off: () => void;

  constructor(
    private readonly prisma: PrismaClient,
    bus: NoticeBus,
  ) {
    this.off = bus.listen({
      notice: (notice) => {
        this.feeds.get(notice.runId)?.notice(notice);
        for (const l of this.changeListeners) l(notice);
      },
      resync: () => {
        for (const feed of this.feeds.values()) feed.resync();
        for (const l of this.resyncListeners) l();
      },
    });
  }

  /** Follows one run until the returned release() is called. */
  follow(runId: string): { feed: Pick<RunFeed, 'after' | 'waitBeyond'>; release: () => void } {
    let feed = this.feeds.get(runId);
    if (!feed) {
      feed = new RunFeed(this.prisma, runId);
      this.feeds.set(runId, feed);
    }
    feed.users++;
    const f = feed;
    let released = false;
    return {
      feed: f,
      release: () => {
        if (released) return;
        released = true;
        if (--f.users === 0) this.feeds.delete(runId);
      },
    };
  }

  /** Every notice about any run (for list views); returns an unsubscribe function. */
  onChange(listener: (notice: RunNotice) => void, onResync: () => void): () => void {
    this.changeListeners.add(listener);
    this.resyncListeners.add(onResync);
    return () => {
      this.changeListeners.delete(listener);
      this.resyncListeners.delete(onResync);
    };
  }

  get followed(): number {
    return this.feeds.size;
  }

  close(): void {
    this.off();
  }
}
