/**
 * Every transition of the run status model (src/runs/lifecycle.ts), from tables: no database, no
 * network, no clock. Runs are whole `Run` rows from `makeRun`, `now` is a fixed date, and where the
 * written row says it best, `written` applies `plan` the way the store does.
 */
import { describe, expect, it } from 'vitest';
import type { Run } from '../../src/generated/prisma/client.js';
import {
  backoff,
  COUNT_START_ATTEMPT,
  cancel,
  faulted,
  type LifecycleRules,
  MAX_STOP_ATTEMPTS,
  nextPullRequestState,
  observed,
  plan,
  pullRequestReported,
  type RunChange,
  START_REQUESTED,
  started,
  startFailed,
  stillToStart,
  stopFailed,
  stopped,
  withDeadlines,
} from '../../src/runs/lifecycle.js';
import type {
  DetectedPullRequest,
  PullRequestChange,
  PullRequestState,
  ReportedPullRequest,
} from '../../src/runs/pull-requests.js';
import { FINAL_STATUSES, RUN_STATUSES, type RunStatus } from '../../src/runs/status.js';
import type { Observation, Snapshot } from '../../src/runs/upstream.js';

const NOW = new Date('2026-03-01T12:00:00.000Z');
const CREATED = new Date('2026-03-01T10:00:00.000Z');
const SECOND = 1000;
const MINUTE = 60 * SECOND;

const RULES: LifecycleRules = {
  intervalMs: 1 * SECOND,
  startTimeoutMs: 5 * MINUTE,
  stallTimeoutMs: 10 * MINUTE,
  maxRunMs: 60 * MINUTE,
  errorToleranceMs: 30 * SECOND,
  maxStartAttempts: 3,
  inputTimeoutMs: 60 * MINUTE,
};

const ACTIVE_STATUSES = RUN_STATUSES.filter((s) => !FINAL_STATUSES.includes(s));
const FINAL_OTHER_THAN_COMPLETED: readonly RunStatus[] = FINAL_STATUSES.filter((s) => s !== 'COMPLETED');

function ago(ms: number): Date {
  return new Date(NOW.getTime() - ms);
}

function fromNow(ms: number): Date {
  return new Date(NOW.getTime() + ms);
}

/** A whole `Run` row (every column of the Prisma model): a RUNNING run 2 minutes in, unless overridden. */
function makeRun(overrides: Partial<Run> = {}): Run {
  return {
    id: 'run_01',
    projectId: 'proj_01',
    compiledPrompt: 'Fix the failing test',
    repository: 'acme/widgets',
    branch: 'main',
    gitProvider: 'github',
    metadata: null,
    idempotencyKey: null,
    status: 'RUNNING',
    percent: 40,
    phase: 'Agent working',
    apiVersion: 'v1',
    startTaskId: 'task-1',
    conversationId: 'conv-1',
    sandboxId: 'sbx-1',
    upstreamStatus: 'sandbox:RUNNING execution:running',
    eventCursor: null,
    upstreamEventCount: 4,
    startAttempts: 1,
    blipCount: 0,
    blipSince: null,
    faultCount: 0,
    stopAttempts: 0,
    stopPending: false,
    outcomePending: false,
    errorCode: null,
    errorMessage: null,
    errorRetryable: null,
    prProvider: null,
    prUrl: null,
    prNumber: null,
    prState: null,
    prHeadBranch: null,
    prHeadSha: null,
    lastSeq: 3,
    activityCount: 0,
    question: null,
    awaitingSince: null,
    outcome: null,
    pushedAt: null,
    pushStatusAt: null,
    sessionKeyHash: null,
    nextPollAt: CREATED,
    leaseOwner: null,
    leaseExpiresAt: null,
    createdAt: CREATED,
    updatedAt: CREATED,
    changedAt: CREATED,
    startedAt: ago(2 * MINUTE),
    finishedAt: null,
    lastProgressAt: ago(1 * MINUTE),
    ...overrides,
  };
}

/** The row the store would write for `change` (plain values only), and the event it would append. */
function written(run: Run, change: RunChange | null, now = NOW): { row: Run; event: RunChange['event'] } {
  if (!change) return { row: run, event: undefined };
  const { data, event } = plan(run, change, now);
  return { row: { ...run, ...data } as Run, event };
}

const UPSTREAM_RUNNING = 'sandbox:RUNNING execution:running';

const OBS = {
  STARTING: {
    status: 'STARTING',
    percent: 12,
    phase: 'Waiting for sandbox',
    upstream: 'task:WAITING_FOR_SANDBOX',
  },
  RUNNING: { status: 'RUNNING', percent: 55, phase: 'Agent working', upstream: UPSTREAM_RUNNING },
  AWAITING_INPUT: {
    status: 'AWAITING_INPUT',
    percent: 55,
    phase: 'Waiting for confirmation',
    upstream: 'sandbox:RUNNING execution:waiting_for_confirmation',
  },
  COMPLETED: {
    status: 'COMPLETED',
    percent: 100,
    phase: 'Finished',
    upstream: 'sandbox:RUNNING execution:finished',
  },
  FAILED: {
    status: 'FAILED',
    percent: 0,
    phase: 'Failed',
    upstream: 'sandbox:ERROR',
    failure: { code: 'SANDBOX_ERROR', message: 'The sandbox crashed', retryable: false },
    suspect: false,
  },
} satisfies Record<string, Observation>;

function snapshot(observation: Observation, overrides: Partial<Snapshot> = {}): Snapshot {
  return { observation, agentSteps: 9, newEvents: 0, pullRequests: [], ...overrides };
}

// ── plan ────────────────────────────────────────────────────────────────────────────────────────

