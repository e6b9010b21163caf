import {
  latestNotice,
  type NoticedRun,
  type Run,
  type RunEvent,
  type RunNotice,
  type RunStore,
} from '../runs/store/index.js';
import { type StopSignal, untilAborted } from './abortable.js';
import type { NoticeBus } from './bus.js';

/** An event as subscribers receive it: the log row plus the run as read with it. */
export interface LiveEvent extends RunEvent {
  run: Run;
}

/** Recent events kept per followed run, so many subscribers share one read. */
const CACHE_EVENTS = 256;
const PAGE = 100;
/** Even without a notice, followed runs are checked against the log this often (belt and braces). */
const RECHECK_MS = 15_000;
/** Run ids per `IN (…)` query, for the check above and for runsChanged's batched reads. */
const IDS_PER_QUERY = 1000;
/**
 * After a resync, runs changed since the last notice heard are announced again (list views have no
 * per-run cursor to re-read from). A row's changedAt is taken on the writing replica before its
 * commit, so look further back than that moment, by a transaction's length and clock skew.
 */
const REPLAY_SLACK_MS = 30_000;
/** The most recently written runs announced again after one resync. */
const REPLAY_MAX_RUNS = 5_000;
/** Attempts to read them, a second apart (the database may still be coming back). */
const REPLAY_ATTEMPTS = 5;
/** Runs announced per turn of the event loop. */
const REPLAY_SLICE = 200;

function* chunks<T>(items: T[], size = IDS_PER_QUERY): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}

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
   * have been missed (resync), or the last read filled a page.
   */
  private stale = true;
  private refreshing: Promise<void> | undefined;
  private waiters = new Set<() => void>();
  users = 0;

  constructor(
    private readonly store: RunStore,
    readonly runId: string,
  ) {}

  /** Events with seq > after, in order, at most PAGE of them. */
  async after(after: number): Promise<LiveEvent[]> {
    // A read in flight may bring what this caller needs (or fail): let it land, then decide.
    while (this.refreshing) await this.refreshing.catch(() => {});
    const first = this.tail[0]?.seq;
    if (first !== undefined && after + 1 >= first && after < this.loaded) return this.fromTail(after);
    // Older than the cache: a replay straight from the log.
    if (after < this.loaded) return this.read(after, PAGE);
    // Every announced event is loaded already: asking the log would only confirm there is none.
    // (Without this, each subscriber's "anything more?" after a batch was one more read per event.)
    if (!this.stale && this.noticed <= this.loaded) return [];
    await this.refresh();
    return after < this.loaded ? this.fromTail(after) : [];
  }

  /** The cached events after `after` (the tail holds consecutive seqs, so this is one slice). */
  private fromTail(after: number): LiveEvent[] {
    const start = Math.max(0, after + 1 - (this.tail[0]?.seq ?? 0));
    return this.tail.slice(start, start + PAGE);
  }

  /** Resolves when events beyond `seq` may exist, or on resync. */
  waitBeyond(seq: number, signal: StopSignal): Promise<void> {
    if (this.noticed > seq || this.loaded > seq || this.stale) return Promise.resolve();
    return untilAborted(signal, (resolve) => {
      this.waiters.add(resolve);
      return () => this.waiters.delete(resolve);
    });
  }

  /** The log holds events up to `seq` (a notice, or the periodic check of lastSeq). */
  announce(seq: number): void {
    if (seq <= this.noticed) return;
    this.noticed = seq;
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
        // Rows read without a notice of their own (after a resync, or past a full page) must reach
        // the subscribers already waiting too.
        if (rows.length || this.stale) this.wake();
      } finally {
        this.refreshing = undefined;
      }
    })();
    return this.refreshing;
  }

  private async read(after: number, take: number): Promise<LiveEvent[]> {
    const found = await this.store.findRunWithEvents(this.runId, after, take);
    if (!found) return [];
    const { events, run } = found;
    return events.map((e) => ({ ...e, run }));
  }
}

/**
 * Run rows for list subscribers (runsChanged). Every subscriber wakes on the same notice, so the
 * reads asked for in one turn of the event loop become one query, and each caller gets its rows from
 * it: the same row objects, which also lets their renders be shared (src/graphql/shared-render.ts).
 */
class RunBatchReader {
  private pending: { ids: Set<string>; waiters: Array<BatchWaiter> } | undefined;

  constructor(private readonly store: RunStore) {}

