import type { Logger } from '../logger.js';
import type { OpenHandsClient } from '../openhands/client.js';
import type { Snapshot, StartResult, UpstreamRun } from '../openhands/driver.js';
import { UpstreamError } from '../openhands/http.js';
import type { ApiVersion } from '../openhands/types.js';
import { claimDueRuns, claimRunsToStart, releaseLeases } from './leases.js';
import { START_REQUESTED } from './progress.js';
import { pickPullRequest } from './pull-requests.js';
import { promptForAgent } from './run-marker.js';
import { isFinal, UPSTREAM_ACTIVE_STATUSES } from './status.js';
import { appendsEvent, type Run, type RunChange, type RunStore } from './store.js';

export interface PollerOptions {
  /** Identifies this replica in lease columns. */
  owner: string;
  intervalMs: number;
  batchSize: number;
  leaseMs: number;
  maxActiveRuns: number;
  startTimeoutMs: number;
  stallTimeoutMs: number;
  maxRunMs: number;
  errorToleranceMs: number;
  maxStartAttempts: number;
  /** Ask the agent to put the run id in its PR description (webhook correlation). */
  askForRunMarker: boolean;
}

/** Stop requests are retried this many times (with backoff) before the runner gives up on them. */
const MAX_STOP_ATTEMPTS = 20;
const MAX_BACKOFF_MS = 60_000;
const CONCURRENCY = 4;
/**
 * Woken ticks (a run was queued or cancelled) start at most this often. Without a floor, a burst of
 * startRun calls kept the poller claiming back to back: a few queries per tick, hundreds of ticks a
 * second, about as much database work as the calls themselves (bench/RESULTS.md, scenario 1).
 */
const WAKE_MIN_GAP_MS = 100;

/**
 * Drives runs through OpenHands: claims due runs under a lease, reads their upstream state, and
 * writes what changed through the store. Every path releases the lease with a next poll time, so a
 * run is never left unscheduled.
 */
export class Poller {
  private running = false;
  private loop: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;
  private woken = false;
  private timer: NodeJS.Timeout | undefined;
  private lastTickAt = 0;
  /** Runs handled per tick, for tests and metrics. */
  ticks = 0;

  constructor(
    private readonly store: RunStore,
    private readonly openhands: OpenHandsClient,
    private readonly options: PollerOptions,
    private readonly log: Logger,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Finishes the tick in flight, then gives back this replica's leases. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.wake();
    await this.loop;
    await releaseLeases(this.store.prisma, this.options.owner).catch((error) =>
      this.log.warn({ err: error }, 'could not release poller leases'),
    );
  }

  /** Polls now instead of waiting for the interval (a run was queued or cancelled). */
  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  private async run(): Promise<void> {
    while (this.running) {
      let handled = 0;
      try {
        handled = await this.tick();
      } catch (error) {
        // The database may be restarting: log and try again after the interval.
        this.log.error({ err: error }, 'poller tick failed');
      }
      if (!this.running) break;
      if (handled >= this.options.batchSize) continue;
      await this.sleep(this.options.intervalMs);
    }
  }

