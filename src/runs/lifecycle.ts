/**
 * Every rule by which a run changes state, in one place. Each function takes the run as it is (the
 * store calls them on the locked row) and what just happened — a client's cancel, a start result, an
 * observation or fault from upstream, a passed deadline, a forge's pull request — and returns the
 * change to write, or null for none. Nothing here reads a clock, a database or the network: `now` and
 * the rules come in as arguments, so every transition is unit-tested from a table
 * (test/unit/lifecycle.test.ts).
 *
 * The status model (docs/architecture.md):
 *
 *   QUEUED ──start──▶ STARTING ──conversation runs──▶ RUNNING ⇄ AWAITING_INPUT
 *      │                  │                               │
 *      └──────────────────┴──▶ COMPLETED | FAILED | CANCELLED | TIMED_OUT ◀─┘
 *
 * `plan` holds the invariants every change obeys whoever asked for it: a final run never becomes
 * active again, percent never decreases and is 100 only for COMPLETED, an error is recorded only
 * with a final status other than COMPLETED, a question is kept only while AWAITING_INPUT, and every
 * visible change appends one event.
 */
import type { Prisma, Run } from '../generated/prisma/client.js';
import type { ActivityItem } from './activity.js';
import {
  type DetectedPullRequest,
  isSameRequest,
  type PullRequestChange,
  type PullRequestState,
  pickPullRequest,
  type ReportedPullRequest,
} from './pull-requests.js';
import { isFinal, type RunStatus } from './status.js';
import type { Snapshot, StartResult, UpstreamRefusal } from './upstream.js';

/** A change to one run, decided by looking at its current (locked) row. */
export interface RunChange {
  status?: RunStatus;
  percent?: number;
  phase?: string;
  error?: { code: string; message: string; retryable: boolean };
  /** Other columns (upstream ids, cursors, scheduling). Never status/percent/phase/seq. */
  set?: Omit<Prisma.RunUncheckedUpdateInput, 'status' | 'percent' | 'phase' | 'lastSeq' | 'id'>;
  /** Records an event even when status, percent and phase stay the same. */
  event?: { type: string; message?: string; data?: Prisma.InputJsonValue };
  /** What the agent did, appended before `event` (each upstream event once: src/runs/activity.ts). */
  activity?: ActivityItem[];
}

/** What the store writes for a change: the row's new columns and the event to append, if any. */
export interface PlannedWrite {
  data: Prisma.RunUncheckedUpdateInput;
  event?: RunChange['event'];
}

/** Deadlines and retry pacing, from the service's settings (src/config/service.ts). */
export interface LifecycleRules {
  /** The poll interval: the first backoff step, and when a quiet run is looked at again. */
  intervalMs: number;
  startTimeoutMs: number;
  stallTimeoutMs: number;
  maxRunMs: number;
  /** How long an error-looking upstream state is taken for a blip before it is believed. */
  errorToleranceMs: number;
  maxStartAttempts: number;
  /** How long a run may wait for a person's answer (RUN_INPUT_TIMEOUT_MS). */
  inputTimeoutMs: number;
}

export const QUEUED_PHASE = 'Queued';
export const START_REQUESTED = {
  status: 'STARTING',
  percent: 5,
  phase: 'Starting OpenHands conversation',
} as const;
/** Stop requests are retried this many times (with backoff) before the runner gives up on them. */
export const MAX_STOP_ATTEMPTS = 20;
const MAX_BACKOFF_MS = 60_000;
/** After an unexpected failure while handling a run, it is looked at again this much later. */
export const RETRY_AFTER_CRASH_MS = MAX_BACKOFF_MS / 4;

// ── Invariants ──────────────────────────────────────────────────────────────────────────────────