describe('plan', () => {
  describe.each(FINAL_STATUSES)('a %s run never becomes active again', (final) => {
    const run = makeRun({ status: final, percent: 40, phase: 'Ended', finishedAt: ago(MINUTE) });

    it.each(RUN_STATUSES)('asked for %s: status, percent, phase and finishedAt stay', (attempted) => {
      const { data, event } = plan(run, { status: attempted, percent: 90, phase: 'Moving again' }, NOW);
      expect(data).toEqual({});
      expect(event).toBeUndefined();
    });

    it('still writes the other columns and records no error', () => {
      const change: RunChange = {
        status: 'FAILED',
        error: { code: 'LATE', message: 'too late', retryable: false },
        set: { stopPending: true },
      };
      expect(plan(run, change, NOW)).toEqual({ data: { stopPending: true } });
    });
  });

  it.each([
    // [status, percent asked, percent written]
    ['RUNNING', 30, 40],
    ['RUNNING', 40, 40],
    ['RUNNING', 60, 60],
    ['RUNNING', 99, 99],
    ['RUNNING', 100, 99],
    ['AWAITING_INPUT', 250, 99],
    ['FAILED', 0, 40],
    ['FAILED', 100, 99],
    ['TIMED_OUT', 100, 99],
    ['CANCELLED', undefined, 40],
    ['COMPLETED', 50, 100],
    ['COMPLETED', undefined, 100],
  ] as Array<[RunStatus, number | undefined, number]>)(
    '%s with percent %s writes percent %s (from 40)',
    (status, asked, expected) => {
      const { row } = written(makeRun({ percent: 40 }), { status, percent: asked });
      expect(row.percent).toBe(expected);
    },
  );

  it.each(RUN_STATUSES)(
    'an error given with %s is recorded only for a final status other than COMPLETED',
    (status) => {
      const error = { code: 'BOOM', message: 'It broke', retryable: true };
      const { row } = written(makeRun(), { status, error });
      const recorded = FINAL_OTHER_THAN_COMPLETED.includes(status);
      expect([row.errorCode, row.errorMessage, row.errorRetryable]).toEqual(
        recorded ? ['BOOM', 'It broke', true] : [null, null, null],
      );
    },
  );

  it('a final status without an error records none', () => {
    const { data } = plan(makeRun(), { status: 'FAILED' }, NOW);
    expect(data).toEqual({ status: 'FAILED', finishedAt: NOW });
  });

  it.each(RUN_STATUSES)('entering %s sets finishedAt only for a final status', (status) => {
    const { row } = written(makeRun({ status: 'STARTING' }), { status });
    expect(row.finishedAt).toEqual(FINAL_STATUSES.includes(status) ? NOW : null);
  });

  describe.each(FINAL_STATUSES)('the phase of a %s run', (final) => {
    const run = makeRun({ status: final, phase: 'Ended', percent: 70 });
    const event = { type: 'PULL_REQUEST', message: 'Pull request merged: x' };

    it('stays without an explicit event', () => {
      expect(plan(run, { phase: 'Pull request merged' }, NOW)).toEqual({ data: {} });
    });

    it('changes with an explicit event, which is the one appended', () => {
      expect(plan(run, { phase: 'Pull request merged', event }, NOW)).toEqual({
        data: { phase: 'Pull request merged' },
        event,
      });
    });

    it('changes with an explicit event, but its status and percent still do not', () => {
      const { row } = written(run, { status: 'RUNNING', percent: 80, phase: 'Pull request merged', event });
      expect([row.status, row.percent, row.phase]).toEqual([final, 70, 'Pull request merged']);
    });
  });

  it.each([
    [
      'a status change',
      makeRun({ status: 'QUEUED', percent: 0, phase: 'Queued' }),
      { status: 'STARTING' },
      'STATUS_CHANGED',
      'QUEUED → STARTING',
    ],
    [
      'a status change to a final status',
      makeRun(),
      { status: 'CANCELLED', phase: 'Cancelled' },
      'STATUS_CHANGED',
      'RUNNING → CANCELLED',
    ],
    ['a percent change', makeRun(), { percent: 41 }, 'PROGRESS', undefined],
    ['a phase change', makeRun(), { phase: 'Agent running commands' }, 'PROGRESS', undefined],
    [
      'a phase change to a same-status run',
      makeRun(),
      { status: 'RUNNING', phase: 'Agent editing files' },
      'PROGRESS',
      undefined,
    ],
  ] as Array<[string, Run, RunChange, string, string | undefined]>)(
    '%s appends a default %s event',
    (_what, run, change, type, message) => {
      const { event } = plan(run, change, NOW);
      expect(event).toEqual({ type, message });
    },
  );

  it('an explicit event replaces the default one', () => {
    const event = { type: 'STATUS_CHANGED', message: 'Cancelled by client' };
    expect(plan(makeRun(), { status: 'CANCELLED', event }, NOW).event).toBe(event);
  });

  it('an explicit event is appended even when nothing moved', () => {
    const event = { type: 'UPSTREAM_FAULT', message: 'ECONNRESET' };
    expect(plan(makeRun(), { event, set: { faultCount: 1 } }, NOW)).toEqual({
      data: { faultCount: 1 },
      event,
    });
  });

  it.each([
    ['an empty change', {}],
    ['the same status, percent and phase', { status: 'RUNNING', percent: 40, phase: 'Agent working' }],
    ['a lower percent', { percent: 10 }],
    ['only other columns', { set: { upstreamEventCount: 7, nextPollAt: NOW } }],
  ] as Array<[string, RunChange]>)('%s appends no event', (_what, change) => {
    const { data, event } = plan(makeRun({ percent: 40, phase: 'Agent working' }), change, NOW);
    expect(event).toBeUndefined();
    expect(data).toEqual(change.set ?? {});
  });
});

// ── cancel ──────────────────────────────────────────────────────────────────────────────────────

describe('cancel', () => {
  it.each(
    ACTIVE_STATUSES.flatMap((status) => [
      [status, null, null, false],
      [status, 'task-1', null, true],
      [status, null, 'conv-1', true],
      [status, 'task-1', 'conv-1', true],
    ]) as Array<[RunStatus, string | null, string | null, boolean]>,
  )(
    '%s (start task %s, conversation %s) → CANCELLED, stopPending %s',
    (status, startTaskId, conversationId, stopPending) => {
      const run = makeRun({ status, startTaskId, conversationId, percent: 20 });
      const decision = cancel(run, 'Cancelled by client', NOW);
      expect(decision).toEqual({
        change: {
          status: 'CANCELLED',
          phase: 'Cancelled',
          event: { type: 'STATUS_CHANGED', message: 'Cancelled by client' },
          set: { stopPending, nextPollAt: NOW },
        },
      });
      const { row, event } = written(run, 'change' in decision ? decision.change : null);
      expect(row).toMatchObject({
        status: 'CANCELLED',
        phase: 'Cancelled',
        percent: 20,
        finishedAt: NOW,
        stopPending,
      });
      expect(row.errorCode).toBeNull();
      expect(event?.message).toBe('Cancelled by client');
    },
  );

  it('an already CANCELLED run: no change', () => {
    expect(cancel(makeRun({ status: 'CANCELLED' }), 'again', NOW)).toEqual({ change: null });
  });

  it.each(FINAL_STATUSES.filter((s) => s !== 'CANCELLED'))('a %s run: a conflict', (status) => {
    expect(cancel(makeRun({ id: 'run_42', status }), 'too late', NOW)).toEqual({
      conflict: `Run run_42 already ended ${status} and cannot be cancelled`,
    });
  });
});

// ── starting ────────────────────────────────────────────────────────────────────────────────────

