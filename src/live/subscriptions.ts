import { canAccessProject, type Principal } from '../auth/principal.js';
import { AppError } from '../errors.js';
import type { RunService } from '../runs/service.js';
import { isFinal, type RunStatus } from '../runs/status.js';
import type { Run } from '../runs/store/index.js';
import { StopSignal, sleep, untilAborted } from './abortable.js';
import type { LiveEvent, RunFeeds } from './feeds.js';

/** Pause before re-reading after a database error (it may be restarting). */
const RETRY_MS = 500;

/**
 * Live subscriptions end when the client leaves, when the run ends, or when the server shuts down;
 * the registry is how shutdown finds them.
 */
export class Subscriptions {
  /** Each open subscription with the caller that opened it (per-token limits, revocation). */
  private readonly active = new Map<StopSignal, Principal>();

  constructor(
    private readonly feeds: RunFeeds,
    private readonly runs: RunService,
    /** Open subscriptions one token may hold on this replica; 0 = unlimited. */
    private readonly maxPerToken = 0,
  ) {}

  get open(): number {
    return this.active.size;
  }

  /** Ends every open subscription (graceful shutdown). */
  closeAll(): void {
    for (const stop of this.active.keys()) stop.abort();
  }

  /** Waits (up to `timeoutMs`) until every subscription has ended, so clients get their "complete". */
  async settled(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.active.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    // One more turn for the transports to send the last messages.
    await new Promise((r) => setTimeout(r, 10));
  }

  /** Stored-token ids behind open subscriptions, for the revocation check. */
  tokenIds(): Set<string> {
    const ids = new Set<string>();
    for (const [stop, p] of this.active) if (p.tokenId && !stop.aborted) ids.add(p.tokenId);
    return ids;
  }

  /** Ends the subscriptions opened with this stored token (it was revoked); returns how many. */
  closeFor(tokenId: string): number {
    let closed = 0;
    for (const [stop, principal] of this.active) {
      if (principal.tokenId !== tokenId || stop.aborted) continue;
      stop.abort();
      closed++;
    }
    return closed;
  }

  /** Refuses a new subscription past MAX_SUBSCRIPTIONS_PER_TOKEN. */
  private admit(principal: Principal): void {
    if (this.maxPerToken <= 0) return;
    let open = 0;
    for (const [stop, p] of this.active) if (p.name === principal.name && !stop.aborted) open++;
    if (open >= this.maxPerToken) {
      throw new AppError(
        'RATE_LIMITED',
        `Too many open subscriptions for this token (at most ${this.maxPerToken}); close one first`,
        { limit: 'subscriptions', max: this.maxPerToken },
      );
    }
  }

  /**
   * The run's log in seq order: replay after `afterSeq`, then live, with no gap or duplicate at
   * the hand-over because both come from the same log, read by seq. Without `afterSeq` it starts
   * with the run's current state. Ends after the event that puts the run in a final state.
   */
  async runProgress(
    runId: string,
    afterSeq: number | null,
    principal: Principal,
  ): Promise<AsyncIterableIterator<LiveEvent>> {
    const run = await this.runs.require(runId, principal);
    // Checked after the await, right before registering, so concurrent opens cannot slip past.
    this.admit(principal);
    const { feed, release } = this.feeds.follow(runId);
    // The stream keeps only what it needs of the row, not the row, for as long as it is open.
    let first: LiveEvent | undefined = afterSeq == null ? snapshot(run) : undefined;
    let cursor = afterSeq ?? run.lastSeq;
    let finished = isFinal(run.status);
    return this.iterate(principal, release, async function* (signal) {
      if (first) {
        const current = first;
        first = undefined;
        yield current;
        if (finished) return;
      }
      while (!signal.aborted) {
        let batch: LiveEvent[];
        try {
          batch = await feed.after(cursor);
        } catch {
          await sleep(RETRY_MS, signal);
          continue;
        }
        for (const event of batch) {
          yield event;
          cursor = event.seq;
          if (isFinal(event.status)) return;
        }
        if (batch.length > 0) continue;
        // Asked to resume past the end of a finished run: nothing more will come.
        if (finished) return;
        await feed.waitBeyond(cursor, signal);
        finished = false;
      }
    });
  }

