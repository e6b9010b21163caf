/**
 * The agent conversation's pure rules, from tables: activity bounds and masking (src/runs/activity.ts),
 * questions, the input timeout and message delivery (src/runs/lifecycle.ts), V1 "finished after a
 * message" (src/openhands/progress.ts), and OpenHands events as activity lines (src/openhands/activity.ts).
 */
import { describe, expect, it } from 'vitest';
import type { Run } from '../../src/generated/prisma/client.js';
import { v0Activity, v1Activity } from '../../src/openhands/activity.js';
import { toChangedFiles } from '../../src/openhands/changes.js';
import { fromV1Conversation } from '../../src/openhands/progress.js';
import {
  type ActivityItem,
  admitActivity,
  boundMessage,
  MAX_MESSAGE_CHARS,
  maskSecrets,
} from '../../src/runs/activity.js';
import {
  appendsEvent,
  deliveryFailed,
  type LifecycleRules,
  MAX_MESSAGE_ATTEMPTS,
  messageDelivered,
  messageSent,
  observed,
  plan,
  withDeadlines,
} from '../../src/runs/lifecycle.js';
import type { RunStatus } from '../../src/runs/status.js';
import type { Observation, Snapshot } from '../../src/runs/upstream.js';

const NOW = new Date('2026-03-01T12:00:00.000Z');
const MINUTE = 60_000;
const RULES: LifecycleRules = {
  intervalMs: 1000,
  startTimeoutMs: 5 * MINUTE,
  stallTimeoutMs: 10 * MINUTE,
  maxRunMs: 24 * 60 * MINUTE,
  errorToleranceMs: 30_000,
  maxStartAttempts: 3,
  inputTimeoutMs: 60 * MINUTE,
};
const ago = (ms: number) => new Date(NOW.getTime() - ms);

/** The columns these rules read; the rest of the row does not matter to them. */
function run(overrides: Partial<Run> = {}): Run {
  return {
    id: 'run_01',
    status: 'RUNNING',
    percent: 40,
    phase: 'Agent working',
    repository: 'acme/widgets',
    upstreamStatus: 'sandbox:RUNNING execution:running',
    upstreamEventCount: 4,
    startedAt: ago(5 * MINUTE),
    lastProgressAt: ago(MINUTE),
    blipCount: 0,
    blipSince: null,
    prUrl: null,
    question: null,
    awaitingSince: null,
    activityCount: 0,
    outcome: null,
    ...overrides,
  } as Run;
}

const WAITING: Observation = {
  status: 'AWAITING_INPUT',
  percent: 0,
  phase: 'Waiting for an answer',
  upstream: 'sandbox:RUNNING execution:finished',
};
const RUNNING: Observation = {
  status: 'RUNNING',
  percent: 50,
  phase: 'Agent working',
  upstream: 'sandbox:RUNNING execution:running',
};
const snap = (observation: Observation, extra: Partial<Snapshot> = {}): Snapshot => ({
  observation,
  agentSteps: 5,
  newEvents: 1,
  pullRequests: [],
  ...extra,
});

describe('maskSecrets', () => {
  it.each([
    [`git push https://x:ghp_${'A1'.repeat(18)}@github.com`, 'ghp_***'],
    [`GITHUB_TOKEN=github_pat_${'b'.repeat(30)}`, 'github_pat_***'],
    [`token glpat-${'c'.repeat(20)}`, 'glpat-***'],
    [`OPENAI_API_KEY=sk-proj-${'d'.repeat(30)}`, 'sk-***'],
    ['curl -H "Authorization: Bearer abc.def.ghi123"', 'Bearer ***'],
    ['mysql --password=hunter2 -u root', 'password=***'],
    ['password: "s3cret value"', 'password: ***'],
  ])('%s → contains %s and not the secret', (text, masked) => {
    const out = maskSecrets(text);
    expect(out).toContain(masked);
    expect(out).not.toMatch(/A1A1A1|bbbbbbbb|cccccccc|dddddddd|abc\.def|hunter2|s3cret/);
  });

  it('leaves ordinary text alone', () => {
    expect(maskSecrets('$ npm test -- --grep password reset')).toBe('$ npm test -- --grep password reset');
  });
});

describe('boundMessage', () => {
  it.each([
    [10, false],
    [MAX_MESSAGE_CHARS, false],
    [MAX_MESSAGE_CHARS + 1, true],
    [50_000, true],
  ])('%i characters: cut %s', (length, cut) => {
    const bounded = boundMessage('x'.repeat(length));
    expect(bounded.message).toHaveLength(Math.min(length, MAX_MESSAGE_CHARS));
    expect(bounded.cut).toEqual(cut ? { truncated: true, length } : undefined);
  });
});