  read(ids: string[]): Promise<Run[]> {
    if (!this.pending) {
      this.pending = { ids: new Set(), waiters: [] };
      setImmediate(() => void this.flush());
    }
    const batch = this.pending;
    for (const id of ids) batch.ids.add(id);
    return new Promise((resolve, reject) => batch.waiters.push({ ids, resolve, reject }));
  }

  private async flush(): Promise<void> {
    const batch = this.pending;
    this.pending = undefined;
    if (!batch) return;
    try {
      const byId = new Map<string, Run>();
      for (const ids of chunks([...batch.ids])) {
        for (const row of await this.store.findRuns(ids)) byId.set(row.id, row);
      }
      for (const w of batch.waiters) w.resolve(w.ids.flatMap((id) => byId.get(id) ?? []));
    } catch (error) {
      for (const w of batch.waiters) w.reject(error);
    }
  }
}

interface BatchWaiter {
  ids: string[];
  resolve: (runs: Run[]) => void;
  reject: (error: unknown) => void;
}

/** The runs this replica's subscribers follow, fed by the notice bus. */
export class RunFeeds {
  private readonly feeds = new Map<string, RunFeed>();
  private readonly changeListeners = new Set<(notice: RunNotice) => void>();
  private readonly off: () => void;
  private readonly recheckTimer: NodeJS.Timeout;
  private rechecking = false;
  private closed = false;
  private readonly runReader: RunBatchReader;

  constructor(
    private readonly store: RunStore,
    bus: NoticeBus,
  ) {
    this.recheckTimer = setInterval(() => void this.recheck(), RECHECK_MS).unref();
    this.runReader = new RunBatchReader(store);
    this.off = bus.listen({
      notice: (notice) => {
        this.feeds.get(notice.runId)?.announce(notice.seq);
        for (const l of this.changeListeners) l(notice);
      },
      resync: (since) => {
        for (const feed of this.feeds.values()) feed.resync();
        void this.replayChanges(since);
      },
    });
  }

  /** Follows one run until the returned release() is called. */
  follow(runId: string): { feed: Pick<RunFeed, 'after' | 'waitBeyond'>; release: () => void } {
    let feed = this.feeds.get(runId);
    if (!feed) {
      feed = new RunFeed(this.store, runId);
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

  /**
   * Every notice about any run (for list views), and after a resync one for each run written since
   * notices may have been missed; returns an unsubscribe function.
   */
  onChange(listener: (notice: RunNotice) => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  /** The current rows of these runs (missing ones left out), batched with other callers'. */
  readRuns(ids: string[]): Promise<Run[]> {
    return this.runReader.read(ids);
  }

  get followed(): number {
    return this.feeds.size;
  }

  close(): void {
    this.closed = true;
    clearInterval(this.recheckTimer);
    this.off();
  }

  /** Announces, to list views, the runs changed since `since`: their notices may have been lost. */
  private async replayChanges(since: Date): Promise<void> {
    const from = new Date(since.getTime() - REPLAY_SLACK_MS);
    for (let attempt = 1; !this.closed && this.changeListeners.size > 0; attempt++) {
      let runs: NoticedRun[];
      try {
        runs = await this.store.findRunsChangedSince(from, REPLAY_MAX_RUNS);
      } catch {
        if (attempt >= REPLAY_ATTEMPTS) return;
        await new Promise((resolve) => setTimeout(resolve, 1000).unref());
        continue;
      }
      // Oldest first, as they happened; a turn of the event loop between slices, so thousands of
      // subscribers times thousands of runs do not hold up keep-alives and other requests.
      runs.reverse();
      for (let i = 0; i < runs.length && !this.closed; i += REPLAY_SLICE) {
        if (i > 0) await new Promise((resolve) => setImmediate(resolve));
        for (const run of runs.slice(i, i + REPLAY_SLICE)) {
          const notice = latestNotice(run);
          for (const l of this.changeListeners) l(notice);
        }
      }
      return;
    }
  }

  /**
   * A notice lost without a resync (it should not happen) would leave subscribers waiting: every
   * RECHECK_MS, compare each followed run's lastSeq with what its feed was told. One query per
   * thousand runs, instead of a timer and a read per run, which woke every feed at once.
   */
  private async recheck(): Promise<void> {
    if (this.rechecking || this.feeds.size === 0) return;
    this.rechecking = true;
    try {
      for (const ids of chunks([...this.feeds.keys()])) {
        const rows = await this.store.lastSeqs(ids);
        for (const row of rows) this.feeds.get(row.id)?.announce(row.lastSeq);
      }
    } catch {
      // The database may be restarting; the bus resyncs after a reconnect, and the next check runs.
    } finally {
      this.rechecking = false;
    }
  }
}