describe('starting upstream', () => {
  const queued = makeRun({
    status: 'QUEUED',
    percent: 0,
    phase: 'Queued',
    apiVersion: null,
    startTaskId: null,
    conversationId: null,
    sandboxId: null,
    upstreamStatus: null,
    startedAt: null,
    lastProgressAt: null,
    startAttempts: 1,
  });

  it('counts the attempt before the request leaves, without an event', () => {
    expect(COUNT_START_ATTEMPT).toEqual({ set: { startAttempts: { increment: 1 } } });
    expect(plan(queued, COUNT_START_ATTEMPT, NOW)).toEqual({ data: { startAttempts: { increment: 1 } } });
  });

  it.each([
    ['QUEUED', false, true],
    ['QUEUED', true, false],
    ...RUN_STATUSES.filter((s) => s !== 'QUEUED').map((s) => [s, false, false]),
  ] as Array<[RunStatus, boolean, boolean]>)(
    'stillToStart(%s, stopPending %s) is %s',
    (status, stopPending, expected) => {
      expect(stillToStart(makeRun({ status, stopPending }))).toBe(expected);
    },
  );

  describe('started', () => {
    it('a started run becomes STARTING with its ids, times and upstream status', () => {
      const change = started(
        queued,
        { version: 'v1', result: { startTaskId: 'task-9', observation: OBS.STARTING }, adopted: false },
        NOW,
      );
      const ids = { apiVersion: 'v1', startTaskId: 'task-9', conversationId: null };
      expect(change).toEqual({
        status: 'STARTING',
        percent: 12,
        phase: 'Waiting for sandbox',
        event: { type: 'STATUS_CHANGED', message: 'Started on OpenHands v1', data: ids },
        set: { ...ids, startedAt: NOW, lastProgressAt: NOW, upstreamStatus: 'task:WAITING_FOR_SANDBOX' },
      });
      const { row, event } = written(queued, change);
      expect(row).toMatchObject({ status: 'STARTING', percent: 12, startedAt: NOW, finishedAt: null });
      expect(event?.type).toBe('STATUS_CHANGED');
    });

    it('an adopted conversation says it was found, not started', () => {
      const change = started(
        queued,
        {
          version: 'v0',
          result: {
            conversationId: 'conv-7',
            observation: { ...OBS.STARTING, percent: 20, phase: 'Runtime started' },
          },
          adopted: true,
        },
        NOW,
      );
      expect(change.event).toEqual({
        type: 'STATUS_CHANGED',
        message: 'Found the conversation an interrupted start had made on OpenHands v0',
        data: { apiVersion: 'v0', startTaskId: null, conversationId: 'conv-7' },
      });
      expect([change.status, change.percent, change.phase]).toEqual(['STARTING', 20, 'Runtime started']);
    });

    it('percent is at least the start-requested one, and a non-STARTING observation gets its phase', () => {
      const change = started(
        queued,
        {
          version: 'v1',
          result: { conversationId: 'c', observation: { ...OBS.RUNNING, percent: 0 } },
          adopted: true,
        },
        NOW,
      );
      expect([change.status, change.percent, change.phase]).toEqual([
        'STARTING',
        START_REQUESTED.percent,
        START_REQUESTED.phase,
      ]);
    });

    it.each(FINAL_STATUSES)(
      'cancelled meanwhile (%s): keeps the ids so the conversation gets stopped',
      (status) => {
        const run = { ...queued, status, phase: 'Cancelled' };
        const change = started(
          run,
          {
            version: 'v1',
            result: { startTaskId: 'task-9', conversationId: 'conv-9', observation: OBS.STARTING },
            adopted: false,
          },
          NOW,
        );
        expect(change).toEqual({
          set: {
            apiVersion: 'v1',
            startTaskId: 'task-9',
            conversationId: 'conv-9',
            stopPending: true,
            nextPollAt: NOW,
          },
        });
        const { row, event } = written(run, change);
        expect([row.status, row.phase, row.stopPending]).toEqual([status, 'Cancelled', true]);
        expect(event).toBeUndefined();
      },
    );
  });

  describe('startFailed', () => {
    const error = new Error('connect ECONNREFUSED 127.0.0.1:3000');

    it.each([
      [401, undefined, 'OPENHANDS_UNAUTHORIZED', 'OpenHands refused to start the conversation (HTTP 401)'],
      [
        403,
        'forbidden',
        'OPENHANDS_UNAUTHORIZED',
        'OpenHands refused to start the conversation (HTTP 403): forbidden',
      ],
      [
        400,
        'bad repo',
        'OPENHANDS_REJECTED',
        'OpenHands refused to start the conversation (HTTP 400): bad repo',
      ],
      [404, undefined, 'OPENHANDS_REJECTED', 'OpenHands refused to start the conversation (HTTP 404)'],
      [
        422,
        'invalid',
        'OPENHANDS_REJECTED',
        'OpenHands refused to start the conversation (HTTP 422): invalid',
      ],
    ] as Array<[number, string | undefined, string, string]>)(
      'a refusal (HTTP %s, %s) fails the run at once with %s',
      (status, detail, code, message) => {
        const change = startFailed(queued, error, { status, detail }, RULES, NOW);
        expect(change).toEqual({
          status: 'FAILED',
          phase: 'Failed',
          error: { code, message, retryable: false },
          set: { startAttempts: 1 },
        });
        const { row } = written(queued, change);
        expect(row).toMatchObject({
          status: 'FAILED',
          errorCode: code,
          errorMessage: message,
          errorRetryable: false,
        });
        expect(row.finishedAt).toEqual(NOW);
      },
    );

    it.each([
      [1, 1 * SECOND],
      [2, 2 * SECOND],
    ])('attempt %s failed (of 3): retried after %s ms with a waiting phase', (attempts, delay) => {
      const run = { ...queued, startAttempts: attempts };
      const change = startFailed(run, error, undefined, RULES, NOW);
      expect(change).toEqual({
        phase: `Waiting for OpenHands (start attempt ${attempts} failed)`,
        set: { startAttempts: attempts, nextPollAt: fromNow(delay) },
      });
      const { row, event } = written(run, change);
      expect(row.status).toBe('QUEUED');
      expect(event).toEqual({ type: 'PROGRESS', message: undefined });
    });

    it.each([3, 4])('after %s attempts (maxStartAttempts 3): OPENHANDS_UNAVAILABLE', (attempts) => {
      const run = { ...queued, startAttempts: attempts };
      expect(startFailed(run, error, undefined, RULES, NOW)).toEqual({
        status: 'FAILED',
        phase: 'Failed',
        error: {
          code: 'OPENHANDS_UNAVAILABLE',
          message: `OpenHands could not be reached to start the run after ${attempts} attempts: connect ECONNREFUSED 127.0.0.1:3000`,
          retryable: true,
        },
        set: { startAttempts: attempts },
      });
    });

    it.each(FINAL_STATUSES)('a %s run: no change, refusal or not', (status) => {
      const run = { ...queued, status, startAttempts: 5 };
      expect(startFailed(run, error, undefined, RULES, NOW)).toEqual({});
      expect(startFailed(run, error, { status: 401 }, RULES, NOW)).toEqual({});
    });
  });
});

// ── stopping ────────────────────────────────────────────────────────────────────────────────────

describe('stopping upstream', () => {
  it.each([
    [true, false],
    [false, true],
  ])('stopped(%s) leaves stopPending %s', (stoppedUpstream, stopPending) => {
    expect(stopped(stoppedUpstream)).toEqual({ set: { stopPending } });
  });

  it.each([
    [0, 1, true, 1 * SECOND],
    [1, 2, true, 2 * SECOND],
    [5, 6, true, 32 * SECOND],
    [6, 7, true, 60 * SECOND],
    [MAX_STOP_ATTEMPTS - 2, MAX_STOP_ATTEMPTS - 1, true, 60 * SECOND],
    [MAX_STOP_ATTEMPTS - 1, MAX_STOP_ATTEMPTS, false, 60 * SECOND],
    [MAX_STOP_ATTEMPTS + 5, MAX_STOP_ATTEMPTS + 6, false, 60 * SECOND],
  ])(
    'stopFailed after %s attempts: attempt %s, stopPending %s, next try in %s ms',
    (before, attempts, pending, delay) => {
      const run = makeRun({ status: 'CANCELLED', stopPending: true, stopAttempts: before });
      expect(stopFailed(run, RULES, NOW)).toEqual({
        set: { stopAttempts: attempts, stopPending: pending, nextPollAt: fromNow(delay) },
      });
    },
  );

  it('gives up on the 20th failed stop', () => {
    expect(MAX_STOP_ATTEMPTS).toBe(20);
  });
});