describe('admitActivity', () => {
  const items = (n: number): ActivityItem[] =>
    Array.from({ length: n }, (_, i) => ({
      upstreamId: `e${i}`,
      type: 'AGENT_ACTION',
      message: `$ step ${i}`,
    }));
  it.each([
    // [already counted, new items, cap, stored activity, truncated event, counted after]
    [0, 3, 10, 3, false, 3],
    [8, 2, 10, 2, false, 10],
    [8, 3, 10, 2, true, 11],
    [10, 1, 10, 0, true, 11],
    [11, 5, 10, 0, false, 16],
  ])(
    'counted %i + %i new, cap %i → %i stored, truncated %s, counted %i',
    (counted, n, cap, stored, truncated, after) => {
      const admitted = admitActivity(counted, items(n), cap);
      expect(admitted.events.filter((e) => e.type === 'AGENT_ACTION')).toHaveLength(stored);
      expect(admitted.events.some((e) => e.type === 'ACTIVITY_TRUNCATED')).toBe(truncated);
      expect(admitted.counted).toBe(after);
    },
  );

  it('cuts and masks each message, and says so in its data', () => {
    const [event] = admitActivity(0, [
      { upstreamId: 'x', type: 'AGENT_MESSAGE', message: `sk-${'k'.repeat(20)} ${'y'.repeat(5000)}` },
    ]).events;
    expect(event.message).toHaveLength(MAX_MESSAGE_CHARS);
    expect(event.message?.startsWith('sk-***')).toBe(true);
    expect(event.data).toEqual({ truncated: true, length: 5007 });
  });
});

describe('questions', () => {
  it.each([
    // [run status, question before, awaitingSince before, observation, snapshot question, question after, since after]
    ['RUNNING', null, null, WAITING, 'Which one?', 'Which one?', NOW],
    ['AWAITING_INPUT', 'Which one?', ago(MINUTE), WAITING, undefined, 'Which one?', ago(MINUTE)],
    ['AWAITING_INPUT', 'Which one?', ago(MINUTE), WAITING, 'And now?', 'And now?', ago(MINUTE)],
    ['AWAITING_INPUT', 'Which one?', ago(MINUTE), RUNNING, undefined, null, null],
  ] as Array<
    [RunStatus, string | null, Date | null, Observation, string | undefined, string | null, Date | null]
  >)(
    '%s (question %s) observing %o with %s → question %s',
    (status, question, awaitingSince, obs, asked, questionAfter, sinceAfter) => {
      const change = observed(
        run({ status, question, awaitingSince }),
        snap(obs, { question: asked }),
        RULES,
        NOW,
      );
      expect(change.status).toBe(obs.status);
      expect(change.set?.question).toBe(questionAfter);
      expect(change.set?.awaitingSince).toEqual(sinceAfter);
    },
  );

  it('a pull request completes the run even while it waits, and clears the question', () => {
    const change = observed(
      run({ status: 'AWAITING_INPUT', question: 'Which one?', awaitingSince: ago(MINUTE) }),
      snap(WAITING, {
        pullRequests: [
          {
            provider: 'GITHUB',
            url: 'https://github.com/acme/widgets/pull/3',
            number: 3,
            repository: 'acme/widgets',
          },
        ],
      }),
      RULES,
      NOW,
    );
    expect(change.status).toBe('COMPLETED');
    expect(change.set).toMatchObject({ question: null, awaitingSince: null });
  });

  it('activity makes a change that must be written, even with nothing else new', () => {
    const activity: ActivityItem[] = [{ upstreamId: 'e1', type: 'AGENT_MESSAGE', message: 'hi' }];
    const change = observed(run(), snap(RUNNING, { activity }), RULES, NOW);
    expect(change.activity).toEqual(activity);
    expect(appendsEvent(run(), change)).toBe(true);
  });
});

describe('plan: a question lives only while AWAITING_INPUT', () => {
  it.each(['RUNNING', 'CANCELLED', 'COMPLETED', 'TIMED_OUT', 'FAILED'] as RunStatus[])(
    'leaving AWAITING_INPUT for %s clears it, whoever asked',
    (status) => {
      const waiting = run({ status: 'AWAITING_INPUT', question: 'Q?', awaitingSince: ago(MINUTE) });
      expect(plan(waiting, { status }, NOW).data).toMatchObject({ question: null, awaitingSince: null });
    },
  );

  it('staying AWAITING_INPUT keeps it', () => {
    const waiting = run({ status: 'AWAITING_INPUT', question: 'Q?', awaitingSince: ago(MINUTE) });
    expect(plan(waiting, { phase: 'Still waiting' }, NOW).data).not.toHaveProperty('question');
  });
});

