import type { Prisma, PrismaClient } from '../../generated/prisma/client.js';
import { isUniqueViolation } from '../../storage/errors.js';
import { claimDueRuns } from './claim-due-runs.js';
import { claimRunsToStart } from './claim-runs-to-start.js';
import { createRun } from './create-run.js';
import { findEvent } from './find-event.js';
import { findRunsByConversation } from './find-runs-by-conversation.js';
import { releaseIdleRuns, releaseLeases, releaseUnchangedRun, renewLeases } from './leases.js';
import { findMessageByKey, insertMessage, nextMessages, type RunMessage, updateMessage } from './messages.js';
import { findActiveRunsWithoutPullRequest, findRunsWithPullRequest } from './pull-request-candidates.js';
import {
  countEvents,
  countRuns,
  findRun,
  findRunByIdempotencyKey,
  findRuns,
  findRunsChangedSince,
  findRunWithEvents,
  lastSeqs,
  listEvents,
  listRuns,
  type RunFilter,
} from './read-runs.js';
import { countRunsByStatus, pollLagSeconds } from './run-stats.js';
import { type Decide, transitionRun } from './transition.js';
import type { NewRun, Run, RunColumns, TransitionResult } from './types.js';

export type { PushTarget } from './find-runs-by-conversation.js';
export type { RunMessage } from './messages.js';
export type { RunFilter } from './read-runs.js';
export type { Decide } from './transition.js';
export * from './types.js';
export { isUniqueViolation };

export type EventListener = (result: TransitionResult) => void;

/** Extra work committed atomically with a transition (see `RunStore.transition`). */
export type AlongWith = (tx: Prisma.TransactionClient, result: TransitionResult) => Promise<void>;

/**
 * Every statement on the Run and RunEvent tables, as named operations (one file each in this folder).
 * Status changes go through `transition`, which writes what the lifecycle decided on the locked row
 * together with its event; `create` is the one other writer of events. Listeners hear of each
 * committed event in this process; with `notify` (PostgreSQL) every replica hears of it by NOTIFY.
 */
export class RunStore {
  private readonly listeners = new Set<EventListener>();

  constructor(
    private readonly prisma: PrismaClient,
    private readonly notify = false,
    /** Runs inside every transition's transaction that appended an event (the notification outbox). */
    private readonly onEventInTransaction?: AlongWith,
  ) {}

  async create(run: NewRun, event: { type: string; at: Date }): Promise<Run> {
    const created = await createRun(this.prisma, this.notify, run, event);
    this.emit({ run: created.run, events: [created.event] });
    return created.run;
  }

  /**
   * Applies `decide` to the locked run. `alongWith` runs inside the same transaction after the
   * change is written (not when the run is missing), so a record of what caused the change (a
   * webhook delivery) commits or rolls back with it.
   */
  async transition(runId: string, decide: Decide, alongWith?: AlongWith): Promise<TransitionResult | null> {
    const result = await this.prisma.$transaction(async (tx) => {
      const written = await transitionRun(tx, this.notify, runId, decide);
      if (written && alongWith) await alongWith(tx, written);
      if (written && written.events.length > 0 && this.onEventInTransaction) {
        await this.onEventInTransaction(tx, written);
      }
      return written;
    });
    if (result && (result.events.length > 0 || result.announced)) this.emit(result);
    return result;
  }

  /** Called after commit with the run and the events appended. */
  onEvents(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(result: TransitionResult): void {
    for (const listener of this.listeners) {
      try {
        listener(result);
      } catch {
        // A listener's failure must not undo or hide a committed change.
      }
    }
  }

  // Scheduling (the poller's leases).
  claimDueRuns = (owner: string, leaseMs: number, limit: number) =>
    claimDueRuns(this.prisma, owner, leaseMs, limit);
  claimRunsToStart = (owner: string, leaseMs: number, maxActive: number, limit: number) =>
    claimRunsToStart(this.prisma, owner, leaseMs, maxActive, limit);
  renewLeases = (owner: string, ids: string[], leaseMs: number) =>
    renewLeases(this.prisma, owner, ids, leaseMs);
  releaseLeases = (owner: string) => releaseLeases(this.prisma, owner);
  releaseIdleRuns = (owner: string, ids: string[], nextPollAt: Date, readAt: Date) =>
    releaseIdleRuns(this.prisma, owner, ids, nextPollAt, readAt);
  releaseUnchangedRun = (owner: string, read: Run, set: Prisma.RunUncheckedUpdateManyInput) =>
    releaseUnchangedRun(this.prisma, owner, read, set);

  // Reads.
  findRun = (id: string, columns?: RunColumns) => findRun(this.prisma, id, columns);
  findRuns = (ids: string[]) => findRuns(this.prisma, ids);
  findRunsChangedSince = (since: Date, take: number) => findRunsChangedSince(this.prisma, since, take);
  findRunByIdempotencyKey = (projectId: string, key: string) =>
    findRunByIdempotencyKey(this.prisma, projectId, key);
  listRuns = (
    filter: RunFilter,
    before: { createdAt: Date; id: string } | null,
    take: number,
    columns?: RunColumns,
  ) => listRuns(this.prisma, filter, before, take, columns);
  countRuns = (filter: RunFilter) => countRuns(this.prisma, filter);
  listEvents = (runId: string, after: number, take: number) => listEvents(this.prisma, runId, after, take);
  countEvents = (runId: string) => countEvents(this.prisma, runId);
  findRunWithEvents = (runId: string, after: number, take: number) =>
    findRunWithEvents(this.prisma, runId, after, take);
  lastSeqs = (ids: string[]) => lastSeqs(this.prisma, ids);

  findEvent = (runId: string, seq: number) => findEvent(this.prisma, runId, seq);

  // Messages to the agent (sendRunMessage): written and updated along with their events.
  insertMessage = insertMessage;
  updateMessage = updateMessage;
  findMessageByKey = (runId: string, key: string) => findMessageByKey(this.prisma, runId, key);
  nextMessages = (runIds: string[], now: Date): Promise<Map<string, RunMessage>> =>
    nextMessages(this.prisma, runIds, now);

  // Webhook correlation.
  findRunsWithPullRequest = (provider: string, number: number, take: number) =>
    findRunsWithPullRequest(this.prisma, provider, number, take);
  findActiveRunsWithoutPullRequest = (repository: string, take: number) =>
    findActiveRunsWithoutPullRequest(this.prisma, repository, take);

  // Agent-server pushes (src/push/).
  findRunsByConversation = (ids: string[]) => findRunsByConversation(this.prisma, ids);

  // Operations (metrics).
  countRunsByStatus = () => countRunsByStatus(this.prisma);
  pollLagSeconds = () => pollLagSeconds(this.prisma);
}