// ── observing ───────────────────────────────────────────────────────────────────────────────────

describe('observed', () => {
  it('a STARTING observation keeps the run STARTING with its percent and phase', () => {
    const run = makeRun({
      status: 'STARTING',
      percent: 5,
      phase: START_REQUESTED.phase,
      upstreamStatus: 'task:WORKING',
    });
    const change = observed(run, snapshot(OBS.STARTING, { agentSteps: 0 }), RULES, NOW);
    expect(change).toEqual({
      status: 'STARTING',
      percent: 12,
      phase: 'Waiting for sandbox',
      set: {
        upstreamStatus: 'task:WAITING_FOR_SANDBOX',
        upstreamEventCount: 0,
        faultCount: 0,
        lastProgressAt: NOW,
        blipCount: 0,
        blipSince: null,
      },
    });
  });

  it.each([
    ['RUNNING', OBS.RUNNING, 'Agent running commands', 'Agent running commands'],
    ['RUNNING', OBS.RUNNING, undefined, 'Agent working'],
    ['STARTING', OBS.STARTING, 'Agent running commands', 'Waiting for sandbox'],
    ['AWAITING_INPUT', OBS.AWAITING_INPUT, 'Agent running commands', 'Waiting for confirmation'],
  ] as Array<[RunStatus, Observation, string | undefined, string]>)(
    '%s with activity %s: phase %s',
    (status, obs, activity, phase) => {
      const change = observed(
        makeRun({ status: 'STARTING' }),
        snapshot(obs, { doing: activity, newEvents: 1 }),
        RULES,
        NOW,
      );
      expect([change.status, change.percent, change.phase]).toEqual([status, obs.percent, phase]);
    },
  );

  it('COMPLETED with the agent final message', () => {
    const run = makeRun();
    const change = observed(run, snapshot(OBS.COMPLETED, { finalMessage: 'Done: fixed it' }), RULES, NOW);
    expect(change.event).toEqual({ type: 'STATUS_CHANGED', message: 'Done: fixed it' });
    const { row } = written(run, change);
    expect(row).toMatchObject({
      status: 'COMPLETED',
      percent: 100,
      phase: 'Finished',
      finishedAt: NOW,
      errorCode: null,
    });
  });

  it('COMPLETED without a final message says OpenHands finished', () => {
    const change = observed(makeRun(), snapshot(OBS.COMPLETED), RULES, NOW);
    expect(change.event).toEqual({ type: 'STATUS_CHANGED', message: 'OpenHands finished the task' });
  });

  it('FAILED with a failure records it as the error and owes a stop', () => {
    const run = makeRun({ blipCount: 2, blipSince: ago(40 * SECOND) });
    const change = observed(run, snapshot(OBS.FAILED), RULES, NOW);
    expect(change).toMatchObject({
      status: 'FAILED',
      error: OBS.FAILED.failure,
      event: { type: 'STATUS_CHANGED', message: 'The sandbox crashed', data: { upstream: 'sandbox:ERROR' } },
      set: { stopPending: true, blipCount: 0, blipSince: null },
    });
    const { row } = written(run, change);
    expect(row).toMatchObject({
      status: 'FAILED',
      percent: 40,
      errorCode: 'SANDBOX_ERROR',
      errorMessage: 'The sandbox crashed',
      errorRetryable: false,
      stopPending: true,
      finishedAt: NOW,
    });
  });

  describe('a suspect failure', () => {
    const suspect = {
      ...OBS.FAILED,
      suspect: true,
      failure: { code: 'CONVERSATION_MISSING', message: 'gone', retryable: true },
    };

    it.each([
      ['first seen now', null, 0, NOW, 1],
      ['seen 10 s ago', ago(10 * SECOND), 2, ago(10 * SECOND), 3],
      ['seen 29.999 s ago', ago(30 * SECOND - 1), 5, ago(30 * SECOND - 1), 6],
    ] as Array<[string, Date | null, number, Date, number]>)(
      '%s, within errorToleranceMs: a blip',
      (_when, blipSince, blipCount, since, count) => {
        const run = makeRun({ blipSince, blipCount });
        const change = observed(run, snapshot(suspect, { newEvents: 3 }), RULES, NOW);
        expect(change).toEqual({
          set: {
            upstreamStatus: 'sandbox:ERROR',
            upstreamEventCount: 9,
            faultCount: 0,
            lastProgressAt: undefined,
            blipCount: count,
            blipSince: since,
          },
        });
        const { row, event } = written(run, change);
        expect([row.status, row.percent, row.phase, row.errorCode]).toEqual([
          'RUNNING',
          40,
          'Agent working',
          null,
        ]);
        expect(event).toBeUndefined();
      },
    );

    it.each([
      ['seen exactly 30 s ago', ago(30 * SECOND)],
      ['seen 2 minutes ago', ago(2 * MINUTE)],
    ])('%s, past errorToleranceMs: FAILED', (_when, blipSince) => {
      const run = makeRun({ blipSince, blipCount: 7 });
      const change = observed(run, snapshot(suspect), RULES, NOW);
      expect(change).toMatchObject({
        status: 'FAILED',
        error: suspect.failure,
        set: { stopPending: true, blipCount: 0, blipSince: null },
      });
    });

    it('with no tolerance: FAILED at once', () => {
      const change = observed(makeRun(), snapshot(suspect), { ...RULES, errorToleranceMs: 0 }, NOW);
      expect(change.status).toBe('FAILED');
    });
  });

  it('a good observation after a blip resets the blip streak', () => {
    const change = observed(
      makeRun({ blipCount: 3, blipSince: ago(5 * SECOND) }),
      snapshot(OBS.RUNNING),
      RULES,
      NOW,
    );
    expect(change.set).toMatchObject({ blipCount: 0, blipSince: null });
    expect(change.status).toBe('RUNNING');
  });

  describe('a pull request in the snapshot', () => {
    const own: DetectedPullRequest = {
      provider: 'GITHUB',
      url: 'https://github.com/acme/widgets/pull/7',
      number: 7,
      repository: 'acme/widgets',
    };
    const other: DetectedPullRequest = {
      provider: 'GITHUB',
      url: 'https://github.com/other/lib/pull/3',
      number: 3,
      repository: 'other/lib',
    };

    it.each([
      ['RUNNING', OBS.RUNNING],
      ['FAILED', OBS.FAILED],
      ['AWAITING_INPUT', OBS.AWAITING_INPUT],
    ] as Array<[string, Observation]>)('completes the run whatever upstream says (%s)', (_status, obs) => {
      const run = makeRun({ blipCount: 1, blipSince: ago(SECOND) });
      const change = observed(run, snapshot(obs, { pullRequests: [own], newEvents: 1 }), RULES, NOW);
      expect(change).toEqual({
        status: 'COMPLETED',
        phase: 'Pull request opened',
        event: {
          type: 'PULL_REQUEST',
          message: 'Pull request opened: https://github.com/acme/widgets/pull/7',
          data: {
            provider: 'GITHUB',
            url: own.url,
            number: 7,
            repository: 'acme/widgets',
            source: 'openhands',
          },
        },
        set: {
          upstreamStatus: obs.upstream,
          upstreamEventCount: 9,
          faultCount: 0,
          lastProgressAt: NOW,
          prProvider: 'GITHUB',
          prUrl: own.url,
          prNumber: 7,
          prState: 'OPEN',
          blipCount: 0,
          blipSince: null,
        },
      });
      const { row } = written(run, change);
      expect(row).toMatchObject({
        status: 'COMPLETED',
        percent: 100,
        finishedAt: NOW,
        prHeadBranch: null,
        errorCode: null,
      });
    });

    it.each([
      ['prefers the run repository over a later quoted one', 'acme/widgets', [own, other], own.url],
      ['matches the repository case-insensitively', 'ACME/Widgets', [other, own, other], own.url],
      ['takes the last one when the run has no repository', null, [own, other], other.url],
      ['ignores pull requests of other repositories', 'acme/widgets', [other], undefined],
    ] as Array<[string, string | null, DetectedPullRequest[], string | undefined]>)(
      '%s',
      (_what, repository, pullRequests, url) => {
        const change = observed(makeRun({ repository }), snapshot(OBS.RUNNING, { pullRequests }), RULES, NOW);
        expect(change.set?.prUrl).toBe(url);
        expect(change.status).toBe(url ? 'COMPLETED' : 'RUNNING');
      },
    );

    it('is ignored when the run already has one', () => {
      const run = makeRun({ prUrl: 'https://github.com/acme/widgets/pull/1', prNumber: 1, prState: 'OPEN' });
      const change = observed(run, snapshot(OBS.RUNNING, { pullRequests: [own] }), RULES, NOW);
      expect(change.status).toBe('RUNNING');
      expect(change.set).not.toHaveProperty('prUrl');
    });
  });

  it.each(FINAL_STATUSES)('a %s run only gets the upstream columns', (status) => {
    const run = makeRun({ status, upstreamStatus: 'sandbox:RUNNING', finishedAt: ago(MINUTE) });
    const snap = snapshot(OBS.RUNNING, {
      newEvents: 2,
      conversationId: 'conv-2',
      pullRequests: [
        {
          provider: 'GITHUB',
          url: 'https://github.com/acme/widgets/pull/8',
          number: 8,
          repository: 'acme/widgets',
        },
      ],
    });
    expect(observed(run, snap, RULES, NOW)).toEqual({
      set: {
        upstreamStatus: UPSTREAM_RUNNING,
        upstreamEventCount: 9,
        faultCount: 0,
        conversationId: 'conv-2',
        lastProgressAt: NOW,
      },
    });
  });

  it('copies the ids and cursor the snapshot brings', () => {
    const snap = snapshot(OBS.RUNNING, {
      startTaskId: 't2',
      conversationId: 'c2',
      sandboxId: 's2',
      eventCursor: 'cur-9',
    });
    expect(observed(makeRun({ faultCount: 4 }), snap, RULES, NOW).set).toMatchObject({
      startTaskId: 't2',
      conversationId: 'c2',
      sandboxId: 's2',
      eventCursor: 'cur-9',
      faultCount: 0,
    });
  });

  it.each([
    ['new events', 3, UPSTREAM_RUNNING, true],
    ['a new upstream status', 0, 'sandbox:RUNNING execution:idle', true],
    ['neither', 0, UPSTREAM_RUNNING, false],
  ] as Array<[string, number, string, boolean]>)(
    'progressed by %s: lastProgressAt set %s',
    (_what, newEvents, upstreamStatus, progressed) => {
      const run = makeRun({ upstreamStatus });
      const change = observed(run, snapshot(OBS.RUNNING, { newEvents }), RULES, NOW);
      expect(change.set?.lastProgressAt).toEqual(progressed ? NOW : undefined);
      expect(written(run, change).row.lastProgressAt).toEqual(progressed ? NOW : run.lastProgressAt);
    },
  );
});

