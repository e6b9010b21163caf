import type { Logger } from '../logger.js';
import {
  appendsEvent,
  COUNT_START_ATTEMPT,
  changesNothing,
  deliveryFailed,
  endsWork,
  faulted,
  type LifecycleRules,
  messageDelivered,
  observed,
  RETRY_AFTER_CRASH_MS,
  type RunChange,
  started,
  startFailed,
  stillToStart,
  stopFailed,
  stopped,
} from './lifecycle.js';
import { pollDelay, type ReconcileRules, readBeforePush } from './lifecycle-push.js';
import { mapLimit, Pacer } from './pacing.js';
import { promptForAgent } from './run-marker.js';
import { isFinal } from './status.js';
import type { Run, RunMessage, RunStore } from './store/index.js';
import {
  finalTextOf,
  type Outcome,
  type Snapshot,
  type StartResult,
  type Upstream,
  type UpstreamRun,
} from './upstream.js';

export interface PollerOptions extends LifecycleRules, ReconcileRules {
  /** Identifies this replica in lease columns. */
  owner: string;
  batchSize: number;
  leaseMs: number;
  maxActiveRuns: number;
  /** Ask the agent to put the run id in its PR description (webhook correlation). */
  askForRunMarker: boolean;
}

const CONCURRENCY = 4;
/** Woken rounds (a run was queued or cancelled) start at most this often (src/runs/pacing.ts). */
const WAKE_MIN_GAP_MS = 100;

/**
 * Drives runs through upstream: claims due runs under a lease, asks the driver, and writes what the
 * lifecycle decides. Every path releases the lease with a next poll time, so a run is never left
 * unscheduled.
 */
export class Poller {
  private running = false;
  private loop: Promise<void> | undefined;
  private readonly pacer: Pacer;
  /** Rounds started, for tests. */
  ticks = 0;