export function plan(run: Run, change: RunChange, now: Date = new Date()): PlannedWrite {
  const data: Prisma.RunUncheckedUpdateInput = { ...(change.set ?? {}) };
  const wasFinal = isFinal(run.status);
  let status = run.status;
  let percent = run.percent;
  let phase = run.phase;
  if (!wasFinal) {
    status = change.status ?? run.status;
    percent =
      status === 'COMPLETED' ? 100 : Math.min(99, Math.max(run.percent, change.percent ?? run.percent));
    phase = change.phase ?? run.phase;
    if (isFinal(status)) {
      data.finishedAt = now;
      if (status !== 'COMPLETED' && change.error) {
        data.errorCode = change.error.code;
        data.errorMessage = change.error.message;
        data.errorRetryable = change.error.retryable;
      }
    }
  } else if (change.phase && change.event) {
    // Finished runs keep their status and percent, but may record later facts (a PR merged).
    phase = change.phase;
  }
  const statusChanged = status !== run.status;
  const moved = statusChanged || percent !== run.percent || phase !== run.phase;
  if (statusChanged) data.status = status;
  // A question is only a question while the run waits for its answer (cancelled, completed, timed out …).
  if (statusChanged && status !== 'AWAITING_INPUT' && (run.question !== null || run.awaitingSince !== null)) {
    data.question = null;
    data.awaitingSince = null;
  }
  if (percent !== run.percent) data.percent = percent;
  if (phase !== run.phase) data.phase = phase;
  if (!moved && !change.event) return { data };
  const event = change.event ?? {
    type: statusChanged ? 'STATUS_CHANGED' : 'PROGRESS',
    message: statusChanged ? `${run.status} → ${status}` : undefined,
  };
  return { data, event };
}

/** Whether `change` would append to the run's event log (moves status, percent or phase, or says so). */
export function appendsEvent(run: Run, change: RunChange): boolean {
  return (change.activity?.length ?? 0) > 0 || plan(run, change).event !== undefined;
}

/** Whether `change` ends the agent's work on a run that has no outcome yet: final, or its PR found. */
export function endsWork(run: Run, change: RunChange): boolean {
  if (run.outcome || !run.conversationId || isFinal(run.status)) return false;
  return (change.status !== undefined && isFinal(change.status)) || Boolean(change.set?.prUrl);
}

/**
 * A change decided outside a poll (a push, a forge webhook) that ends the agent's work: the poller
 * reads the outcome soon, before the sandbox goes away, as it does when a poll sees the end.
 */
export function owingOutcome(run: Run, change: RunChange, now: Date): RunChange {
  if (!endsWork(run, change)) return change;
  return { ...change, set: { ...change.set, outcomePending: true, nextPollAt: now } };
}

/**
 * Whether writing `change` would leave the row exactly as it is: no event, and every column it sets
 * already holds that plain value (an update operation such as `{ increment: 1 }` always writes).
 */
export function changesNothing(run: Run, change: RunChange): boolean {
  if (appendsEvent(run, change)) return false;
  for (const [key, value] of Object.entries(change.set ?? {})) {
    if (value === undefined) continue;
    const current = (run as Record<string, unknown>)[key];
    if (value instanceof Date) {
      if (!(current instanceof Date) || current.getTime() !== value.getTime()) return false;
    } else if (value !== null && typeof value === 'object') {
      return false;
    } else if (value !== current) {
      return false;
    }
  }
  return true;
}

// ── Client requests ─────────────────────────────────────────────────────────────────────────────

export type CancelDecision = { change: RunChange | null } | { conflict: string };

/** Ends the run CANCELLED; a run that holds a conversation also owes an upstream stop. */
export function cancel(run: Run, reason: string, now: Date): CancelDecision {
  if (run.status === 'CANCELLED') return { change: null };
  if (isFinal(run.status)) {
    return { conflict: `Run ${run.id} already ended ${run.status} and cannot be cancelled` };
  }
  return {
    change: {
      status: 'CANCELLED',
      phase: 'Cancelled',
      event: { type: 'STATUS_CHANGED', message: reason },
      set: { stopPending: Boolean(run.conversationId || run.startTaskId), nextPollAt: now },
    },
  };
}

// ── Starting upstream ───────────────────────────────────────────────────────────────────────────

/**
 * Counted before the request leaves: should the process die (or lose the answer) with the request
 * in flight, the next attempt knows a conversation may exist and looks for it first.
 */
export const COUNT_START_ATTEMPT: RunChange = { set: { startAttempts: { increment: 1 } } };

/** Whether a claimed run should still be started (it may have been cancelled since it was claimed). */
export function stillToStart(run: Run): boolean {
  return run.status === 'QUEUED' && !run.stopPending;
}

export interface Started {
  version: string;
  result: StartResult;
  /** The conversation was one an interrupted earlier attempt had made. */
  adopted: boolean;
}