// ── deadlines ───────────────────────────────────────────────────────────────────────────────────

describe('deadlines', () => {
  const MAX = {
    code: 'MAX_DURATION_EXCEEDED',
    message: 'The run exceeded its maximum duration of 3600000 ms',
  };
  const START = {
    code: 'START_TIMEOUT',
    message: 'OpenHands did not start the conversation within 300000 ms',
  };
  const STALL = { code: 'STALLED', message: 'No progress from OpenHands for 600000 ms' };
  type Timeout = typeof MAX | null;

  it.each([
    // [status, upstream, started ago, last progress ago, progressed, timeout]
    ['RUNNING', UPSTREAM_RUNNING, 61 * MINUTE, 0, true, MAX],
    ['AWAITING_INPUT', UPSTREAM_RUNNING, 61 * MINUTE, 0, true, MAX],
    ['STARTING', 'task:WORKING', 61 * MINUTE, 0, true, MAX],
    ['RUNNING', UPSTREAM_RUNNING, 60 * MINUTE, 0, true, null],
    ['STARTING', 'task:WORKING', 6 * MINUTE, 0, true, START],
    ['STARTING', 'task:WORKING', 5 * MINUTE, 0, true, null],
    ['RUNNING', UPSTREAM_RUNNING, 6 * MINUTE, 0, true, null],
    ['AWAITING_INPUT', UPSTREAM_RUNNING, 6 * MINUTE, 0, true, null],
    ['RUNNING', UPSTREAM_RUNNING, 30 * MINUTE, 11 * MINUTE, false, STALL],
    ['RUNNING', UPSTREAM_RUNNING, 30 * MINUTE, 10 * MINUTE, false, null],
    ['RUNNING', UPSTREAM_RUNNING, 30 * MINUTE, 11 * MINUTE, true, null],
    ['STARTING', 'task:WORKING', 4 * MINUTE, 4 * MINUTE, false, null],
    ['AWAITING_INPUT', UPSTREAM_RUNNING, 30 * MINUTE, 20 * MINUTE, false, null],
    ['AWAITING_INPUT', 'sandbox:PAUSED', 30 * MINUTE, 11 * MINUTE, false, STALL],
    [
      'AWAITING_INPUT',
      'sandbox:PAUSED execution:waiting_for_confirmation',
      30 * MINUTE,
      11 * MINUTE,
      false,
      STALL,
    ],
    ['AWAITING_INPUT', 'sandbox:PAUSED', 30 * MINUTE, 9 * MINUTE, false, null],
    ['AWAITING_INPUT', 'task:PAUSED', 30 * MINUTE, 11 * MINUTE, false, null],
  ] as Array<[RunStatus, string, number, number, boolean, Timeout]>)(
    'withDeadlines: %s (%s), started %s ms ago, progress %s ms ago, progressed %s → %o',
    (status, upstreamStatus, startedAgo, progressAgo, progressed, timeout) => {
      const run = makeRun({
        status,
        upstreamStatus,
        startedAt: ago(startedAgo),
        lastProgressAt: ago(progressAgo),
      });
      const change: RunChange = { set: { faultCount: 2 } };
      const decided = withDeadlines(run, change, RULES, NOW, progressed);
      if (!timeout) {
        expect(decided).toBe(change);
        return;
      }
      expect(decided).toEqual({
        status: 'TIMED_OUT',
        phase: 'Timed out',
        error: { ...timeout, retryable: true },
        event: { type: 'STATUS_CHANGED', message: timeout.message },
        set: { faultCount: 2, stopPending: true, nextPollAt: NOW },
      });
      const { row } = written(run, decided);
      expect(row).toMatchObject({
        status: 'TIMED_OUT',
        errorCode: timeout.code,
        finishedAt: NOW,
        stopPending: true,
      });
      expect(row.percent).toBe(40);
    },
  );

  it('without lastProgressAt, a stall counts from startedAt', () => {
    const run = makeRun({ startedAt: ago(11 * MINUTE), lastProgressAt: null });
    expect(withDeadlines(run, {}, RULES, NOW, false).error?.code).toBe('STALLED');
    const fresh = makeRun({ startedAt: ago(9 * MINUTE), lastProgressAt: null });
    expect(withDeadlines(fresh, {}, RULES, NOW, false)).toEqual({});
  });

  it('a run not started yet has no deadline', () => {
    const run = makeRun({
      status: 'QUEUED',
      startedAt: null,
      lastProgressAt: null,
      createdAt: ago(10 * 60 * MINUTE),
    });
    expect(withDeadlines(run, {}, RULES, NOW, false)).toEqual({});
  });

  it('the status the change moves to is the one checked, and the sandbox state it brings', () => {
    const run = makeRun({ status: 'RUNNING', startedAt: ago(30 * MINUTE), lastProgressAt: ago(20 * MINUTE) });
    expect(withDeadlines(run, { status: 'AWAITING_INPUT' }, RULES, NOW, false)).toEqual({
      status: 'AWAITING_INPUT',
    });
    const paused = { status: 'AWAITING_INPUT', set: { upstreamStatus: 'sandbox:PAUSED' } } as const;
    expect(withDeadlines(run, paused, RULES, NOW, false).error?.code).toBe('STALLED');
  });

  it.each(FINAL_STATUSES)('a change to %s is not timed out, however late', (status) => {
    const run = makeRun({ startedAt: ago(10 * 60 * MINUTE), lastProgressAt: ago(10 * 60 * MINUTE) });
    const change: RunChange = { status, phase: 'Done' };
    expect(withDeadlines(run, change, RULES, NOW, false)).toBe(change);
  });

  describe('through observed', () => {
    it('MAX_DURATION_EXCEEDED even while the agent is making progress, keeping what was observed', () => {
      const run = makeRun({ startedAt: ago(61 * MINUTE) });
      const change = observed(
        run,
        snapshot(OBS.RUNNING, { newEvents: 5, conversationId: 'conv-1' }),
        RULES,
        NOW,
      );
      expect(change).toMatchObject({
        status: 'TIMED_OUT',
        error: { code: 'MAX_DURATION_EXCEEDED', retryable: true },
        set: { upstreamStatus: UPSTREAM_RUNNING, lastProgressAt: NOW, stopPending: true, nextPollAt: NOW },
      });
    });

    it('START_TIMEOUT only while STARTING', () => {
      const run = makeRun({ status: 'STARTING', startedAt: ago(6 * MINUTE) });
      expect(observed(run, snapshot(OBS.STARTING, { newEvents: 1 }), RULES, NOW).error?.code).toBe(
        'START_TIMEOUT',
      );
      expect(observed(run, snapshot(OBS.RUNNING, { newEvents: 1 }), RULES, NOW).status).toBe('RUNNING');
    });

    it('STALLED when nothing moved upstream, not while AWAITING_INPUT unless the sandbox is paused', () => {
      const times = { startedAt: ago(30 * MINUTE), lastProgressAt: ago(11 * MINUTE) };
      const running = makeRun({ ...times, upstreamStatus: OBS.RUNNING.upstream });
      expect(observed(running, snapshot(OBS.RUNNING), RULES, NOW).error?.code).toBe('STALLED');

      const waiting = makeRun({
        ...times,
        status: 'AWAITING_INPUT',
        upstreamStatus: OBS.AWAITING_INPUT.upstream,
      });
      expect(observed(waiting, snapshot(OBS.AWAITING_INPUT), RULES, NOW).status).toBe('AWAITING_INPUT');

      const pausedObs = {
        ...OBS.AWAITING_INPUT,
        upstream: 'sandbox:PAUSED execution:waiting_for_confirmation',
      };
      const paused = makeRun({ ...times, status: 'AWAITING_INPUT', upstreamStatus: pausedObs.upstream });
      expect(observed(paused, snapshot(pausedObs), RULES, NOW).error?.code).toBe('STALLED');
    });

    it('a COMPLETED observation wins over a passed deadline', () => {
      const run = makeRun({ startedAt: ago(2 * 60 * MINUTE) });
      expect(observed(run, snapshot(OBS.COMPLETED), RULES, NOW).status).toBe('COMPLETED');
    });
  });
});