  constructor(
    private readonly store: RunStore,
    private readonly upstream: Upstream,
    private readonly options: PollerOptions,
    private readonly log: Logger,
  ) {
    this.pacer = new Pacer(Math.min(WAKE_MIN_GAP_MS, options.intervalMs), () => this.running);
  }

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
    await this.store
      .releaseLeases(this.options.owner)
      .catch((error) => this.log.warn({ err: error }, 'could not release poller leases'));
  }

  /** Polls now instead of waiting for the interval (a run was queued or cancelled). */
  wake(): void {
    this.pacer.wake();
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
      await this.pacer.sleep(this.options.intervalMs);
    }
  }

  /** One round: claim, work, release. Returns how many runs it handled. */
  async tick(): Promise<number> {
    this.ticks++;
    this.pacer.tick();
    const { owner, leaseMs, batchSize, maxActiveRuns } = this.options;
    const dueIds = await this.store.claimDueRuns(owner, leaseMs, batchSize);
    const startIds = await this.store.claimRunsToStart(owner, leaseMs, maxActiveRuns, batchSize);
    const ids = [...dueIds, ...startIds];
    if (ids.length === 0) return 0;
    // Upstream calls may take longer than the lease (timeouts × retries, a slow server): keep the
    // leases alive while this process works, so no other replica takes a run in the middle of a call.
    // A crashed process stops renewing, and its leases run out as before.
    const renewal = setInterval(
      () => {
        this.store
          .renewLeases(owner, ids, leaseMs)
          .catch((error) => this.log.warn({ err: error }, 'could not renew poller leases'));
      },
      Math.max(100, Math.floor(leaseMs / 3)),
    );
    renewal.unref();
    try {
      await this.work(await this.store.findRuns(ids));
    } finally {
      clearInterval(renewal);
    }
    return ids.length;
  }

  private async work(runs: Run[]): Promise<void> {
    const stops = runs.filter((r) => r.stopPending);
    const starts = runs.filter((r) => !r.stopPending && r.status === 'QUEUED');
    const polls = runs.filter((r) => !r.stopPending && !isFinal(r.status) && r.status !== 'QUEUED');
    const outcomes = runs.filter((r) => !r.stopPending && isFinal(r.status) && r.outcomePending);
    await Promise.all([
      mapLimit(stops, CONCURRENCY, (run) => this.guard(run, () => this.stopUpstream(run))),
      mapLimit(outcomes, CONCURRENCY, (run) => this.guard(run, () => this.fetchOutcome(run))),
      mapLimit(starts, CONCURRENCY, (run) => this.guard(run, () => this.startUpstream(run))),
      // Messages first, so a poll in the same round can already see the agent working again.
      this.deliverMessages(polls)
        .catch((error) => this.log.error({ err: error }, 'delivering messages failed'))
        .then(() => this.pollUpstream(polls)),
    ]);
    // Claimed rows that matched no group (finished meanwhile) still get their lease back.
    const handled = new Set([...stops, ...starts, ...polls, ...outcomes].map((r) => r.id));
    const rest = runs.filter((r) => !handled.has(r.id));
    await mapLimit(rest, CONCURRENCY, (run) =>
      this.guard(run, async () => {
        await this.release(run.id, () => ({}));
      }),
    );
  }

  /** Last line of defence: whatever happens to one run, its lease is released with a retry time. */
  private async guard(run: Run, work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (error) {
      this.log.error({ err: error, runId: run.id }, 'run handling failed; retrying later');
      const retryAt = new Date(Date.now() + RETRY_AFTER_CRASH_MS);
      await this.release(run.id, () => ({ set: { nextPollAt: retryAt } })).catch(() => {});
    }
  }

  /**
   * Writes what `decide` returns for the locked run, if this replica still holds its lease (a lease
   * that expired and was taken is not ours to write), and gives the lease back with a next poll time.
   */
  private release(runId: string, decide: (run: Run) => RunChange | null) {
    const { owner } = this.options;
    return this.store.transition(runId, (run) => {
      if (run.leaseOwner !== owner) return null;
      const decided = decide(run);
      // A webhook or push that ended the run while this replica held it left an outcome to read: soon.
      const outcomeOwed = (decided?.set?.outcomePending ?? run.outcomePending) === true;
      const nextPollAt = outcomeOwed ? new Date() : this.nextPoll(run);
      return { ...decided, set: { nextPollAt, ...decided?.set, ...LEASE_RELEASED } };
    });
  }

  /** Runs an agent server pushes to are only reconciled (src/runs/lifecycle-push.ts). */
  private nextPoll(run: Pick<Run, 'pushedAt'>): Date {
    const now = new Date();
    return new Date(now.getTime() + pollDelay(run, this.options, now));
  }

  private async startUpstream(run: Run): Promise<void> {
    const { owner } = this.options;
    const marked = await this.store.transition(run.id, (current) =>
      current.leaseOwner === owner ? COUNT_START_ATTEMPT : null,
    );
    if (!marked || marked.run.leaseOwner !== owner) return; // lease lost: not ours any more
    if (!stillToStart(marked.run)) {
      await this.release(run.id, () => ({})); // cancelled since it was claimed
      return;
    }
    let version: string;
    let result: StartResult;
    let adopted = false;
    try {
      version = await this.upstream.versionForNewRuns();
      const driver = this.upstream.driver(version);
      const earlier =
        run.startAttempts > 0 && driver.findStarted ? await driver.findStarted(toUpstream(run)) : undefined;
      adopted = earlier !== undefined;
      result = earlier ?? (await driver.start(toUpstream(run, this.options.askForRunMarker)));
    } catch (error) {
      this.log.warn(
        { runId: run.id, err: error, attempts: marked.run.startAttempts },
        'starting the run upstream failed',
      );
      const refusal = this.upstream.refusal(error);
      await this.release(run.id, (current) =>
        startFailed(current, error as Error, refusal, this.options, new Date()),
      );
      return;
    }
    await this.release(run.id, (current) => started(current, { version, result, adopted }, new Date()));
    this.log.info({ runId: run.id, version, adopted }, 'run started upstream');
  }

  private async stopUpstream(run: Run): Promise<void> {
    // A run that ended without a poll seeing it (cancelled by a client) gets its outcome before the stop.
    const outcome =
      !run.outcome && run.conversationId && isFinal(run.status) ? await this.readOutcome(run) : undefined;
    const withOutcome = (change: RunChange, current: Run) =>
      outcome ? withReadOutcome(change, outcome, current) : change;
    let stoppedUpstream: boolean;
    try {
      stoppedUpstream = await this.upstream.driver(run.apiVersion).stop(toUpstream(run));
    } catch (error) {
      const change = stopFailed(run, this.options, new Date());
      this.log.warn(
        { runId: run.id, err: error, attempts: change.set?.stopAttempts, giveUp: !change.set?.stopPending },
        'stopping the conversation upstream failed',
      );
      await this.release(run.id, (current) => (current.outcome ? change : withOutcome(change, current)));
      return;
    }
    await this.release(run.id, (current) =>
      current.outcome ? stopped(stoppedUpstream) : withOutcome(stopped(stoppedUpstream), current),
    );
    if (stoppedUpstream) this.log.info({ runId: run.id }, 'conversation stopped upstream');
  }

  /** A run that ended by a push or a forge webhook: its outcome, read once, as a poll would have. */
  private async fetchOutcome(run: Run): Promise<void> {
    const outcome = run.outcome ? undefined : await this.readOutcome(run);
    await this.release(run.id, (current) =>
      outcome && !current.outcome
        ? withReadOutcome({}, outcome, current)
        : { set: { outcomePending: false } },
    );
  }

  /**
   * Sends each run's next pending message (sendRunMessage) while this replica holds the run, once its
   * conversation has started. The result is written with its event: MESSAGE_DELIVERED, or after the
   * last attempt MESSAGE_FAILED; a failed attempt before that only schedules the next one.
   */
  private async deliverMessages(runs: Run[]): Promise<void> {
    const ready = runs.filter(
      (r) => r.conversationId && (r.status === 'RUNNING' || r.status === 'AWAITING_INPUT'),
    );
    const next = await this.store.nextMessages(
      ready.map((r) => r.id),
      new Date(),
    );
    await mapLimit(
      ready.filter((r) => next.has(r.id)),
      CONCURRENCY,
      (run) => this.guard(run, () => this.deliver(run, next.get(run.id)!)),
    );
  }

  private async deliver(run: Run, message: RunMessage): Promise<void> {
    const { owner } = this.options;
    const attempts = message.attempts + 1;
    try {
      await this.upstream.driver(run.apiVersion).sendMessage(toUpstream(run), message.text);
    } catch (error) {
      const refused = this.upstream.refusal(error) !== undefined;
      const reason = (error as Error).message;
      this.log.warn({ runId: run.id, err: error, attempts }, 'delivering a message to the agent failed');
      let retry = deliveryFailed(run, message.eventSeq, attempts, reason, refused, this.options, new Date());
      await this.store.transition(
        run.id,
        (current) => {
          if (current.leaseOwner !== owner) return null;
          retry = deliveryFailed(
            current,
            message.eventSeq,
            attempts,
            reason,
            refused,
            this.options,
            new Date(),
          );
          return retry.change;
        },
        (tx) =>
          this.store
            .updateMessage(tx, message.id, {
              attempts,
              lastError: reason,
              ...(retry.nextAttemptAt ? { nextAttemptAt: retry.nextAttemptAt } : { status: 'FAILED' }),
            })
            .then(() => {}),
      );
      return;
    }
    await this.store.transition(
      run.id,
      () => messageDelivered(message.eventSeq),
      (tx) =>
        this.store
          .updateMessage(tx, message.id, { attempts, status: 'DELIVERED', deliveredAt: new Date() })
          .then(() => {}),
    );
    this.log.info({ runId: run.id, seq: message.eventSeq }, 'message delivered to the agent');
  }

  private async pollUpstream(runs: Run[]): Promise<void> {
    const byVersion = new Map<string, Run[]>();
    for (const run of runs) {
      const version = this.upstream.driver(run.apiVersion).version;
      byVersion.set(version, [...(byVersion.get(version) ?? []), run]);
    }
    for (const [version, group] of byVersion) {
      let results: Map<string, Snapshot | Error>;
      const readAt = new Date();
      try {
        results = await this.upstream.driver(version).poll(group.map((run) => toUpstream(run)));
      } catch (error) {
        results = new Map(group.map((r) => [r.id, error as Error]));
      }
      const busy = await this.releaseIdle(group, results, readAt);
      await mapLimit(busy, CONCURRENCY, (run) =>
        this.guard(run, async () => {
          const result = results.get(run.id) ?? new Error('no result from upstream');
          if (result instanceof Error) await this.applyFault(run, result);
          else await this.applySnapshot(run, result, readAt);
        }),
      );
    }
  }

  /**
   * Runs whose poll found nothing new at all (the usual case for a long-running agent) only need
   * their lease back: one UPDATE for all of them. Returns the runs that need a write of their own,
   * including any that moved meanwhile (cancelled, completed by a webhook), which the UPDATE skips.
   */
  private async releaseIdle(
    group: Run[],
    results: Map<string, Snapshot | Error>,
    readAt: Date,
  ): Promise<Run[]> {
    const now = new Date();
    const idle = group.filter((run) => {
      if (run.outcomePending) return false; // its outcome is read on the locked path
      const result = results.get(run.id);
      if (!result || result instanceof Error) return false;
      const decided = observed(run, result, this.options, now);
      return changesNothing(run, decided);
    });
    if (idle.length === 0) return group;
    const { owner } = this.options;
    // Pushed-to runs are due later than the others: one UPDATE per next poll time.
    const byDelay = new Map<number, string[]>();
    for (const run of idle) {
      const delay = pollDelay(run, this.options, now);
      byDelay.set(delay, [...(byDelay.get(delay) ?? []), run.id]);
    }
    const done = new Set<string>();
    for (const [delay, ids] of byDelay) {
      const nextPollAt = new Date(now.getTime() + delay);
      for (const id of await this.store.releaseIdleRuns(owner, ids, nextPollAt, readAt)) done.add(id);
    }
    return group.filter((run) => !done.has(run.id));
  }

  /**
   * Most polls change nothing a client can see (same status, percent and phase): those skip the
   * row-locked transaction and release the lease with one conditional UPDATE, which is what lets
   * one replica keep thousands of runs fresh. The condition (our lease, the status we decided on)
   * sends anything that moved meanwhile — a cancel, a webhook — through the locked path instead.
   */
  private async applySnapshot(claimed: Run, snap: Snapshot, readAt: Date): Promise<void> {
    // An agent server pushed while this poll was reading: keep the pushed state, and read again at
    // the poll interval (not the reconciliation one): the push may have asked for a read because it
    // could not decide by itself, and this read is older than it.
    const decide = (run: Run): RunChange =>
      readBeforePush(run, readAt)
        ? { set: { nextPollAt: new Date(Date.now() + this.options.intervalMs) } }
        : observed(run, snap, this.options, new Date());
    const decided = decide(claimed);
    const owesOutcome = (run: Run, change: RunChange) =>
      !run.outcome && (run.outcomePending || endsWork(run, change));
    if (!appendsEvent(claimed, decided) && !claimed.outcomePending) {
      const set = { nextPollAt: this.nextPoll(claimed), ...decided.set };
      if (await this.store.releaseUnchangedRun(this.options.owner, claimed, set)) return;
    }
    // The outcome is read once, as the run ends or its pull request opens: before the sandbox stops.
    const outcome = owesOutcome(claimed, decided) ? await this.readOutcome(claimed, snap) : undefined;
    await this.release(claimed.id, (run) => {
      const change = decide(run);
      return outcome && owesOutcome(run, change) ? withReadOutcome(change, outcome, run) : change;
    });
  }

  private async readOutcome(run: Run, snap?: Snapshot): Promise<ReadOutcome> {
    const upstream = { ...toUpstream(run), eventCursor: snap?.eventCursor ?? run.eventCursor };
    let outcome: Outcome;
    try {
      outcome = await this.upstream.driver(run.apiVersion).outcome(upstream);
    } catch (error) {
      this.log.warn({ runId: run.id, err: error }, 'reading the run outcome failed');
      outcome = { summary: null, changedFiles: null };
    }
    const summary = outcome.summary ?? snap?.finalMessage ?? null;
    return { ...outcome, summary, fetchedAt: new Date().toISOString() };
  }

  private async applyFault(run: Run, error: Error): Promise<void> {
    const faults = run.faultCount + 1;
    if (faults === 1 || faults % 10 === 0) {
      this.log.warn({ runId: run.id, err: error, faults }, 'reading the run from OpenHands failed');
    }
    await this.release(run.id, (current) => faulted(current, error, this.options, new Date()));
  }
}

const LEASE_RELEASED = { leaseOwner: null, leaseExpiresAt: null } as const;

type ReadOutcome = Outcome & { fetchedAt: string };

/**
 * The outcome written with `change` on the locked row `current`. A finish message pushed while the
 * outcome was being read (it is in the row's cursor by now) fills a summary the read did not find.
 */
function withReadOutcome(change: RunChange, outcome: ReadOutcome, current: Run): RunChange {
  const summary = outcome.summary ?? finalTextOf(current.eventCursor);
  return { ...change, set: { ...change.set, outcome: { ...outcome, summary }, outcomePending: false } };
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