describe('input timeout (RUN_INPUT_TIMEOUT_MS)', () => {
  it.each([
    // [awaiting since, last progress, upstream, question, expected code]
    [59 * MINUTE, 59 * MINUTE, 'sandbox:RUNNING execution:finished', 'Q?', null],
    [61 * MINUTE, 61 * MINUTE, 'sandbox:RUNNING execution:finished', 'Q?', 'INPUT_TIMEOUT'],
    // A paused sandbox with a question waits for the answer, not for the stall deadline.
    [30 * MINUTE, 30 * MINUTE, 'sandbox:PAUSED execution:null', 'Q?', null],
    // Paused with no question pending: it will not go on by itself.
    [30 * MINUTE, 30 * MINUTE, 'sandbox:PAUSED execution:null', null, 'STALLED'],
  ] as Array<[number, number, string, string | null, string | null]>)(
    'waiting %i ms, no progress for %i ms (%s, question %s) → %s',
    (since, progress, upstreamStatus, question, code) => {
      const waiting = run({
        status: 'AWAITING_INPUT',
        awaitingSince: ago(since),
        lastProgressAt: ago(progress),
        upstreamStatus,
        question,
      });
      const decided = withDeadlines(waiting, {}, RULES, NOW, false);
      expect(decided.error?.code ?? null).toBe(code);
      if (code) expect(decided).toMatchObject({ status: 'TIMED_OUT', set: { stopPending: true } });
      if (code && question) expect(decided.set).toMatchObject({ question: null, awaitingSince: null });
    },
  );
});

describe('messages', () => {
  it.each(['QUEUED', 'STARTING', 'RUNNING', 'AWAITING_INPUT'] as RunStatus[])(
    '%s takes a message',
    (status) => {
      const decision = messageSent(run({ status }), { message: 'hi' }, NOW);
      expect(decision).toEqual({
        change: { event: { type: 'USER_MESSAGE', message: 'hi', data: undefined }, set: { nextPollAt: NOW } },
      });
    },
  );

  it.each(['COMPLETED', 'FAILED', 'CANCELLED', 'TIMED_OUT'] as RunStatus[])('%s refuses it', (status) => {
    expect(messageSent(run({ status }), { message: 'hi' }, NOW)).toHaveProperty('conflict');
  });

  it.each([
    // [attempts, refused, run status, retried]
    [1, false, 'AWAITING_INPUT', true],
    [MAX_MESSAGE_ATTEMPTS - 1, false, 'RUNNING', true],
    [MAX_MESSAGE_ATTEMPTS, false, 'RUNNING', false],
    [1, true, 'RUNNING', false],
    [1, false, 'FAILED', false],
  ] as Array<[number, boolean, RunStatus, boolean]>)(
    'attempt %i failed (refused %s, run %s): retried %s',
    (attempts, refused, status, retried) => {
      const decision = deliveryFailed(run({ status }), 7, attempts, 'HTTP 503', refused, RULES, NOW);
      if (retried) {
        expect(decision.change).toBeNull();
        expect(decision.nextAttemptAt!.getTime()).toBeGreaterThan(NOW.getTime());
      } else {
        expect(decision.nextAttemptAt).toBeNull();
        expect(decision.change?.event).toMatchObject({
          type: 'MESSAGE_FAILED',
          data: { messageSeq: 7, attempts },
        });
      }
    },
  );

  it('delivery is recorded with the message seq', () => {
    expect(messageDelivered(7).event).toMatchObject({ type: 'MESSAGE_DELIVERED', data: { messageSeq: 7 } });
  });
});

describe('V1: finished after a message waits for an answer', () => {
  it.each([
    ['finished', false, 'COMPLETED'],
    ['finished', true, 'AWAITING_INPUT'],
    ['waiting_for_confirmation', false, 'AWAITING_INPUT'],
    ['running', true, 'RUNNING'],
  ])('execution %s, ended with a message %s → %s', (execution, endedWithMessage, status) => {
    const obs = fromV1Conversation(
      { sandbox_status: 'RUNNING', execution_status: execution },
      3,
      endedWithMessage,
    );
    expect(obs.status).toBe(status);
  });
});