export function started(run: Run, { version, result, adopted }: Started, now: Date): RunChange {
  const ids = {
    apiVersion: version,
    startTaskId: result.startTaskId ?? null,
    conversationId: result.conversationId ?? null,
  };
  // Cancelled while the start was in flight: keep the ids so the conversation gets stopped.
  if (isFinal(run.status)) return { set: { ...ids, stopPending: true, nextPollAt: now } };
  const obs = result.observation;
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
}

/**
 * A start attempt failed (`run.startAttempts` already counts it). A refusal fails the run at once;
 * anything else is retried with backoff until `maxStartAttempts`.
 */
export function startFailed(
  run: Run,
  error: Error,
  refusal: UpstreamRefusal | undefined,
  rules: LifecycleRules,
  now: Date,
): RunChange {
  const attempts = run.startAttempts;
  if (isFinal(run.status)) return {};
  if (refusal) {
    const code =
      refusal.status === 401 || refusal.status === 403 ? 'OPENHANDS_UNAUTHORIZED' : 'OPENHANDS_REJECTED';
    const reason = refusal.detail ? `: ${refusal.detail}` : '';
    return failWith(
      {
        code,
        message: `OpenHands refused to start the conversation (HTTP ${refusal.status})${reason}`,
        retryable: false,
      },
      { startAttempts: attempts },
    );
  }
  if (attempts >= rules.maxStartAttempts) {
    return failWith(
      {
        code: 'OPENHANDS_UNAVAILABLE',
        message: `OpenHands could not be reached to start the run after ${attempts} attempts: ${error.message}`,
        retryable: true,
      },
      { startAttempts: attempts },
    );
  }
  return {
    phase: `Waiting for OpenHands (start attempt ${attempts} failed)`,
    set: { startAttempts: attempts, nextPollAt: later(now, backoff(rules, attempts)) },
  };
}

function failWith(error: NonNullable<RunChange['error']>, set: RunChange['set']): RunChange {
  return { status: 'FAILED', phase: 'Failed', error, set };
}

// ── Stopping upstream ───────────────────────────────────────────────────────────────────────────

/** After a stop request: false means nothing could be stopped yet (a V1 task without a sandbox). */
export function stopped(stoppedUpstream: boolean): RunChange {
  return { set: { stopPending: !stoppedUpstream } };
}

/** A stop request failed: retried with backoff, given up after MAX_STOP_ATTEMPTS. */
export function stopFailed(run: Run, rules: LifecycleRules, now: Date): RunChange {
  const attempts = run.stopAttempts + 1;
  return {
    set: {
      stopAttempts: attempts,
      stopPending: attempts < MAX_STOP_ATTEMPTS,
      nextPollAt: later(now, backoff(rules, attempts)),
    },
  };
}

// ── Observing upstream ──────────────────────────────────────────────────────────────────────────

/** What one poll of upstream means for the run: progress, a status, a pull request, or a deadline. */
export function observed(run: Run, snap: Snapshot, rules: LifecycleRules, now: Date): RunChange {
  const obs = snap.observation;
  const progressed = snap.newEvents > 0 || obs.upstream !== run.upstreamStatus;
  const set: NonNullable<RunChange['set']> = {
    upstreamStatus: obs.upstream,
    upstreamEventCount: snap.agentSteps,
    faultCount: 0,
    ...(snap.startTaskId ? { startTaskId: snap.startTaskId } : {}),
    ...(snap.conversationId ? { conversationId: snap.conversationId } : {}),
    ...(snap.sandboxId ? { sandboxId: snap.sandboxId } : {}),
    ...(snap.sessionKeyHash ? { sessionKeyHash: snap.sessionKeyHash } : {}),
    ...(snap.eventCursor ? { eventCursor: snap.eventCursor } : {}),
    ...(progressed ? { lastProgressAt: now } : {}),
  };
  const activity = snap.activity?.length ? { activity: snap.activity } : {};
  if (isFinal(run.status)) return { set, ...activity };

  const pr = run.prUrl ? undefined : pickPullRequest(snap.pullRequests, run.repository);
  if (pr)
    return {
      ...completeWithPullRequest(fromAgentOutput(pr), {
        ...set,
        ...pullRequestColumns(fromAgentOutput(pr)),
        ...waiting(run, 'COMPLETED', snap, now),
      }),
      ...activity,
    };

  if (obs.status === 'FAILED' && obs.suspect) {
    const since = run.blipSince ?? now;
    if (now.getTime() - since.getTime() < rules.errorToleranceMs) {
      // Maybe a blip (OpenHands reports false errors around resumes): look again soon.
      return {
        set: { ...set, lastProgressAt: undefined, blipCount: run.blipCount + 1, blipSince: since },
        ...activity,
      };
    }
  }
  const change: RunChange = {
    status: obs.status,
    percent: obs.percent,
    phase: obs.status === 'RUNNING' && snap.doing ? snap.doing : obs.phase,
    set: { ...set, blipCount: 0, blipSince: null, ...waiting(run, obs.status, snap, now) },
    ...activity,
  };
  if (obs.status === 'FAILED' && obs.failure) {
    change.error = obs.failure;
    change.set = { ...change.set, stopPending: true };
    change.event = { type: 'STATUS_CHANGED', message: obs.failure.message, data: { upstream: obs.upstream } };
  } else if (obs.status === 'COMPLETED') {
    change.event = { type: 'STATUS_CHANGED', message: snap.finalMessage ?? 'OpenHands finished the task' };
  }
  return withDeadlines(run, change, rules, now, progressed);
}