  /** Waits `ms`, or less when woken: then until WAKE_MIN_GAP_MS after the last tick began. */
  private sleep(ms: number): Promise<void> {
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
        if (!this.running) return finish();
        const soonest = this.lastTickAt + Math.min(WAKE_MIN_GAP_MS, this.options.intervalMs);
        if (soonest < due) schedule(soonest);
      };
      schedule(due);
      if (this.woken) this.wakeUp();
    });
  }

  /** One round: claim, work, release. Returns how many runs it handled. */
  async tick(): Promise<number> {
    this.ticks++;
    this.lastTickAt = Date.now();
    const { owner, leaseMs, batchSize, maxActiveRuns } = this.options;
    const prisma = this.store.prisma;
    const dueIds = await claimDueRuns(prisma, owner, leaseMs, batchSize);
    const startIds = await claimRunsToStart(prisma, owner, leaseMs, maxActiveRuns, batchSize);
    const ids = [...dueIds, ...startIds];
    if (ids.length === 0) return 0;
    // Upstream calls may take longer than the lease (timeouts × retries, a slow server): keep the
    // leases alive while this process works, so no other replica takes a run in the middle of a call.
    // A crashed process stops renewing, and its leases run out as before.
    const renewal = setInterval(
      () => {
        void prisma.$executeRaw`
        UPDATE "Run" SET "leaseExpiresAt" = now() + ${leaseMs} * interval '1 millisecond'
        WHERE "leaseOwner" = ${owner} AND id = ANY(${ids})`.catch((error) =>
          this.log.warn({ err: error }, 'could not renew poller leases'),
        );
      },
      Math.max(100, Math.floor(leaseMs / 3)),
    );
    renewal.unref();
    try {
      const runs = await prisma.run.findMany({ where: { id: { in: ids } } });
      await this.work(runs);
    } finally {
      clearInterval(renewal);
    }
    return ids.length;
  }

  private async work(runs: Run[]): Promise<void> {
    const stops = runs.filter((r) => r.stopPending);
    const starts = runs.filter((r) => !r.stopPending && r.status === 'QUEUED');
    const polls = runs.filter((r) => !r.stopPending && !isFinal(r.status) && r.status !== 'QUEUED');
    await Promise.all([
      mapLimit(stops, CONCURRENCY, (run) => this.guard(run, () => this.stopUpstream(run))),
      mapLimit(starts, CONCURRENCY, (run) => this.guard(run, () => this.startUpstream(run))),
      this.pollUpstream(polls),
    ]);
    // Claimed rows that matched no group (finished meanwhile) still get their lease back.
    const handled = new Set([...stops, ...starts, ...polls].map((r) => r.id));
    await mapLimit(
      runs.filter((r) => !handled.has(r.id)),
      CONCURRENCY,
      (run) =>
        this.guard(run, async () => {
          await this.finish(run.id, {});
        }),
    );
  }

  /** Last line of defence: whatever happens to one run, its lease is released with a retry time. */
  private async guard(run: Run, work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (error) {
      this.log.error({ err: error, runId: run.id }, 'run handling failed; retrying later');
      await this.finish(run.id, { set: { nextPollAt: this.later(MAX_BACKOFF_MS / 4) } }).catch(() => {});
    }
  }

  private later(ms: number): Date {
    return new Date(Date.now() + ms);
  }

  private backoff(faults: number): number {
    return Math.min(MAX_BACKOFF_MS, this.options.intervalMs * 2 ** Math.max(0, faults - 1));
  }

  /** Writes `change` if this replica still holds the lease, and releases it. */
  private finish(runId: string, change: RunChange | ((run: Run) => RunChange | null)) {
    const { owner, intervalMs } = this.options;
    return this.store.transition(runId, (run) => {
      if (run.leaseOwner !== owner) return null; // lease lost (expired and taken): not ours to write
      const decided = typeof change === 'function' ? change(run) : change;
      return {
        ...decided,
        set: {
          nextPollAt: this.later(intervalMs),
          ...decided?.set,
          leaseOwner: null,
          leaseExpiresAt: null,
        },
      };
    });
  }

  /**
   * Most polls change nothing a client can see (same status, percent and phase): those skip the
   * row-locked transaction and release the lease with one conditional UPDATE, which is what lets
   * one replica keep thousands of runs fresh. The condition (our lease, the status we decided on)
   * sends anything that moved meanwhile — a cancel, a webhook — through the locked path instead.
   */
  private async finishQuietly(claimed: Run, decide: (run: Run) => RunChange | null): Promise<void> {
    const decided = decide(claimed);
    if (decided && !appendsEvent(claimed, decided)) {
      const { owner, intervalMs } = this.options;
      const written = await this.store.prisma.run.updateMany({
        where: { id: claimed.id, leaseOwner: owner, status: claimed.status, lastSeq: claimed.lastSeq },
        data: { nextPollAt: this.later(intervalMs), ...decided.set, leaseOwner: null, leaseExpiresAt: null },
      });
      if (written.count === 1) return;
    }
    await this.finish(claimed.id, decide);
  }

  private async startUpstream(run: Run): Promise<void> {
    const { owner } = this.options;
    // Count the attempt before the request leaves: should this process die (or lose the answer) with
    // the request in flight, the next attempt knows a conversation may exist and looks for it first.
    const marked = await this.store.transition(run.id, (current) =>
      current.leaseOwner === owner ? { set: { startAttempts: { increment: 1 } } } : null,
    );
    if (!marked || marked.run.leaseOwner !== owner) return; // lease lost: not ours any more
    if (marked.run.status !== 'QUEUED' || marked.run.stopPending) {
      await this.finish(run.id, {}); // cancelled since it was claimed
      return;
    }
    let version: ApiVersion;
    let started: StartResult;
    let adopted = false;
    try {
      version = await this.openhands.versionForNewRuns();
      const driver = this.openhands.driver(version);
      const earlier =
        run.startAttempts > 0 && driver.findStarted ? await driver.findStarted(toUpstream(run)) : undefined;
      adopted = earlier !== undefined;
      started = earlier ?? (await driver.start(toUpstream(run, this.options.askForRunMarker)));
    } catch (error) {
      await this.finish(run.id, (current) => this.startFailed(current, error));
      return;
    }
    const now = new Date();
    await this.finish(run.id, (current) => {
      const ids = {
        apiVersion: version,
        startTaskId: started.startTaskId ?? null,
        conversationId: started.conversationId ?? null,
      };
      // Cancelled while the start was in flight: keep the ids so the conversation gets stopped.
      if (isFinal(current.status)) return { set: { ...ids, stopPending: true, nextPollAt: now } };
      const obs = started.observation;
      return {
        status: 'STARTING',
        percent: Math.max(START_REQUESTED.percent, obs.percent),
        phase: obs.status === 'STARTING' ? obs.phase : START_REQUESTED.phase,
        event: {
          type: 'STATUS_CHANGED',
          message: adopted
            ? `Found the conversation an interrupted start had made on OpenHands ${version}`
            : `Started on OpenHands ${version}`,
          data: ids,
        },
        set: { ...ids, startedAt: now, lastProgressAt: now, upstreamStatus: obs.upstream },
      };
    });
    this.log.info({ runId: run.id, version, adopted }, 'run started upstream');
  }

  /** `run.startAttempts` already counts the attempt that failed. */
  private startFailed(run: Run, error: unknown): RunChange {
    const attempts = run.startAttempts;
    const upstream = error instanceof UpstreamError ? error : undefined;
    const refused = upstream?.kind === 'http' && !upstream.transient;
    this.log.warn({ runId: run.id, err: error, attempts }, 'starting the run upstream failed');
    if (isFinal(run.status)) return {};
    if (refused) {
      const status = upstream!.status!;
      const code = status === 401 || status === 403 ? 'OPENHANDS_UNAUTHORIZED' : 'OPENHANDS_REJECTED';
      const reason = upstream!.detail ? `: ${upstream!.detail}` : '';
      return {
        status: 'FAILED',
        phase: 'Failed',
        error: {
          code,
          message: `OpenHands refused to start the conversation (HTTP ${status})${reason}`,
          retryable: false,
        },
        set: { startAttempts: attempts },
      };
    }
    if (attempts >= this.options.maxStartAttempts) {
      return {
        status: 'FAILED',
        phase: 'Failed',
        error: {
          code: 'OPENHANDS_UNAVAILABLE',
          message: `OpenHands could not be reached to start the run after ${attempts} attempts: ${(error as Error).message}`,
          retryable: true,
        },
        set: { startAttempts: attempts },
      };
    }
    return {
      phase: `Waiting for OpenHands (start attempt ${attempts} failed)`,
      set: { startAttempts: attempts, nextPollAt: this.later(this.backoff(attempts)) },
    };
  }

  private async stopUpstream(run: Run): Promise<void> {
    const version = (run.apiVersion ?? 'v1') as ApiVersion;
    let stopped: boolean;
    try {
      stopped = await this.openhands.driver(version).stop(toUpstream(run));
    } catch (error) {
      const attempts = run.stopAttempts + 1;
      const giveUp = attempts >= MAX_STOP_ATTEMPTS;
      this.log.warn(
        { runId: run.id, err: error, attempts, giveUp },
        'stopping the conversation upstream failed',
      );
      await this.finish(run.id, {
        set: { stopAttempts: attempts, stopPending: !giveUp, nextPollAt: this.later(this.backoff(attempts)) },
      });
      return;
    }
    // Not stoppable yet (V1 task still without a sandbox): try again next round.
    await this.finish(run.id, { set: { stopPending: !stopped } });
    if (stopped) this.log.info({ runId: run.id }, 'conversation stopped upstream');
  }

  private async pollUpstream(runs: Run[]): Promise<void> {
    const byVersion = new Map<ApiVersion, Run[]>();
    for (const run of runs) {
      const version = (run.apiVersion ?? 'v1') as ApiVersion;
      byVersion.set(version, [...(byVersion.get(version) ?? []), run]);
    }
    for (const [version, group] of byVersion) {
      let results: Map<string, Snapshot | Error>;
      try {
        results = await this.openhands.driver(version).poll(group.map((run) => toUpstream(run)));
      } catch (error) {
        results = new Map(group.map((r) => [r.id, error as Error]));
      }
      const busy = await this.releaseIdle(group, results);
      await mapLimit(busy, CONCURRENCY, (run) =>
        this.guard(run, async () => {
          const result = results.get(run.id) ?? new Error('no result from upstream');
          if (result instanceof Error) {
            await this.finish(run.id, (current) => this.applyFault(current, result));
          } else {
            await this.finishQuietly(run, (current) => this.applySnapshot(current, result));
          }
        }),
      );
    }
  }

  /**
   * Runs whose poll found nothing new at all (the usual case for a long-running agent) only need
   * their lease back: one UPDATE for all of them. Returns the runs that need a write of their own,
   * including any that moved meanwhile (cancelled, completed by a webhook), which the UPDATE skips.
   */
  private async releaseIdle(group: Run[], results: Map<string, Snapshot | Error>): Promise<Run[]> {
    const idle = new Set<string>();
    for (const run of group) {
      const result = results.get(run.id);
      if (!result || result instanceof Error) continue;
      const decided = this.applySnapshot(run, result);
      if (!appendsEvent(run, decided) && writesNothingNew(run, decided.set)) idle.add(run.id);
    }
    if (idle.size === 0) return group;
    const { owner, intervalMs } = this.options;
    const released = await this.store.prisma.run.updateManyAndReturn({
      where: {
        id: { in: [...idle] },
        leaseOwner: owner,
        stopPending: false,
        status: { in: [...UPSTREAM_ACTIVE_STATUSES] },
      },
      data: { leaseOwner: null, leaseExpiresAt: null, nextPollAt: this.later(intervalMs) },
      select: { id: true },
    });
    const done = new Set(released.map((r) => r.id));
    return group.filter((run) => !done.has(run.id));
  }

  private applySnapshot(run: Run, snap: Snapshot): RunChange {
    const now = new Date();
    const obs = snap.observation;
    const progressed = snap.newEvents > 0 || obs.upstream !== run.upstreamStatus;
    const set: NonNullable<RunChange['set']> = {
      upstreamStatus: obs.upstream,
      upstreamEventCount: snap.agentSteps,
      faultCount: 0,
      ...(snap.startTaskId ? { startTaskId: snap.startTaskId } : {}),
      ...(snap.conversationId ? { conversationId: snap.conversationId } : {}),
      ...(snap.sandboxId ? { sandboxId: snap.sandboxId } : {}),
      ...(snap.eventCursor ? { eventCursor: snap.eventCursor } : {}),
      ...(progressed ? { lastProgressAt: now } : {}),
    };
    if (isFinal(run.status)) return { set };

    const pr = run.prUrl ? undefined : pickPullRequest(snap.pullRequests, run.repository);
    if (pr) {
      // A pull request is the deliverable: the run is done once one is open.
      return {
        status: 'COMPLETED',
        phase: 'Pull request opened',
        event: {
          type: 'PULL_REQUEST',
          message: `Pull request opened: ${pr.url}`,
          data: { ...pr, source: 'openhands' },
        },
        set: {
          ...set,
          prProvider: pr.provider,
          prUrl: pr.url,
          prNumber: pr.number,
          prState: 'OPEN',
          blipCount: 0,
          blipSince: null,
        },
      };
    }

    if (obs.status === 'FAILED' && obs.suspect) {
      const since = run.blipSince ?? now;
      if (now.getTime() - since.getTime() < this.options.errorToleranceMs) {
        // Maybe a blip (OpenHands reports false errors around resumes): look again soon.
        return { set: { ...set, lastProgressAt: undefined, blipCount: run.blipCount + 1, blipSince: since } };
      }
    }
    const change: RunChange = {
      status: obs.status,
      percent: obs.percent,
      phase: obs.status === 'RUNNING' && snap.activity ? snap.activity : obs.phase,
      set: { ...set, blipCount: 0, blipSince: null },
    };
    if (obs.status === 'FAILED' && obs.failure) {
      change.error = obs.failure;
      change.set = { ...change.set, stopPending: true };
      change.event = {
        type: 'STATUS_CHANGED',
        message: obs.failure.message,
        data: { upstream: obs.upstream },
      };
    } else if (obs.status === 'COMPLETED') {
      change.event = { type: 'STATUS_CHANGED', message: snap.finalMessage ?? 'OpenHands finished the task' };
    }
    return this.deadlines(run, change, now, progressed);
  }

  private applyFault(run: Run, error: Error): RunChange {
    const faults = run.faultCount + 1;
    if (faults === 1 || faults % 10 === 0) {
      this.log.warn({ runId: run.id, err: error, faults }, 'reading the run from OpenHands failed');
    }
    const change: RunChange = {
      set: { faultCount: faults, nextPollAt: this.later(this.backoff(faults)) },
      // Surface the first fault of a streak in the run's timeline; the rest would only be noise.
      event: faults === 1 ? { type: 'UPSTREAM_FAULT', message: error.message } : undefined,
    };
    if (isFinal(run.status)) return change;
    return this.deadlines(run, change, new Date(), false);
  }

  /** Start timeout, stall timeout and maximum duration, checked on every poll whatever upstream said. */
  private deadlines(run: Run, change: RunChange, now: Date, progressed: boolean): RunChange {
    const { startTimeoutMs, stallTimeoutMs, maxRunMs } = this.options;
    const status = change.status ?? run.status;
    if (isFinal(status)) return change;
    const started = run.startedAt?.getTime() ?? now.getTime();
    const lastProgress = progressed ? now.getTime() : (run.lastProgressAt?.getTime() ?? started);
    let timeout: { code: string; message: string } | undefined;
    if (now.getTime() - started > maxRunMs) {
      timeout = {
        code: 'MAX_DURATION_EXCEEDED',
        message: `The run exceeded its maximum duration of ${maxRunMs} ms`,
      };
    } else if (status === 'STARTING' && now.getTime() - started > startTimeoutMs) {
      timeout = {
        code: 'START_TIMEOUT',
        message: `OpenHands did not start the conversation within ${startTimeoutMs} ms`,
      };
    } else if (
      // Waiting for a person is no stall; a sandbox OpenHands paused (its cap) will not go on by itself.
      (status !== 'AWAITING_INPUT' || sandboxPaused(change.set?.upstreamStatus ?? run.upstreamStatus)) &&
      now.getTime() - lastProgress > stallTimeoutMs
    ) {
      timeout = { code: 'STALLED', message: `No progress from OpenHands for ${stallTimeoutMs} ms` };
    }
    if (!timeout) return change;
    return {
      status: 'TIMED_OUT',
      phase: 'Timed out',
      error: { ...timeout, retryable: true },
      event: { type: 'STATUS_CHANGED', message: timeout.message },
      set: { ...change.set, stopPending: true, nextPollAt: now },
    };
  }
}

