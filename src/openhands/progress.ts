/**
 * The one mapping from OpenHands' upstream states to the runner's status, percent and phase.
 *
 * | upstream (V1 start task / V0 runtime)              | status         | percent |
 * |----------------------------------------------------|----------------|---------|
 * | WORKING / STATUS$BUILDING_RUNTIME                   | STARTING       | 8–10    |
 * | WAITING_FOR_SANDBOX / STATUS$STARTING_RUNTIME       | STARTING       | 12–15   |
 * | PREPARING_REPOSITORY / STATUS$RUNTIME_STARTED       | STARTING       | 18–20   |
 * | RUNNING_SETUP_SCRIPT … / STATUS$SETTING_UP_…        | STARTING       | 22–26   |
 * | STARTING_CONVERSATION / STATUS$READY                | STARTING       | 28–30   |
 * | conversation running (grows with agent activity)   | RUNNING        | 30–95   |
 * | waiting_for_confirmation / awaiting_user_input     | AWAITING_INPUT | kept    |
 * | finished, or a pull/merge request opened            | COMPLETED      | 100     |
 * | error, stuck, sandbox ERROR/MISSING, start ERROR    | FAILED         | kept    |
 *
 * Queued and start-requested are the runner's own states (src/runs/lifecycle.ts). Percent never
 * decreases (the lifecycle keeps the maximum) and is 100 only for COMPLETED.
 * Error-looking states are marked `suspect`: the poller tolerates them for a short while, because
 * OpenHands reports false ERROR/null for a few seconds around resumes.
 */
import type { Observation } from '../runs/upstream.js';

export type { Observation };

const V1_TASK_STEPS: Record<string, [number, string]> = {
  WORKING: [8, 'Starting task'],
  WAITING_FOR_SANDBOX: [12, 'Waiting for sandbox'],
  PREPARING_REPOSITORY: [18, 'Preparing repository'],
  RUNNING_SETUP_SCRIPT: [22, 'Running setup script'],
  SETTING_UP_GIT_HOOKS: [24, 'Setting up git hooks'],
  SETTING_UP_SKILLS: [26, 'Setting up skills'],
  STARTING_CONVERSATION: [28, 'Starting conversation'],
  READY: [30, 'Conversation ready'],
};

const V0_RUNTIME_STEPS: Record<string, [number, string]> = {
  STATUS$BUILDING_RUNTIME: [10, 'Building runtime'],
  STATUS$STARTING_RUNTIME: [15, 'Starting runtime'],
  STATUS$RUNTIME_STARTED: [20, 'Runtime started'],
  STATUS$SETTING_UP_WORKSPACE: [22, 'Setting up workspace'],
  STATUS$SETTING_UP_GIT_HOOKS: [25, 'Setting up git hooks'],
  STATUS$READY: [30, 'Runtime ready'],
};

/** Percent while the agent works: 30 at the start, approaching 95 as it takes more steps. */
export function runningPercent(agentSteps: number): number {
  return Math.min(95, 30 + Math.floor(65 * (1 - Math.exp(-Math.max(0, agentSteps) / 40))));
}

function failed(
  upstream: string,
  code: string,
  message: string,
  suspect: boolean,
  retryable = false,
): Observation {
  return {
    status: 'FAILED',
    percent: 0,
    phase: 'Failed',
    upstream,
    failure: { code, message, retryable },
    suspect,
  };
}

/** The upstream object is gone (null/404); believed only after the tolerance window. */
export function missing(upstream: string, code: string, message: string): Observation {
  return failed(upstream, code, message, true, true);
}

export function fromV1StartTask(task: { status: string; detail?: string | null }): Observation {
  const upstream = `task:${task.status}`;
  if (task.status === 'ERROR') {
    const detail = task.detail ?? 'no detail given';
    const code = /sandbox/i.test(detail) ? 'SANDBOX_START_FAILED' : 'START_TASK_FAILED';
    return failed(upstream, code, `OpenHands could not start the conversation: ${detail}`, false, true);
  }
  const [percent, phase] = V1_TASK_STEPS[task.status] ?? [8, `Starting (${task.status.toLowerCase()})`];
  return { status: 'STARTING', percent, phase, upstream };
}

/**
 * `endedWithMessage`: the agent's last event was a plain message rather than a FinishAction. V1 has no
 * "awaiting input" status: a turn that ends with a question reads `finished` (shared/openhands-api.md).
 */
