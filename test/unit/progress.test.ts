import { describe, expect, it } from 'vitest';
import {
  activityPhase,
  fromV0AgentState,
  fromV0Conversation,
  fromV1Conversation,
  fromV1StartTask,
  missing,
  runningPercent,
} from '../../src/openhands/progress.js';

describe('runningPercent', () => {
  it('starts at 30, grows with agent steps, never passes 95 and never decreases', () => {
    expect(runningPercent(0)).toBe(30);
    expect(runningPercent(-3)).toBe(30);
    let last = 0;
    for (let steps = 0; steps <= 1000; steps++) {
      const p = runningPercent(steps);
      expect(p).toBeGreaterThanOrEqual(last);
      expect(p).toBeLessThanOrEqual(95);
      last = p;
    }
    expect(runningPercent(40)).toBeGreaterThan(60);
    expect(runningPercent(10_000)).toBe(95);
  });
});

describe('V1 start task', () => {
  const order = [
    'WORKING',
    'WAITING_FOR_SANDBOX',
    'PREPARING_REPOSITORY',
    'RUNNING_SETUP_SCRIPT',
    'SETTING_UP_GIT_HOOKS',
    'SETTING_UP_SKILLS',
    'STARTING_CONVERSATION',
    'READY',
  ];

  it('maps every status to STARTING with a percent that rises through the steps, up to 30', () => {
    const percents = order.map((status) => {
      const obs = fromV1StartTask({ status });
      expect(obs.status).toBe('STARTING');
      expect(obs.upstream).toBe(`task:${status}`);
      expect(obs.phase).toBeTruthy();
      return obs.percent;
    });
    expect([...percents].sort((a, b) => a - b)).toEqual(percents);
    expect(new Set(percents).size).toBe(percents.length);
    expect(percents.at(-1)).toBe(30);
    expect(percents[0]).toBeGreaterThan(5);
  });

  it('an unknown future status still reads as STARTING', () => {
    expect(fromV1StartTask({ status: 'PULLING_IMAGE' })).toMatchObject({ status: 'STARTING', percent: 8 });
  });

  it('ERROR is a definite failure, with a sandbox-specific code when the detail says so', () => {
    const sandbox = fromV1StartTask({ status: 'ERROR', detail: 'Sandbox failed to start within 120s: boom' });
    expect(sandbox).toMatchObject({
      status: 'FAILED',
      suspect: false,
      failure: { code: 'SANDBOX_START_FAILED' },
    });
    expect(sandbox.failure!.message).toContain('Sandbox failed to start');
    const other = fromV1StartTask({ status: 'ERROR', detail: 'git clone failed' });
    expect(other.failure!.code).toBe('START_TASK_FAILED');
    expect(fromV1StartTask({ status: 'ERROR' }).failure!.message).toContain('no detail');
  });
});

describe('V1 conversation', () => {
  const conv = (sandbox_status: string | null, execution_status: string | null) => ({
    sandbox_status,
    execution_status,
  });

  it.each([
    ['RUNNING', 'running', 'RUNNING'],
    ['RUNNING', 'idle', 'RUNNING'],
    ['RUNNING', null, 'RUNNING'],
    ['RUNNING', 'finished', 'COMPLETED'],
    ['RUNNING', 'waiting_for_confirmation', 'AWAITING_INPUT'],
    ['RUNNING', 'paused', 'AWAITING_INPUT'],
    ['PAUSED', null, 'AWAITING_INPUT'],
    ['STARTING', null, 'STARTING'],
  ])('sandbox %s, execution %s → %s', (sandbox, execution, status) => {
    const obs = fromV1Conversation(conv(sandbox, execution), 10);
    expect(obs.status).toBe(status);
    expect(obs.failure).toBeUndefined();
    expect(obs.upstream).toBe(`sandbox:${sandbox} execution:${execution ?? 'null'}`);
    if (status === 'COMPLETED') expect(obs.percent).toBe(100);
    else expect(obs.percent).toBeLessThan(100);
  });

  it('percent while running follows the agent steps', () => {
    expect(fromV1Conversation(conv('RUNNING', 'running'), 0).percent).toBe(runningPercent(0));
    expect(fromV1Conversation(conv('RUNNING', 'running'), 25).percent).toBe(runningPercent(25));
  });

  it.each([
    ['RUNNING', 'error', 'AGENT_ERROR', true],
    ['RUNNING', 'stuck', 'AGENT_STUCK', true],
    ['ERROR', null, 'SANDBOX_ERROR', true],
    ['MISSING', null, 'SANDBOX_MISSING', true],
    ['RUNNING', 'deleting', 'CONVERSATION_DELETED', false],
  ])('sandbox %s, execution %s → FAILED %s (suspect: %s)', (sandbox, execution, code, suspect) => {
    const obs = fromV1Conversation(conv(sandbox, execution), 3);
    expect(obs).toMatchObject({ status: 'FAILED', suspect, failure: { code } });
  });

  it('a missing object is a suspect, retryable failure', () => {
    expect(missing('conversation:null', 'CONVERSATION_NOT_FOUND', 'gone')).toMatchObject({
      status: 'FAILED',
      suspect: true,
      failure: { code: 'CONVERSATION_NOT_FOUND', retryable: true },
    });
  });
});