/**
 * The question and since when the run waits for it: the agent's last message while AWAITING_INPUT
 * (kept from an earlier poll when this one read no events), null otherwise.
 */
function waiting(
  run: Run,
  status: RunStatus,
  snap: Snapshot,
  now: Date,
): { question?: string | null; awaitingSince?: Date | null } {
  if (status !== 'AWAITING_INPUT') return notWaiting(run);
  return {
    question: snap.question ?? run.question ?? null,
    awaitingSince: run.status === 'AWAITING_INPUT' ? (run.awaitingSince ?? now) : now,
  };
}

/** Clears the question of a run that no longer waits (nothing to write when there is none). */
function notWaiting(run: Run): { question?: null; awaitingSince?: null } {
  return run.question !== null || run.awaitingSince !== null ? { question: null, awaitingSince: null } : {};
}

/** Reading the run from upstream failed: back off, note the first fault of a streak, keep deadlines. */
export function faulted(run: Run, error: Error, rules: LifecycleRules, now: Date): RunChange {
  const faults = run.faultCount + 1;
  const change: RunChange = {
    set: { faultCount: faults, nextPollAt: later(now, backoff(rules, faults)) },
    // Surface the first fault of a streak in the run's timeline; the rest would only be noise.
    event: faults === 1 ? { type: 'UPSTREAM_FAULT', message: error.message } : undefined,
  };
  if (isFinal(run.status)) return change;
  return withDeadlines(run, change, rules, now, false);
}

/** Start timeout, stall timeout and maximum duration, checked on every poll whatever upstream said. */
export function withDeadlines(
  run: Run,
  change: RunChange,
  rules: LifecycleRules,
  now: Date,
  progressed: boolean,
): RunChange {
  const { startTimeoutMs, stallTimeoutMs, maxRunMs, inputTimeoutMs } = rules;
  const status = change.status ?? run.status;
  if (isFinal(status)) return change;
  const awaitingSince = change.set?.awaitingSince ?? run.awaitingSince;
  const question = change.set?.question !== undefined ? change.set.question : run.question;
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
    status === 'AWAITING_INPUT' &&
    awaitingSince instanceof Date &&
    now.getTime() - awaitingSince.getTime() > inputTimeoutMs
  ) {
    timeout = { code: 'INPUT_TIMEOUT', message: `No answer to the agent within ${inputTimeoutMs} ms` };
  } else if (
    // Waiting for a person is no stall; a sandbox OpenHands paused (its cap) with no question pending
    // will not go on by itself.
    (status !== 'AWAITING_INPUT' ||
      (!question && sandboxPaused(change.set?.upstreamStatus ?? run.upstreamStatus))) &&
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
    set: { ...change.set, ...notWaiting(run), stopPending: true, nextPollAt: now },
    ...(change.activity ? { activity: change.activity } : {}),
  };
}

function sandboxPaused(upstreamStatus: unknown): boolean {
  return typeof upstreamStatus === 'string' && upstreamStatus.startsWith('sandbox:PAUSED');
}

// ── Messages to the agent ───────────────────────────────────────────────────────────────────────

/** Delivery attempts of one message before it is given up (MESSAGE_FAILED). */
export const MAX_MESSAGE_ATTEMPTS = 5;

export type MessageDecision = { change: RunChange } | { conflict: string };

