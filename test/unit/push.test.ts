import { describe, expect, it } from 'vitest';
import type { Run } from '../../src/generated/prisma/client.js';
import {
  decidesAlone,
  normalizeTimestamp,
  pushedSnapshot,
  readPushedConversation,
  readPushedEvents,
} from '../../src/openhands/push.js';
import type { V1Event } from '../../src/openhands/types.js';
import { plan } from '../../src/runs/lifecycle.js';
import { isNewerStatus, pollDelay, pushed, readBeforePush } from '../../src/runs/lifecycle-push.js';

const NOW = new Date('2026-03-01T12:00:00.000Z');
const RULES = {
  intervalMs: 1000,
  startTimeoutMs: 300_000,
  stallTimeoutMs: 600_000,
  maxRunMs: 3_600_000,
  errorToleranceMs: 30_000,
  maxStartAttempts: 3,
  pushQuietMs: 60_000,
  reconcileMs: 60_000,
  inputTimeoutMs: 86_400_000,
};

function run(overrides: Partial<Run> = {}): Run {
  return {
    status: 'RUNNING',
    percent: 40,
    phase: 'Agent working',
    upstreamStatus: 'sandbox:RUNNING execution:running',
    upstreamEventCount: 4,
    startedAt: new Date(NOW.getTime() - 60_000),
    lastProgressAt: new Date(NOW.getTime() - 10_000),
    prUrl: null,
    repository: 'acme/widgets',
    blipCount: 0,
    blipSince: null,
    stopPending: false,
    outcomePending: false,
    conversationId: 'c0ffee00c0ffee00c0ffee00c0ffee00',
    outcome: null,
    nextPollAt: NOW,
    pushedAt: null,
    pushStatusAt: null,
    eventCursor: null,
    question: null,
    awaitingSince: null,
    activityCount: 0,
    ...overrides,
  } as Run;
}

const state = (value: string, timestamp: string, id = 'e1'): V1Event => ({
  id,
  timestamp,
  source: 'environment',
  kind: 'ConversationStateUpdateEvent',
  key: 'execution_status',
  value,
});

function decide(r: Run, events: V1Event[]) {
  const read = readPushedEvents(events, NOW);
  // As src/push/service.ts does it.
  const fresh = read.status !== undefined && isNewerStatus(read.status.at, r.pushStatusAt);
  const readNow = fresh && !decidesAlone(read);
  const apply = fresh && !readNow;
  const change = pushed(
    r,
    { snapshot: pushedSnapshot(read, r, apply), statusAt: apply ? read.status?.at : undefined, readNow },
    RULES,
    NOW,
  );
  return { change, written: plan(r, change, NOW) };
}

const agentSays = (text: string, timestamp: string, id: string): V1Event => ({
  id,
  timestamp,
  source: 'agent',
  kind: 'MessageEvent',
  llm_message: { role: 'assistant', content: [{ type: 'text', text }] },
});

describe('agent-server timestamps', () => {
  it('normalises naive microsecond times, Z and offsets to one sortable form', () => {
    expect(normalizeTimestamp('2026-03-01T12:00:00.123456')).toBe('2026-03-01T12:00:00.123456Z');
    expect(normalizeTimestamp('2026-03-01T12:00:00.123Z')).toBe('2026-03-01T12:00:00.123000Z');
    expect(normalizeTimestamp('2026-03-01T14:00:00+02:00')).toBe('2026-03-01T12:00:00.000000Z');
    expect(normalizeTimestamp('yesterday')).toBeUndefined();
    expect(normalizeTimestamp(42)).toBeUndefined();
  });
});