describe('V0 conversation', () => {
  it('walks the runtime statuses while STARTING with rising percent', () => {
    const runtimes = [
      'STATUS$BUILDING_RUNTIME',
      'STATUS$STARTING_RUNTIME',
      'STATUS$RUNTIME_STARTED',
      'STATUS$SETTING_UP_WORKSPACE',
      'STATUS$SETTING_UP_GIT_HOOKS',
    ];
    const percents = runtimes.map((runtime_status) => {
      const obs = fromV0Conversation({ status: 'STARTING', runtime_status }, null, 0);
      expect(obs.status).toBe('STARTING');
      return obs.percent;
    });
    expect([...percents].sort((a, b) => a - b)).toEqual(percents);
    expect(fromV0Conversation({ status: 'STARTING', runtime_status: null }, null, 0).status).toBe('STARTING');
  });

  it('reads the agent state from the events once running', () => {
    expect(
      fromV0Conversation({ status: 'RUNNING', runtime_status: 'STATUS$READY' }, 'running', 5),
    ).toMatchObject({
      status: 'RUNNING',
      percent: runningPercent(5),
    });
    expect(
      fromV0Conversation({ status: 'RUNNING', runtime_status: 'STATUS$READY' }, 'finished', 5),
    ).toMatchObject({
      status: 'COMPLETED',
      percent: 100,
    });
    expect(
      fromV0Conversation({ status: 'RUNNING', runtime_status: 'STATUS$READY' }, 'awaiting_user_input', 5)
        .status,
    ).toBe('AWAITING_INPUT');
    expect(fromV0Conversation({ status: 'RUNNING', runtime_status: 'STATUS$READY' }, null, 0).status).toBe(
      'RUNNING',
    );
  });

  it.each([
    [{ status: 'ERROR', runtime_status: 'STATUS$ERROR' }, 'error', 'AGENT_ERROR'],
    [{ status: 'ERROR', runtime_status: 'STATUS$ERROR_RUNTIME_DISCONNECTED' }, 'error', 'RUNTIME_ERROR'],
    [{ status: 'ERROR', runtime_status: 'STATUS$ERROR_LLM_AUTHENTICATION' }, 'error', 'LLM_ERROR'],
    [
      { status: 'RUNNING', runtime_status: 'STATUS$GIT_PROVIDER_AUTHENTICATION_ERROR' },
      null,
      'GIT_AUTH_ERROR',
    ],
    [{ status: 'RUNNING', runtime_status: 'STATUS$ERROR' }, null, 'RUNTIME_ERROR'],
    [{ status: 'ERROR', runtime_status: null }, 'running', 'CONVERSATION_ERROR'],
    [{ status: 'STOPPED', runtime_status: null }, 'running', 'CONVERSATION_STOPPED'],
    [{ status: 'RUNNING', runtime_status: 'STATUS$READY' }, 'rejected', 'AGENT_REJECTED'],
  ])('%j with agent %s → FAILED %s', (conversation, agent, code) => {
    expect(fromV0Conversation(conversation, agent, 3)).toMatchObject({ status: 'FAILED', failure: { code } });
  });

  it('a STOPPED conversation whose agent finished is COMPLETED (V0 forgets conversations)', () => {
    expect(fromV0Conversation({ status: 'STOPPED', runtime_status: null }, 'finished', 9).status).toBe(
      'COMPLETED',
    );
  });

  it('unknown agent states leave the conversation status in charge', () => {
    expect(fromV0AgentState('something_new', 0, 'x')).toBeUndefined();
    expect(
      fromV0Conversation({ status: 'RUNNING', runtime_status: 'STATUS$READY' }, 'something_new', 0).status,
    ).toBe('RUNNING');
  });
});

describe('activityPhase', () => {
  it.each([
    ['terminal', 'Agent running commands'],
    ['execute_bash', 'Agent running commands'],
    ['file_editor', 'Agent editing files'],
    ['str_replace_editor', 'Agent editing files'],
    ['browser', 'Agent browsing'],
    ['think', 'Agent thinking'],
    ['task_tracker', 'Agent planning'],
    ['finish', 'Agent finishing'],
  ])('%s → %s', (tool, phase) => {
    expect(activityPhase(tool)).toBe(phase);
  });
  it('unknown or missing tools give no phase', () => {
    expect(activityPhase(undefined)).toBeUndefined();
    expect(activityPhase('quux')).toBeUndefined();
  });
});