export function fromV1Conversation(
  conversation: { sandbox_status?: string | null; execution_status?: string | null },
  agentSteps: number,
  endedWithMessage = false,
): Observation {
  const sandbox = conversation.sandbox_status ?? 'UNKNOWN';
  const execution = conversation.execution_status ?? null;
  const upstream = `sandbox:${sandbox} execution:${execution ?? 'null'}`;
  switch (sandbox) {
    case 'STARTING':
      return { status: 'STARTING', percent: 28, phase: 'Sandbox starting', upstream };
    case 'PAUSED':
      return { status: 'AWAITING_INPUT', percent: 0, phase: 'Sandbox paused by OpenHands', upstream };
    case 'ERROR':
      return failed(upstream, 'SANDBOX_ERROR', 'The OpenHands sandbox entered an error state', true);
    case 'MISSING':
      return failed(upstream, 'SANDBOX_MISSING', 'The OpenHands sandbox no longer exists', true);
  }
  switch (execution) {
    case 'finished':
      if (endedWithMessage)
        return { status: 'AWAITING_INPUT', percent: 0, phase: 'Waiting for an answer', upstream };
      return { status: 'COMPLETED', percent: 100, phase: 'Finished', upstream };
    case 'waiting_for_confirmation':
      return { status: 'AWAITING_INPUT', percent: 0, phase: 'Waiting for confirmation', upstream };
    case 'paused':
      return { status: 'AWAITING_INPUT', percent: 0, phase: 'Agent paused', upstream };
    case 'error':
      return failed(upstream, 'AGENT_ERROR', 'The OpenHands agent stopped with an error', true);
    case 'stuck':
      return failed(upstream, 'AGENT_STUCK', 'The OpenHands agent got stuck', true);
    case 'deleting':
      return failed(upstream, 'CONVERSATION_DELETED', 'The conversation is being deleted upstream', false);
    default:
      return { status: 'RUNNING', percent: runningPercent(agentSteps), phase: 'Agent working', upstream };
  }
}

/** V0 agent states, read from `agent_state_changed` observations. */
export function fromV0AgentState(
  state: string,
  agentSteps: number,
  upstream: string,
): Observation | undefined {
  switch (state) {
    case 'loading':
    case 'running':
    case 'user_confirmed':
    case 'user_rejected':
      return { status: 'RUNNING', percent: runningPercent(agentSteps), phase: 'Agent working', upstream };
    case 'rate_limited':
      return {
        status: 'RUNNING',
        percent: runningPercent(agentSteps),
        phase: 'Agent rate-limited by its LLM, retrying',
        upstream,
      };
    case 'awaiting_user_input':
      return { status: 'AWAITING_INPUT', percent: 0, phase: 'Waiting for user input', upstream };
    case 'awaiting_user_confirmation':
      return { status: 'AWAITING_INPUT', percent: 0, phase: 'Waiting for confirmation', upstream };
    case 'paused':
      return { status: 'AWAITING_INPUT', percent: 0, phase: 'Agent paused', upstream };
    case 'finished':
      return { status: 'COMPLETED', percent: 100, phase: 'Finished', upstream };
    case 'error':
      return failed(upstream, 'AGENT_ERROR', 'The OpenHands agent stopped with an error', true);
    case 'rejected':
      return failed(upstream, 'AGENT_REJECTED', 'The OpenHands agent rejected the task', false);
    default:
      return undefined;
  }
}

export function fromV0Conversation(
  conversation: { status?: string | null; runtime_status?: string | null },
  agentState: string | null,
  agentSteps: number,
): Observation {
  const status = conversation.status ?? 'UNKNOWN';
  const runtime = conversation.runtime_status ?? null;
  const upstream = `status:${status} runtime:${runtime ?? 'null'} agent:${agentState ?? 'null'}`;
  if (runtime?.startsWith('STATUS$ERROR') || runtime === 'STATUS$GIT_PROVIDER_AUTHENTICATION_ERROR') {
    const code = runtime.includes('LLM')
      ? 'LLM_ERROR'
      : runtime.includes('GIT')
        ? 'GIT_AUTH_ERROR'
        : // The generic STATUS$ERROR is what V0 reports when the agent itself errored: say so, as V1 does.
          runtime === 'STATUS$ERROR' && agentState === 'error'
          ? 'AGENT_ERROR'
          : 'RUNTIME_ERROR';
    return failed(upstream, code, `OpenHands reported ${runtime}`, true);
  }
  if (status === 'ERROR')
    return failed(upstream, 'CONVERSATION_ERROR', 'OpenHands reported the conversation in ERROR', true);
  const fromAgent = agentState ? fromV0AgentState(agentState, agentSteps, upstream) : undefined;
  if (status === 'STOPPED' || status === 'ARCHIVED') {
    if (fromAgent?.status === 'COMPLETED') return fromAgent;
    // V0 reads STOPPED for anything not in memory (restart, 1 h idle, eviction by newer conversations).
    return failed(
      upstream,
      'CONVERSATION_STOPPED',
      'OpenHands stopped the conversation before it finished',
      true,
      true,
    );
  }
  if (fromAgent) return fromAgent;
  if (status === 'STARTING' || (runtime && runtime !== 'STATUS$READY')) {
    const [percent, phase] = (runtime && V0_RUNTIME_STEPS[runtime]) || [8, 'Starting runtime'];
    return { status: 'STARTING', percent, phase, upstream };
  }
  return { status: 'RUNNING', percent: runningPercent(agentSteps), phase: 'Agent working', upstream };
}

/** Phase text for what the agent is doing, from the tool or action it last used. */
export function activityPhase(tool: string | undefined): string | undefined {
  if (!tool) return undefined;
  const t = tool.toLowerCase();
  if (/(terminal|bash|cmd|run|execute)/.test(t)) return 'Agent running commands';
  if (/(edit|write|str_replace|file)/.test(t)) return 'Agent editing files';
  if (/(browse|browser|web)/.test(t)) return 'Agent browsing';
  if (/think/.test(t)) return 'Agent thinking';
  if (/(task_tracker|plan)/.test(t)) return 'Agent planning';
  if (/(finish)/.test(t)) return 'Agent finishing';
  if (/(create_pr|create_mr)/.test(t)) return 'Agent opening a pull request';
  return undefined;
}
