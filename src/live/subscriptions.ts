import { canAccessProject, type Principal } from '../auth/principal.js';
import { AppError } from '../errors.js';
import type { PrismaClient } from '../generated/prisma/client.js';
import type { RunService } from '../runs/service.js';
import { isFinal, type RunStatus } from '../runs/status.js';
import type { Run } from '../runs/store.js';
import { sleep, untilAborted } from './abortable.js';
import type { LiveEvent, RunFeeds } from './feeds.js';

/** Pause before re-reading after a database error (it may be restarting). */
const RETRY_MS = 500;

/**
 * Live subscriptions end when the client leaves, when the run ends, or when the server shuts down;
 * the registry is how shutdown finds them.
 */
export class Subscriptions {
  /** Each open subscription with the caller that opened it (per-token limits, revocation). */
  private readonly active = new Map<AbortController, Principal>();

  constructor(
    private readonly prisma: PrismaClient,
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
    for (const controller of this.active.keys()) controller.abort();
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
    for (const [controller, p] of this.active)
      if (p.tokenId && !controller.signal.aborted) ids.add(p.tokenId);
    return ids;
  }

  /** Ends the subscriptions opened with this stored token (it was revoked); returns how many. */
  closeFor(tokenId: string): number {
    let closed = 0;
    for (const [controller, principal] of this.active) {
      if (principal.tokenId !== tokenId || controller.signal.aborted) continue;
      controller.abort();
      closed++;
    }
    return closed;
  }

  /** Refuses a new subscription past MAX_SUBSCRIPTIONS_PER_TOKEN. */
  private admit(principal: Principal): void {
    if (this.maxPerToken <= 0) return;
    let open = 0;
    for (const [controller, p] of this.active)
      if (p.name === principal.name && !controller.signal.aborted) open++;
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
    return this.iterate(principal, release, async function* (signal) {
      let cursor: number;
      if (afterSeq == null) {
        yield snapshot(run);
        if (isFinal(run.status)) return;
        cursor = run.lastSeq;
      } else {
        cursor = afterSeq;
      }
      let finished = isFinal(run.status);
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
    const off = this.feeds.onChange(
      (notice) => {
        if (filter.projectId != null && notice.projectId !== filter.projectId) return;
        if (!canAccessProject(principal, notice.projectId)) return;
        pending.set(notice.runId, Math.max(notice.seq, pending.get(notice.runId) ?? 0));
        wake?.();
      },
      () => {},
    );
    const prisma = this.prisma;
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
          runs = await prisma.run.findMany({ where: { id: { in: [...batch.keys()] } } });
        } catch {
          for (const [id, seq] of batch) pending.set(id, Math.max(seq, pending.get(id) ?? 0));
          await sleep(RETRY_MS, signal);
          continue;
        }
        for (const run of runs) {
          if (filter.status?.length && !filter.status.includes(run.status)) continue;
          yield { run, seq: run.lastSeq };
        }
      }
    });
  }

  /** Wraps a generator so that return() (client left) and shutdown interrupt it even mid-wait. */
  private iterate<T>(
    principal: Principal,
    cleanup: () => void,
    make: (signal: AbortSignal) => AsyncGenerator<T>,
  ): AsyncIterableIterator<T> {
    const controller = new AbortController();
    this.active.set(controller, principal);
    const generator = make(controller.signal);
    const end = () => {
      if (!this.active.delete(controller)) return;
      controller.abort();
      cleanup();
    };
    return {
      async next() {
        const result = await generator.next();
        if (result.done) end();
        return result;
      },
      async return(value?: unknown) {
        end();
        return generator.return(value as T);
      },
      async throw(error?: unknown) {
        end();
        return generator.throw(error);
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  }
}

function snapshot(run: Run): LiveEvent {
  return {
    runId: run.id,
    seq: run.lastSeq,
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