// ── faults ──────────────────────────────────────────────────────────────────────────────────────

describe('faulted', () => {
  const error = new Error('socket hang up');

  it('the first fault of a streak appends an UPSTREAM_FAULT event', () => {
    const run = makeRun({ faultCount: 0 });
    const change = faulted(run, error, RULES, NOW);
    expect(change).toEqual({
      set: { faultCount: 1, nextPollAt: fromNow(1 * SECOND) },
      event: { type: 'UPSTREAM_FAULT', message: 'socket hang up' },
    });
    const { row, event } = written(run, change);
    expect([row.status, row.percent, row.phase, row.faultCount]).toEqual(['RUNNING', 40, 'Agent working', 1]);
    expect(event?.type).toBe('UPSTREAM_FAULT');
  });

  it.each([1, 2, 9])('a later fault (after %s) appends nothing', (faultCount) => {
    const run = makeRun({ faultCount });
    const change = faulted(run, error, RULES, NOW);
    expect(change.event).toBeUndefined();
    expect(plan(run, change, NOW).event).toBeUndefined();
  });

  it.each([
    [0, 1 * SECOND],
    [1, 2 * SECOND],
    [2, 4 * SECOND],
    [5, 32 * SECOND],
    [6, 60 * SECOND],
    [50, 60 * SECOND],
  ])('after %s faults the next poll waits %s ms (doubling, capped at 60 s)', (faultCount, delay) => {
    const change = faulted(makeRun({ faultCount }), error, RULES, NOW);
    expect(change.set).toEqual({ faultCount: faultCount + 1, nextPollAt: fromNow(delay) });
  });

  it.each([
    [0, 5 * SECOND],
    [1, 5 * SECOND],
    [2, 10 * SECOND],
    [4, 40 * SECOND],
    [5, 60 * SECOND],
    [1000, 60 * SECOND],
  ])('backoff(5 s interval, %s) is %s ms', (faults, delay) => {
    expect(backoff({ intervalMs: 5 * SECOND }, faults)).toBe(delay);
  });

  it('keeps the deadlines: a stalled run times out while upstream cannot be read', () => {
    const run = makeRun({ startedAt: ago(30 * MINUTE), lastProgressAt: ago(11 * MINUTE), faultCount: 3 });
    expect(faulted(run, error, RULES, NOW)).toMatchObject({
      status: 'TIMED_OUT',
      error: { code: 'STALLED' },
      set: { faultCount: 4, stopPending: true, nextPollAt: NOW },
    });
  });

  it.each(FINAL_STATUSES)('a %s run is not timed out, however late', (status) => {
    const run = makeRun({ status, startedAt: ago(10 * 60 * MINUTE), faultCount: 1 });
    expect(faulted(run, error, RULES, NOW)).toEqual({
      set: { faultCount: 2, nextPollAt: fromNow(2 * SECOND) },
      event: undefined,
    });
  });
});