describe('reading pushed events', () => {
  it('takes the newest execution_status by timestamp, whatever the order in the batch', () => {
    const read = readPushedEvents(
      [state('finished', '2026-03-01T12:00:02.000001', 'b'), state('running', '2026-03-01T12:00:01', 'a')],
      NOW,
    );
    expect(read.status).toEqual({ value: 'finished', at: '2026-03-01T12:00:02.000001Z', eventId: 'b' });
    expect(read.statusEvents).toBe(2);
  });

  it('reads the finish message, the activity and pull requests as a poll does', () => {
    const read = readPushedEvents(
      [
        {
          id: 'x',
          timestamp: '2026-03-01T12:00:00',
          source: 'agent',
          kind: 'ActionEvent',
          tool_name: 'finish',
          action: { kind: 'FinishAction', message: 'Opened https://github.com/acme/widgets/pull/7' },
        },
      ],
      NOW,
    );
    expect(read.finalMessage).toContain('pull/7');
    expect(read.pullRequests.map((p) => p.number)).toEqual([7]);
    expect(read.activityEvents).toHaveLength(1);
  });

  it('reads a ConversationInfo as one status stamped with its updated_at', () => {
    const read = readPushedConversation(
      { id: 'c', execution_status: 'paused', updated_at: '2026-03-01T12:00:00Z' },
      NOW,
    );
    expect(read.status?.value).toBe('paused');
    expect(read.status?.at).toBe('2026-03-01T12:00:00.000000Z');
  });
});

describe('a pushed question (finished after a plain agent message)', () => {
  const finishes = (timestamp: string, id: string): V1Event => ({
    id,
    timestamp,
    source: 'agent',
    kind: 'ActionEvent',
    tool_name: 'finish',
    action: { kind: 'FinishAction', message: 'Done.' },
  });

  it('parks the run AWAITING_INPUT with the question, and stores the message as activity', () => {
    const { change, written } = decide(run(), [
      agentSays('Which branch should I use?', '2026-03-01T11:59:58', 'm1'),
      state('finished', '2026-03-01T11:59:59', 's1'),
    ]);
    expect(written.data.status).toBe('AWAITING_INPUT');
    expect(written.data.question).toBe('Which branch should I use?');
    expect(change.activity?.map((a) => a.type)).toEqual(['AGENT_MESSAGE']);
  });

  it('remembers the agent’s last turn in the cursor, for the poller’s next read', () => {
    const first = decide(run(), [agentSays('Which branch should I use?', '2026-03-01T11:59:58', 'm1')]);
    expect(JSON.parse(first.change.set?.eventCursor as string)).toMatchObject({
      lastAgent: 'message',
      lastMessage: 'Which branch should I use?',
    });
  });

  it('does not guess on a finished that comes without the agent’s last turn: the run is read at once', () => {
    const { change, written } = decide(run({ nextPollAt: new Date(NOW.getTime() + 60_000) }), [
      state('finished', '2026-03-01T11:59:59', 's1'),
    ]);
    expect(written.data.status).toBeUndefined();
    expect(change.set?.pushStatusAt).toBeUndefined();
    expect(change.set?.nextPollAt).toEqual(NOW);
  });

  it('completes the run when the turn ended with a finish action, and owes its outcome to the poller', () => {
    const { written } = decide(run({ nextPollAt: new Date(NOW.getTime() + 60_000) }), [
      agentSays('Which branch should I use?', '2026-03-01T11:59:57', 'm1'),
      finishes('2026-03-01T11:59:58', 'f1'),
      state('finished', '2026-03-01T11:59:59', 's1'),
    ]);
    expect(written.data.status).toBe('COMPLETED');
    // A poll that saw the end would have read the outcome: the poller does it at once instead.
    expect(written.data.outcomePending).toBe(true);
    expect(written.data.nextPollAt).toEqual(NOW);
  });
});