/** A client's message (sendRunMessage): recorded as USER_MESSAGE on an active run, refused on a final one. */
export function messageSent(
  run: Run,
  text: { message: string; data?: Record<string, unknown> },
  now: Date,
): MessageDecision {
  if (isFinal(run.status)) {
    return { conflict: `Run ${run.id} already ended ${run.status}; it takes no more messages` };
  }
  return {
    change: {
      event: { type: 'USER_MESSAGE', message: text.message, data: text.data as Prisma.InputJsonValue },
      // Due at once: the replica holding the run delivers it on its next round.
      set: { nextPollAt: now },
    },
  };
}

export function messageDelivered(messageSeq: number): RunChange {
  return {
    event: {
      type: 'MESSAGE_DELIVERED',
      message: `Message ${messageSeq} delivered to the agent`,
      data: { messageSeq },
    },
  };
}

export interface DeliveryRetry {
  /** Null: given up, the change records MESSAGE_FAILED. */
  nextAttemptAt: Date | null;
  change: RunChange | null;
}

/**
 * A delivery attempt failed (`attempts` counts it). A refusal, a run that ended, or the last attempt
 * gives the message up; anything else is retried with the poller's backoff.
 */
export function deliveryFailed(
  run: Run,
  messageSeq: number,
  attempts: number,
  reason: string,
  refused: boolean,
  rules: Pick<LifecycleRules, 'intervalMs'>,
  now: Date,
): DeliveryRetry {
  if (!refused && !isFinal(run.status) && attempts < MAX_MESSAGE_ATTEMPTS) {
    return { nextAttemptAt: later(now, backoff(rules, attempts)), change: null };
  }
  return {
    nextAttemptAt: null,
    change: {
      event: {
        type: 'MESSAGE_FAILED',
        message: `Message ${messageSeq} could not be delivered: ${reason}`,
        data: { messageSeq, attempts, reason },
      },
    },
  };
}

// ── Pull requests reported by the forge ─────────────────────────────────────────────────────────

/**
 * What a verified pull/merge request delivery did, as recorded on the WebhookDelivery row:
 *   COMPLETED_RUN         an active run became COMPLETED with the request attached
 *   UPDATED_PULL_REQUEST  the attached request changed state or got new commits (event appended)
 *   RECORDED              a request attached to a run that had already ended; status unchanged
 *   UNCHANGED             the run already says this (another delivery, or the poller, got there
 *                         first), or the run already has a different request
 */
export type PullRequestOutcome = 'COMPLETED_RUN' | 'UPDATED_PULL_REQUEST' | 'RECORDED' | 'UNCHANGED';

export interface PullRequestDecision {
  outcome: PullRequestOutcome;
  detail: string;
  change: RunChange | null;
}

const VERB: Record<PullRequestState, string> = { OPEN: 'opened', MERGED: 'merged', CLOSED: 'closed' };

/**
 * The attached request's next state. MERGED is final; a late `opened` (deliveries can arrive out of
 * order) never reopens a closed request, only an explicit reopen does.
 */
export function nextPullRequestState(current: PullRequestState, change: PullRequestChange): PullRequestState {
  if (current === 'MERGED') return 'MERGED';
  if (change === 'MERGED') return 'MERGED';
  if (change === 'CLOSED') return 'CLOSED';
  if (change === 'REOPENED') return 'OPEN';
  return current;
}

