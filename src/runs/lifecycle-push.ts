/**
 * Lifecycle rules for state an OpenHands agent server pushed (src/push/), beside
 * src/runs/lifecycle.ts: a push is observed exactly as a poll is (`observed`, so the same status,
 * percent, phase, deadlines and pull-request rules apply, and a final run stays final); these rules
 * add only what pushes need — which pushed status is newer, and how often a pushed-to run is still
 * polled. Pure: no clock, database or network.
 */
import type { Prisma, Run } from '../generated/prisma/client.js';
import { type LifecycleRules, observed, owingOutcome, type RunChange } from './lifecycle.js';
import type { Snapshot } from './upstream.js';

/** How polling yields to pushes (OPENHANDS_PUSH_QUIET_MS, OPENHANDS_RECONCILE_MS). */
export interface ReconcileRules {
  intervalMs: number;
  pushQuietMs: number;
  reconcileMs: number;
}

export interface Push {
  /** The pushed state, read like a poll's snapshot. */
  snapshot: Snapshot;
  /** The pushed status's timestamp, when the push carried a status newer than the run's. */
  statusAt?: string;
  /**
   * The push cannot decide by itself (a `finished` without the agent's last turn, which says whether
   * it ended or asked a question): nothing of its status is applied and the run is read at once.
   */
  readNow?: boolean;
}

/**
 * Whether a pushed status stamped `at` is newer than the newest one applied so far (`applied`, null
 * for none). Timestamps are normalised fixed-width ISO text (src/openhands/push.ts), so text order
 * is time order. Equal means the same event again (a retried batch): not newer.
 */
export function isNewerStatus(at: string, applied: string | null): boolean {
  return applied === null || at > applied;
}

/**
 * What a push means for the run: what the same state seen by a poll means, plus the push's marks.
 * The first push after a quiet spell moves the next poll out to the reconciliation interval
 * (later pushes leave it be, so a run that keeps pushing is still reconciled that often); a run
 * that owes an upstream stop or an outcome read keeps its schedule.
 */
export function pushed(run: Run, push: Push, rules: LifecycleRules & ReconcileRules, now: Date): RunChange {
  // The end seen in a push: the outcome is read by the poller (owingOutcome sets the poll to now).
  const change = owingOutcome(run, observed(run, push.snapshot, rules, now), now);
  const set: NonNullable<RunChange['set']> = {
    ...change.set,
    pushedAt: now,
    ...(push.statusAt ? { pushStatusAt: push.statusAt } : {}),
  };
  const reconcileAt = new Date(now.getTime() + pollDelay({ pushedAt: now }, rules, now));
  // A run that owes an upstream stop or an outcome read is due for that, not for reconciliation.
  const workOwed = run.stopPending || set.stopPending === true || run.outcomePending;
  if (push.readNow) {
    set.nextPollAt = now;
  } else if (
    !workOwed &&
    !pushedRecently(run, rules, now) &&
    set.nextPollAt === undefined &&
    run.nextPollAt < reconcileAt
  ) {
    set.nextPollAt = reconcileAt;
  }
  const summary = lateSummary(run, push.snapshot);
  if (summary) set.outcome = summary;
  return { ...change, set };
}

/**
 * The agent's last turn pushed after its outcome was read (the pull request ends the run, and its
 * outcome is read, before that turn): a finish message becomes the summary; a plain message only
 * stands in while there is none.
 */
function lateSummary(run: Run, snapshot: Snapshot): Prisma.InputJsonObject | undefined {
  const outcome = run.outcome as Prisma.JsonObject | null;
  const text = snapshot.finalMessage;
  if (!outcome || typeof outcome !== 'object' || Array.isArray(outcome) || !text) return undefined;
  const replaces = outcome.summary == null || (snapshot.finalIsFinish === true && outcome.summary !== text);
  return replaces ? ({ ...outcome, summary: text } as Prisma.InputJsonObject) : undefined;
}

function pushedRecently(run: Pick<Run, 'pushedAt'>, rules: ReconcileRules, now: Date): boolean {
  return run.pushedAt !== null && now.getTime() - run.pushedAt.getTime() < rules.pushQuietMs;
}

/**
 * How long until the poller looks at a run again: the poll interval, or — while an agent server
 * keeps pushing its state — the slower reconciliation interval, which only heals lost pushes.
 */
export function pollDelay(run: Pick<Run, 'pushedAt'>, rules: ReconcileRules, now: Date): number {
  return pushedRecently(run, rules, now) ? Math.max(rules.intervalMs, rules.reconcileMs) : rules.intervalMs;
}

/**
 * A poll read before the run's latest push is older than what the push said: the poll's reading
 * is dropped (the next reconciliation reads again) rather than overwrite newer pushed state.
 */
export function readBeforePush(run: Pick<Run, 'pushedAt'>, readAt: Date): boolean {
  return run.pushedAt !== null && run.pushedAt.getTime() > readAt.getTime();
}