// ── pull requests reported by the forge ─────────────────────────────────────────────────────────

describe('nextPullRequestState', () => {
  it.each([
    ['OPEN', 'OPENED', 'OPEN'],
    ['OPEN', 'REOPENED', 'OPEN'],
    ['OPEN', 'PUSHED', 'OPEN'],
    ['OPEN', 'MERGED', 'MERGED'],
    ['OPEN', 'CLOSED', 'CLOSED'],
    ['CLOSED', 'OPENED', 'CLOSED'],
    ['CLOSED', 'PUSHED', 'CLOSED'],
    ['CLOSED', 'REOPENED', 'OPEN'],
    ['CLOSED', 'MERGED', 'MERGED'],
    ['CLOSED', 'CLOSED', 'CLOSED'],
    ['MERGED', 'OPENED', 'MERGED'],
    ['MERGED', 'REOPENED', 'MERGED'],
    ['MERGED', 'PUSHED', 'MERGED'],
    ['MERGED', 'CLOSED', 'MERGED'],
    ['MERGED', 'MERGED', 'MERGED'],
  ] as Array<[PullRequestState, PullRequestChange, PullRequestState]>)(
    '%s + %s → %s',
    (current, change, next) => {
      expect(nextPullRequestState(current, change)).toBe(next);
    },
  );
});