describe('pushed state through the lifecycle', () => {
  it('applies a newer status as the same observation a poll would give', () => {
    const { written } = decide(run(), [state('waiting_for_confirmation', '2026-03-01T11:59:59')]);
    expect(written.data.status).toBe('AWAITING_INPUT');
    expect(written.data.pushStatusAt).toBe('2026-03-01T11:59:59.000000Z');
    expect(written.event?.type).toBe('STATUS_CHANGED');
  });

  it('never lets an older or repeated status overwrite the one applied', () => {
    const applied = run({
      status: 'AWAITING_INPUT',
      upstreamStatus: 'sandbox:RUNNING execution:waiting_for_confirmation',
      pushStatusAt: '2026-03-01T11:59:59.000000Z',
    });
    for (const at of ['2026-03-01T11:59:58', '2026-03-01T11:59:59']) {
      const { written } = decide(applied, [state('running', at)]);
      expect(written.data.status).toBeUndefined();
      expect(written.data.pushStatusAt).toBeUndefined();
    }
  });

  it('gives an outcome read before the agent’s last turn that turn as summary, a finish over a plain message', () => {
    const fetchedAt = '2026-03-01T11:59:50.000Z';
    const read = { summary: null, changedFiles: [{ path: 'a.ts', change: 'M' }], fetchedAt };
    const completed = run({ status: 'COMPLETED', percent: 100, phase: 'Pull request opened', outcome: read });
    const finish: V1Event = {
      id: 'f1',
      timestamp: '2026-03-01T11:59:58',
      source: 'agent',
      kind: 'ActionEvent',
      tool_name: 'finish',
      action: { kind: 'FinishAction', message: 'Opened the pull request.' },
    };
    const { written } = decide(completed, [finish]);
    expect(written.data.outcome).toEqual({ ...read, summary: 'Opened the pull request.' });
    expect(written.data.status).toBeUndefined();
    // A plain message stands in for a missing summary, and never replaces one…
    const said = decide(completed, [agentSays('Now verifying the build.', '2026-03-01T11:59:57', 'm1')]);
    expect(said.written.data.outcome).toEqual({ ...read, summary: 'Now verifying the build.' });
    const summarised = run({ ...completed, outcome: { ...read, summary: 'Now verifying the build.' } });
    expect(
      decide(summarised, [agentSays('Anything else?', '2026-03-01T11:59:59', 'm2')]).written.data.outcome,
    ).toBeUndefined();
    // …while the finish message, the final answer, does.
    expect(decide(summarised, [finish]).written.data.outcome).toEqual({
      ...read,
      summary: 'Opened the pull request.',
    });
  });

  it('keeps a final run final, and owes no second outcome read', () => {
    const done = run({ status: 'COMPLETED', percent: 100, phase: 'Finished' });
    const { written } = decide(done, [state('running', '2026-03-01T11:59:59')]);
    expect(written.data.status).toBeUndefined();
    expect(written.event).toBeUndefined();
    expect(written.data.outcomePending).toBeUndefined();
  });

  it('believes a pushed error at once (no blip tolerance): the agent server said so itself', () => {
    const { written } = decide(run(), [state('error', '2026-03-01T11:59:59')]);
    expect(written.data.status).toBe('FAILED');
    expect(written.data.errorCode).toBe('AGENT_ERROR');
  });

  it('moves the first push after a quiet spell to the reconciliation interval, not later pushes', () => {
    const first = decide(run(), [state('running', '2026-03-01T11:59:59')]).change;
    expect(first.set?.nextPollAt).toEqual(new Date(NOW.getTime() + RULES.reconcileMs));
    const again = decide(run({ pushedAt: new Date(NOW.getTime() - 5000) }), [
      state('running', '2026-03-01T11:59:59'),
    ]).change;
    expect(again.set?.nextPollAt).toBeUndefined();
    const stopping = decide(run({ stopPending: true }), [state('running', '2026-03-01T11:59:59')]).change;
    expect(stopping.set?.nextPollAt).toBeUndefined();
  });
});

describe('reconciliation pacing', () => {
  it('polls at the interval without pushes and at the reconciliation interval within the quiet window', () => {
    expect(pollDelay({ pushedAt: null }, RULES, NOW)).toBe(1000);
    expect(pollDelay({ pushedAt: new Date(NOW.getTime() - 59_000) }, RULES, NOW)).toBe(60_000);
    expect(pollDelay({ pushedAt: new Date(NOW.getTime() - 61_000) }, RULES, NOW)).toBe(1000);
  });

  it('drops a poll reading that started before the latest push', () => {
    expect(readBeforePush({ pushedAt: NOW }, new Date(NOW.getTime() - 1))).toBe(true);
    expect(readBeforePush({ pushedAt: NOW }, new Date(NOW.getTime() + 1))).toBe(false);
    expect(readBeforePush({ pushedAt: null }, NOW)).toBe(false);
  });
});