  /** One message per change of any matching run, coalesced per run when the reader is slow. */
  runsChanged(
    filter: { projectId?: string | null; status?: RunStatus[] | null },
    principal: Principal,
  ): AsyncIterableIterator<{ run: Run; seq: number }> {
    this.admit(principal);
    const pending = new Map<string, number>();
    let wake: (() => void) | undefined;
    const off = this.feeds.onChange((notice) => {
      if (filter.projectId != null && notice.projectId !== filter.projectId) return;
      if (!canAccessProject(principal, notice.projectId)) return;
      pending.set(notice.runId, Math.max(notice.seq, pending.get(notice.runId) ?? 0));
      wake?.();
    });
    const feeds = this.feeds;
    return this.iterate(principal, off, async function* (signal) {
      while (!signal.aborted) {
        if (pending.size === 0) {
          await untilAborted(signal, (resolve) => {
            wake = resolve;
            return () => {
              wake = undefined;
            };
          });
          continue;
        }
        const batch = new Map(pending);
        pending.clear();
        let runs: Run[];
        try {
          runs = await feeds.readRuns([...batch.keys()]);
        } catch {
          for (const [id, seq] of batch) pending.set(id, Math.max(seq, pending.get(id) ?? 0));
          await sleep(RETRY_MS, signal);
          continue;
        }
        for (const run of runs) {
          if (filter.status?.length && !filter.status.includes(run.status)) continue;
          yield changedPayload(run);
        }
      }
    });
  }

  /** Wraps a generator so that return() (client left) and shutdown interrupt it even mid-wait. */
  private iterate<T>(
    principal: Principal,
    cleanup: () => void,
    make: (signal: StopSignal) => AsyncGenerator<T>,
  ): AsyncIterableIterator<T> {
    const stop = new StopSignal();
    this.active.set(stop, principal);
    const generator = make(stop);
    const end = () => {
      if (!this.active.delete(stop)) return;
      stop.abort();
      cleanup();
    };
    return new Stream(generator, end);
  }
}

/**
 * A generator whose return() (client left) and shutdown interrupt it even mid-wait. Methods on a
 * class and plain promise chains, not closures and a suspended async frame per stream: thousands
 * of streams sit open and idle at once (bench/RESULTS.md, scenario 2, memory per subscriber).
 */
class Stream<T> implements AsyncIterableIterator<T> {
  constructor(
    private readonly generator: AsyncGenerator<T>,
    private readonly end: () => void,
  ) {}

  next(): Promise<IteratorResult<T>> {
    return this.generator.next().then(
      (result) => {
        if (result.done) this.end();
        return result;
      },
      (error: unknown) => {
        // A consumer does not call return() after a failed next(): release the run and the slot here.
        this.end();
        throw error;
      },
    );
  }

  return(value?: unknown): Promise<IteratorResult<T>> {
    this.end();
    return this.generator.return(value as T);
  }

  throw(error?: unknown): Promise<IteratorResult<T>> {
    this.end();
    return this.generator.throw(error);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

/**
 * One payload object per run row read, so every runsChanged subscriber given that row is given the
 * same object, and its render is shared (src/graphql/shared-render.ts keys renders by payload).
 */
const payloads = new WeakMap<Run, { run: Run; seq: number }>();

function changedPayload(run: Run): { run: Run; seq: number } {
  let payload = payloads.get(run);
  if (!payload) {
    payload = { run, seq: run.lastSeq };
    payloads.set(run, payload);
  }
  return payload;
}

function snapshot(run: Run): LiveEvent {
  return {
    runId: run.id,
    seq: run.lastSeq,
    upstreamId: null,
    type: 'SNAPSHOT',
    status: run.status,
    percent: run.percent,
    phase: run.phase,
    message: null,
    data: null,
    at: run.updatedAt,
    run,
  };
}