describe('pullRequestReported', () => {
  const URL = 'https://github.com/acme/widgets/pull/7';
  const SHA = '0123456789abcdef0123456789abcdef01234567';
  const NEW_SHA = 'fedcba9876543210fedcba9876543210fedcba98';

  function reported(overrides: Partial<ReportedPullRequest> = {}): ReportedPullRequest {
    return {
      provider: 'GITHUB',
      url: URL,
      number: 7,
      repository: 'acme/widgets',
      state: 'OPEN',
      headBranch: 'openhands/fix-test',
      headSha: SHA,
      source: 'webhook',
      deliveryId: 'dlv-1',
      ...overrides,
    };
  }

  function webhookData(state: PullRequestState, overrides: Partial<ReportedPullRequest> = {}) {
    const pr = reported(overrides);
    return {
      provider: pr.provider,
      url: pr.url,
      number: pr.number,
      repository: pr.repository,
      state,
      headBranch: pr.headBranch,
      headSha: pr.headSha,
      source: 'webhook',
      deliveryId: pr.deliveryId,
    };
  }

  /** A finished run that already carries the request, as the poller or an earlier delivery left it. */
  function attached(overrides: Partial<Run> = {}): Run {
    return makeRun({
      status: 'COMPLETED',
      percent: 100,
      phase: 'Pull request opened',
      finishedAt: ago(MINUTE),
      prProvider: 'GITHUB',
      prUrl: URL,
      prNumber: 7,
      prState: 'OPEN',
      prHeadBranch: 'openhands/fix-test',
      prHeadSha: SHA,
      ...overrides,
    });
  }

  const prColumns = {
    prProvider: 'GITHUB',
    prUrl: URL,
    prNumber: 7,
    prHeadBranch: 'openhands/fix-test',
    prHeadSha: SHA,
  };

  describe('a run without a request', () => {
    it.each(
      ACTIVE_STATUSES.flatMap((status) => [
        [status, 'OPEN', 'Pull request opened'],
        [status, 'MERGED', 'Pull request merged'],
      ]) as Array<[RunStatus, PullRequestState, string]>,
    )('%s, request %s: COMPLETED_RUN', (status, state, phase) => {
      const run = makeRun({ status, blipCount: 2, blipSince: ago(SECOND) });
      const decision = pullRequestReported(
        run,
        state === 'MERGED' ? 'MERGED' : 'OPENED',
        reported({ state }),
        NOW,
      );
      expect(decision).toEqual({
        outcome: 'COMPLETED_RUN',
        detail: `run completed with ${URL}`,
        change: {
          status: 'COMPLETED',
          phase,
          event: { type: 'PULL_REQUEST', message: `${phase}: ${URL}`, data: webhookData(state) },
          // The work ended outside a poll: the poller reads the outcome at once.
          set: {
            ...prColumns,
            prState: state,
            blipCount: 0,
            blipSince: null,
            outcomePending: true,
            nextPollAt: NOW,
          },
        },
      });
      const { row, event } = written(run, decision.change);
      expect(row).toMatchObject({
        status: 'COMPLETED',
        percent: 100,
        phase,
        finishedAt: NOW,
        prState: state,
      });
      expect(event?.type).toBe('PULL_REQUEST');
    });

    it('owes no outcome read when the outcome is already there or there is no conversation to read', () => {
      const read = { summary: 'Done', changedFiles: [], fetchedAt: NOW.toISOString() };
      for (const run of [makeRun({ outcome: read }), makeRun({ conversationId: null })]) {
        const { change } = pullRequestReported(run, 'OPENED', reported(), NOW);
        expect(change?.status).toBe('COMPLETED');
        expect(change?.set).not.toHaveProperty('outcomePending');
        expect(change?.set).not.toHaveProperty('nextPollAt');
      }
    });

    it.each([
      ['COMPLETED', 'Pull request opened'],
      ['FAILED', 'Failed'],
      ['CANCELLED', 'Failed'],
      ['TIMED_OUT', 'Failed'],
    ] as Array<[RunStatus, string]>)('%s: RECORDED, status unchanged, phase %s', (status, phase) => {
      const run = makeRun({ status, phase: 'Failed', percent: 60, finishedAt: ago(MINUTE) });
      const decision = pullRequestReported(run, 'OPENED', reported(), NOW);
      expect(decision).toEqual({
        outcome: 'RECORDED',
        detail: `run had already ended ${status}; request attached, status unchanged`,
        change: {
          phase: status === 'COMPLETED' ? 'Pull request opened' : undefined,
          event: { type: 'PULL_REQUEST', message: `Pull request opened: ${URL}`, data: webhookData('OPEN') },
          set: { ...prColumns, prState: 'OPEN' },
        },
      });
      const { row, event } = written(run, decision.change);
      expect(row).toMatchObject({
        status,
        percent: 60,
        phase,
        finishedAt: ago(MINUTE),
        prUrl: URL,
        prState: 'OPEN',
      });
      expect(event?.type).toBe('PULL_REQUEST');
    });
  });

  it('a different request: UNCHANGED, not attached', () => {
    const other = reported({ url: 'https://github.com/acme/widgets/pull/8', number: 8 });
    expect(pullRequestReported(attached(), 'OPENED', other, NOW)).toEqual({
      outcome: 'UNCHANGED',
      detail: `run already has ${URL}; https://github.com/acme/widgets/pull/8 not attached`,
      change: null,
    });
  });

  it.each([
    ['OPEN', 'MERGED', 'MERGED', 'Pull request merged'],
    ['OPEN', 'CLOSED', 'CLOSED', 'Pull request closed'],
    ['CLOSED', 'REOPENED', 'OPEN', 'Pull request opened'],
    ['CLOSED', 'MERGED', 'MERGED', 'Pull request merged'],
    [null, 'MERGED', 'MERGED', 'Pull request merged'],
  ] as Array<[PullRequestState | null, PullRequestChange, PullRequestState, string]>)(
    'state %s + %s: UPDATED_PULL_REQUEST to %s',
    (prState, change, state, phase) => {
      const run = attached({ prState });
      const decision = pullRequestReported(run, change, reported({ state }), NOW);
      expect(decision).toEqual({
        outcome: 'UPDATED_PULL_REQUEST',
        detail: `pull request ${prState ?? 'OPEN'} → ${state}`,
        change: {
          phase,
          event: { type: 'PULL_REQUEST', message: `${phase}: ${URL}`, data: webhookData(state) },
          set: { prState: state },
        },
      });
      const { row, event } = written(run, decision.change);
      expect(row).toMatchObject({ status: 'COMPLETED', percent: 100, phase, prState: state });
      expect(event?.message).toBe(`${phase}: ${URL}`);
    },
  );

  it.each(FINAL_OTHER_THAN_COMPLETED)('a %s run keeps its phase when its request changes state', (status) => {
    const run = attached({ status, phase: 'Timed out', percent: 50 });
    const decision = pullRequestReported(run, 'MERGED', reported({ state: 'MERGED' }), NOW);
    expect(decision.outcome).toBe('UPDATED_PULL_REQUEST');
    expect(decision.change?.phase).toBeUndefined();
    const { row, event } = written(run, decision.change);
    expect([row.status, row.phase, row.prState]).toEqual([status, 'Timed out', 'MERGED']);
    expect(event?.type).toBe('PULL_REQUEST');
  });

  it('PUSHED with a new head sha: UPDATED_PULL_REQUEST with new commits', () => {
    const run = attached();
    const decision = pullRequestReported(run, 'PUSHED', reported({ headSha: NEW_SHA }), NOW);
    expect(decision).toEqual({
      outcome: 'UPDATED_PULL_REQUEST',
      detail: `new head ${NEW_SHA}`,
      change: {
        event: {
          type: 'PULL_REQUEST_UPDATED',
          message: `New commits on pull request ${URL} (head fedcba987654)`,
          data: webhookData('OPEN', { headSha: NEW_SHA }),
        },
        set: { prHeadSha: NEW_SHA },
      },
    });
    const { row, event } = written(run, decision.change);
    expect([row.status, row.phase, row.prHeadSha]).toEqual(['COMPLETED', 'Pull request opened', NEW_SHA]);
    expect(event?.type).toBe('PULL_REQUEST_UPDATED');
  });

  it('PUSHED on a request whose head was unknown fills in the branch too', () => {
    const run = attached({ prHeadBranch: null, prHeadSha: null });
    const decision = pullRequestReported(run, 'PUSHED', reported({ headSha: NEW_SHA }), NOW);
    expect(decision.outcome).toBe('UPDATED_PULL_REQUEST');
    expect(decision.change?.set).toEqual({ prHeadBranch: 'openhands/fix-test', prHeadSha: NEW_SHA });
  });

  it.each([
    ['PUSHED with the same head', 'PUSHED', reported(), 'OPEN'],
    ['PUSHED without a head sha', 'PUSHED', reported({ headSha: null }), 'OPEN'],
    ['OPENED again', 'OPENED', reported(), 'OPEN'],
    ['REOPENED while open', 'REOPENED', reported(), 'OPEN'],
  ] as Array<[string, PullRequestChange, ReportedPullRequest, PullRequestState]>)(
    '%s: UNCHANGED, nothing new',
    (_what, change, pr, state) => {
      expect(pullRequestReported(attached(), change, pr, NOW)).toEqual({
        outcome: 'UNCHANGED',
        detail: `run already shows the pull request ${state}`,
        change: null,
      });
    },
  );

  it('a late OPENED does not reopen a CLOSED request', () => {
    expect(pullRequestReported(attached({ prState: 'CLOSED' }), 'OPENED', reported(), NOW)).toEqual({
      outcome: 'UNCHANGED',
      detail: 'run already shows the pull request CLOSED',
      change: null,
    });
  });

  it.each(['OPENED', 'REOPENED', 'CLOSED', 'PUSHED'] as PullRequestChange[])(
    'a MERGED request stays MERGED on %s',
    (change) => {
      const decision = pullRequestReported(
        attached({ prState: 'MERGED' }),
        change,
        reported({ state: 'CLOSED' }),
        NOW,
      );
      expect(decision).toEqual({
        outcome: 'UNCHANGED',
        detail: 'run already shows the pull request MERGED',
        change: null,
      });
    },
  );

  it('nothing new but the head branch and sha the poller could not know: filled in', () => {
    const run = attached({ prHeadBranch: null, prHeadSha: null });
    const decision = pullRequestReported(run, 'OPENED', reported(), NOW);
    expect(decision).toEqual({
      outcome: 'UNCHANGED',
      detail: 'run already shows the pull request OPEN; head branch/sha filled in',
      change: { set: { prHeadBranch: 'openhands/fix-test', prHeadSha: SHA } },
    });
    expect(plan(run, decision.change!, NOW)).toEqual({
      data: { prHeadBranch: 'openhands/fix-test', prHeadSha: SHA },
    });
  });

  it('a delivery without a head sha leaves an unknown one unknown', () => {
    const decision = pullRequestReported(
      attached({ prHeadSha: null }),
      'OPENED',
      reported({ headSha: null }),
      NOW,
    );
    expect(decision).toEqual({
      outcome: 'UNCHANGED',
      detail: 'run already shows the pull request OPEN',
      change: null,
    });
  });

  it('the same request spelled with another host case is recognised', () => {
    const decision = pullRequestReported(
      attached(),
      'MERGED',
      reported({ url: 'https://GitHub.com/acme/widgets/pull/7', state: 'MERGED' }),
      NOW,
    );
    expect(decision.outcome).toBe('UPDATED_PULL_REQUEST');
  });

  it.each([
    ['OPEN', 'MERGED', 'MERGED', 'pull request OPEN → MERGED', 'Pull request merged'],
    ['OPEN', 'OPENED', 'OPEN', `run completed with ${URL}`, 'Pull request opened'],
  ] as Array<[PullRequestState, PullRequestChange, PullRequestState, string, string]>)(
    'attached to a still active run (%s + %s): COMPLETED_RUN',
    (prState, change, state, detail, phase) => {
      const run = makeRun({ status: 'RUNNING', prUrl: URL, prProvider: 'GITHUB', prNumber: 7, prState });
      const decision = pullRequestReported(run, change, reported({ state }), NOW);
      expect(decision).toEqual({
        outcome: 'COMPLETED_RUN',
        detail,
        change: {
          status: 'COMPLETED',
          phase,
          event: { type: 'PULL_REQUEST', message: `${phase}: ${URL}`, data: webhookData(state) },
          set: {
            prHeadBranch: 'openhands/fix-test',
            prHeadSha: SHA,
            prState: state,
            blipCount: 0,
            blipSince: null,
            outcomePending: true,
            nextPollAt: NOW,
          },
        },
      });
      expect(written(run, decision.change).row).toMatchObject({
        status: 'COMPLETED',
        percent: 100,
        prState: state,
      });
    },
  );
});