/** A forge delivery about a pull request that correlation matched to this run. */
export function pullRequestReported(
  run: Run,
  change: PullRequestChange,
  pr: ReportedPullRequest,
  now: Date,
): PullRequestDecision {
  const active = !isFinal(run.status);
  // A run that is (or becomes) COMPLETED describes its request in the phase; a failed one keeps "Failed".
  const phaseFor = (state: PullRequestState) =>
    active || run.status === 'COMPLETED' ? `Pull request ${VERB[state]}` : undefined;

  if (!run.prUrl) {
    const set = pullRequestColumns(pr);
    // The request is the deliverable: the same completion as the poller finding its URL.
    if (active) {
      return {
        outcome: 'COMPLETED_RUN',
        detail: `run completed with ${pr.url}`,
        change: owingOutcome(run, completeWithPullRequest(pr, set), now),
      };
    }
    // An ended run never becomes active again; keep the request for operators to see.
    return {
      outcome: 'RECORDED',
      detail: `run had already ended ${run.status}; request attached, status unchanged`,
      change: { phase: phaseFor(pr.state), event: pullRequestEvent(pr, pr.state), set },
    };
  }

  if (!isSameRequest(run, pr)) {
    // One run, one request: a second one must not overwrite what the run reports.
    return {
      outcome: 'UNCHANGED',
      detail: `run already has ${run.prUrl}; ${pr.url} not attached`,
      change: null,
    };
  }

  const current = (run.prState ?? 'OPEN') as PullRequestState;
  const state = nextPullRequestState(current, change);
  // The poller does not know the head branch or sha: fill them in when a delivery brings them.
  const fill: NonNullable<RunChange['set']> = {};
  if (!run.prHeadBranch) fill.prHeadBranch = pr.headBranch;
  if (pr.headSha && !run.prHeadSha) fill.prHeadSha = pr.headSha;

  // Attached but still active cannot happen through the poller or a delivery; complete it anyway.
  if (active) {
    return {
      outcome: 'COMPLETED_RUN',
      detail: state !== current ? `pull request ${current} → ${state}` : `run completed with ${pr.url}`,
      change: owingOutcome(run, completeWithPullRequest({ ...pr, state }, { ...fill, prState: state }), now),
    };
  }
  if (state !== current) {
    return {
      outcome: 'UPDATED_PULL_REQUEST',
      detail: `pull request ${current} → ${state}`,
      change: {
        phase: phaseFor(state),
        event: pullRequestEvent(pr, state),
        set: { ...fill, prState: state },
      },
    };
  }
  if (change === 'PUSHED' && pr.headSha && pr.headSha !== run.prHeadSha) {
    return {
      outcome: 'UPDATED_PULL_REQUEST',
      detail: `new head ${pr.headSha}`,
      change: {
        event: {
          type: 'PULL_REQUEST_UPDATED',
          message: `New commits on pull request ${pr.url} (head ${pr.headSha.slice(0, 12)})`,
          data: pullRequestData(pr, state),
        },
        set: { ...fill, prHeadSha: pr.headSha },
      },
    };
  }
  const filled = Object.keys(fill).length > 0;
  return {
    outcome: 'UNCHANGED',
    detail: `run already shows the pull request ${state}${filled ? '; head branch/sha filled in' : ''}`,
    change: filled ? { set: fill } : null,
  };
}

/** The one way a run completes with its deliverable, whoever saw the pull request first. */
function completeWithPullRequest(pr: ReportedPullRequest, set: RunChange['set']): RunChange {
  return {
    status: 'COMPLETED',
    phase: `Pull request ${VERB[pr.state]}`,
    event: pullRequestEvent(pr, pr.state),
    set: { ...set, blipCount: 0, blipSince: null },
  };
}

function pullRequestEvent(pr: ReportedPullRequest, state: PullRequestState): RunChange['event'] {
  return {
    type: 'PULL_REQUEST',
    message: `Pull request ${VERB[state]}: ${pr.url}`,
    data: pullRequestData(pr, state),
  };
}

function pullRequestColumns(pr: ReportedPullRequest): NonNullable<RunChange['set']> {
  return {
    prProvider: pr.provider,
    prUrl: pr.url,
    prNumber: pr.number,
    prState: pr.state,
    ...(pr.source === 'webhook' ? { prHeadBranch: pr.headBranch, prHeadSha: pr.headSha } : {}),
  };
}

function pullRequestData(pr: ReportedPullRequest, state: PullRequestState): Prisma.InputJsonValue {
  const { provider, url, number, repository } = pr;
  // Found in agent output: what the URL says. From a delivery: also its state, head and delivery id.
  if (pr.source === 'openhands') return { provider, url, number, repository, source: 'openhands' };
  return {
    provider,
    url,
    number,
    repository,
    state,
    headBranch: pr.headBranch,
    headSha: pr.headSha,
    source: 'webhook',
    deliveryId: pr.deliveryId,
  };
}

function fromAgentOutput(pr: DetectedPullRequest): ReportedPullRequest {
  return { ...pr, state: 'OPEN', headBranch: null, headSha: null, source: 'openhands' };
}

// ── Pacing ──────────────────────────────────────────────────────────────────────────────────────

export function backoff(rules: Pick<LifecycleRules, 'intervalMs'>, faults: number): number {
  return Math.min(MAX_BACKOFF_MS, rules.intervalMs * 2 ** Math.max(0, faults - 1));
}

function later(now: Date, ms: number): Date {
  return new Date(now.getTime() + ms);
}
