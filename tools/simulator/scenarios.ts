/**
 * Scenarios: a marker in the prompt text picks how a simulated run behaves.
 * Markers can be combined (e.g. "[sim:slow] [sim:ask]").
 *
 *   [sim:fail]          the agent errors midway.
 *                       V1: execution_status "error" + AgentErrorEvent.
 *                       V0: agent_state "error", status ERROR, runtime_status STATUS$ERROR.
 *   [sim:sandbox-error] the sandbox never comes up.
 *                       V1: start task ends ERROR, detail "Sandbox failed to start within 120s: …".
 *                       V0: status ERROR, runtime_status STATUS$ERROR_RUNTIME_DISCONNECTED.
 *   [sim:stuck]         start never finishes while reads keep answering 200.
 *                       V1: start task stays WAITING_FOR_SANDBOX. V0: status stays STARTING.
 *   [sim:hang]          reaches running, then emits nothing more (for stall timeouts).
 *   [sim:slow-start]    each start step takes 5x longer.
 *   [sim:ask]           the agent asks a question (a plain message) and waits for a message on the
 *                       message route (V1: its turn ends, execution_status "finished" after a
 *                       MessageEvent; V0: agent_state awaiting_user_input), then goes on to a PR.
 *   [sim:confirm]       as [sim:ask], but asking for confirmation (V1 waiting_for_confirmation,
 *                       V0 awaiting_user_confirmation).
 *   [sim:idle-pause]    with [sim:ask]: while the agent waits, OpenHands pauses its sandbox; a message
 *                       is refused (409) until the sandbox is resumed (V1).
 *   [sim:blip]          the first 2 status reads after it starts running see a false error
 *                       (V1 execution_status "error", V0 status "ERROR"), then it goes on normally.
 *   [sim:flaky]         every 3rd request about the conversation answers 500.
 *   [sim:429]           the first 3 status reads about it answer 429 with Retry-After: 1.
 *   [sim:no-pr]         finishes without opening a pull request.
 *   [sim:slow]          every step takes 4x longer (lets tests cancel mid-run).
 *
 * `Simulator.complete()` releases stuck / hang / ask holds.
 */

export const SCENARIO_NAMES = [
  'fail',
  'sandbox-error',
  'stuck',
  'hang',
  'slow-start',
  'ask',
  'confirm',
  'idle-pause',
  'blip',
  'flaky',
  '429',
  'no-pr',
  'slow',
] as const;

export type ScenarioName = (typeof SCENARIO_NAMES)[number];

export type Scenario = ReadonlySet<ScenarioName>;

const MARKER_RE = /\[sim:([a-z0-9-]+)\]/gi;

/** Every known marker in the prompt; unknown markers are ignored. */
export function parseScenario(prompt: string): Scenario {
  const found = new Set<ScenarioName>();
  for (const m of prompt.matchAll(MARKER_RE)) {
    const name = (m[1] ?? '').toLowerCase();
    if ((SCENARIO_NAMES as readonly string[]).includes(name)) found.add(name as ScenarioName);
  }
  return found;
}

/** Multipliers applied to stepMs. */
export function startStepFactor(s: Scenario): number {
  return (s.has('slow-start') ? 5 : 1) * (s.has('slow') ? 4 : 1);
}

export function agentStepFactor(s: Scenario): number {
  return s.has('slow') ? 4 : 1;
}

/** Status reads answered 429 for a `[sim:429]` conversation. */
export const THROTTLED_READS = 3;
/** Status reads that see the false error of a `[sim:blip]` conversation. */
export const BLIP_READS = 2;
/** Every Nth request about a `[sim:flaky]` conversation answers 500. */
export const FLAKY_EVERY = 3;