describe('OpenHands events as activity', () => {
  const repo = 'acme/widgets';
  it.each([
    [
      {
        id: 'a',
        kind: 'ActionEvent',
        source: 'agent',
        tool_name: 'terminal',
        action: { kind: 'TerminalAction', command: 'npm test' },
      },
      { type: 'AGENT_ACTION', message: '$ npm test', data: { tool: 'terminal', command: 'npm test' } },
    ],
    [
      {
        id: 'b',
        kind: 'ActionEvent',
        source: 'agent',
        tool_name: 'file_editor',
        action: {
          kind: 'FileEditorAction',
          command: 'str_replace',
          path: '/workspace/project/widgets/src/app.ts',
        },
      },
      { type: 'AGENT_ACTION', message: 'edit src/app.ts', data: { tool: 'file_editor', path: 'src/app.ts' } },
    ],
    [
      {
        id: 'c',
        kind: 'ActionEvent',
        source: 'agent',
        tool_name: 'browser',
        action: { kind: 'BrowserNavigateAction', url: 'https://example.com' },
      },
      { type: 'AGENT_ACTION', message: 'browse https://example.com' },
    ],
    [
      {
        id: 'd',
        kind: 'ActionEvent',
        source: 'agent',
        tool_name: 'finish',
        action: { kind: 'FinishAction', message: 'Done' },
      },
      { type: 'AGENT_ACTION', message: 'finish' },
    ],
    [
      {
        id: 'e',
        kind: 'MessageEvent',
        source: 'agent',
        llm_message: { content: [{ type: 'text', text: 'Which?' }] },
      },
      { type: 'AGENT_MESSAGE', message: 'Which?' },
    ],
    [
      {
        id: 'f',
        kind: 'ObservationEvent',
        source: 'environment',
        tool_name: 'terminal',
        observation: { exit_code: 2, content: [{ type: 'text', text: 'raw output' }] },
      },
      { type: 'AGENT_OBSERVATION', data: { tool: 'terminal', exitCode: 2 } },
    ],
  ])('V1 %o', (event, expected) => {
    const item = v1Activity(event as never, repo);
    expect(item).toMatchObject({ upstreamId: event.id, ...expected });
    expect(JSON.stringify(item)).not.toContain('raw output');
  });

  it.each([
    [{ id: 3, source: 'agent', action: 'run', args: { command: 'ls' } }, '$ ls'],
    [
      { id: 4, source: 'agent', action: 'edit', args: { path: '/workspace/project/widgets/a.ts' } },
      'edit a.ts',
    ],
    [
      { id: 5, source: 'agent', action: 'read', args: { path: '/workspace/project/widgets/a.ts' } },
      'view a.ts',
    ],
    [
      { id: 6, source: 'agent', action: 'message', args: { content: 'Proceed?', wait_for_response: true } },
      'Proceed?',
    ],
    [{ id: 7, source: 'agent', action: 'finish', args: { final_thought: 'ok' } }, 'finish'],
    [{ id: 8, source: 'agent', observation: 'run', extras: { metadata: { exit_code: 0 } } }, 'exit code 0'],
  ])('V0 %o → %s', (event, message) => {
    expect(v0Activity(event as never, repo)).toMatchObject({ upstreamId: String(event.id), message });
  });

  it('user events are not agent activity', () => {
    expect(
      v0Activity({ id: 1, source: 'user', action: 'message', args: { content: 'hi' } } as never, repo),
    ).toBeUndefined();
    expect(v1Activity({ id: 'u', kind: 'MessageEvent', source: 'user' } as never, repo)).toBeUndefined();
  });
});

describe('git changes', () => {
  it('maps OpenHands statuses and makes paths relative to the repository', () => {
    const body = [
      { status: 'ADDED', path: '/workspace/project/widgets/new.ts' },
      { status: 'UPDATED', path: 'src/a.ts' },
      { status: 'DELETED', path: 'old.ts' },
      { status: 'MOVED', path: 'b.ts' },
      { nonsense: true },
    ];
    expect(toChangedFiles(body, 'acme/widgets')).toEqual([
      { path: 'new.ts', change: 'ADDED' },
      { path: 'src/a.ts', change: 'MODIFIED' },
      { path: 'old.ts', change: 'DELETED' },
      { path: 'b.ts', change: 'RENAMED' },
    ]);
    expect(toChangedFiles({ detail: 'Not Found' }, null)).toBeNull();
  });
});