function sandboxPaused(upstreamStatus: unknown): boolean {
  return typeof upstreamStatus === 'string' && upstreamStatus.startsWith('sandbox:PAUSED');
}

/** Whether writing `set` would leave the row as it is (plain values equal to the current ones). */
function writesNothingNew(run: Run, set: RunChange['set']): boolean {
  for (const [key, value] of Object.entries(set ?? {})) {
    if (value === undefined) continue;
    const current = (run as Record<string, unknown>)[key];
    if (value instanceof Date) {
      if (!(current instanceof Date) || current.getTime() !== value.getTime()) return false;
    } else if (value !== null && typeof value === 'object') {
      return false; // an update operation such as { increment: 1 }
    } else if (value !== current) {
      return false;
    }
  }
  return true;
}

function toUpstream(run: Run, askForMarker = false): UpstreamRun {
  return {
    id: run.id,
    compiledPrompt: promptForAgent(run, askForMarker),
    repository: run.repository,
    branch: run.branch,
    gitProvider: run.gitProvider,
    startTaskId: run.startTaskId,
    conversationId: run.conversationId,
    sandboxId: run.sandboxId,
    eventCursor: run.eventCursor,
    upstreamEventCount: run.upstreamEventCount,
    upstreamStatus: run.upstreamStatus,
  };
}

async function mapLimit<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await work(items[next++]);
  });
  await Promise.all(workers);
}
