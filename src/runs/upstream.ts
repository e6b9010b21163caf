/**
 * What runs/ needs from the agent platform that does the work. OpenHands implements it
 * (src/openhands/); runs/ never imports that module, so the lifecycle and the poller read as rules
 * about runs, and another upstream (or a test double) only has to fill in these types.
 */
import type { ActivityItem } from './activity.js';
import type { DetectedPullRequest } from './pull-requests.js';
import type { RunStatus } from './status.js';

/** One reading of the upstream state, already mapped to the runner's status, percent and phase. */
export interface Observation {
  status: RunStatus;
  percent: number;
  phase: string;
  /** Raw upstream state, e.g. "task:WAITING_FOR_SANDBOX" or "sandbox:RUNNING execution:running". */
  upstream: string;
  failure?: { code: string; message: string; retryable: boolean };
  /** Looks like a failure but may be a blip: only believed after the tolerance window. */
  suspect?: boolean;
}

/** What a driver needs to know about a run. */
export interface UpstreamRun {
  id: string;
  compiledPrompt: string;
  repository: string | null;
  branch: string | null;
  gitProvider: string | null;
  startTaskId: string | null;
  conversationId: string | null;
  sandboxId: string | null;
  eventCursor: string | null;
  upstreamEventCount: number;
  upstreamStatus: string | null;
}

export interface StartResult {
  startTaskId?: string;
  conversationId?: string;
  observation: Observation;
}

/** One run's upstream state as read in one poll. */
export interface Snapshot {
  observation: Observation;
  startTaskId?: string;
  conversationId?: string;
  sandboxId?: string;
  /** sha256 (hex) of the conversation's session API key: agent-server pushes must match it (src/push/). */
  sessionKeyHash?: string;
  /** Driver-private reading position in the conversation's events. */
  eventCursor?: string;
  /** Agent steps seen so far (drives percent while running). */
  agentSteps: number;
  /** New upstream events were read in this poll. */
  newEvents: number;
  pullRequests: DetectedPullRequest[];
  /** The agent's finish message or last message, if it gave one in this poll. */
  finalMessage?: string;
  /** `finalMessage` is the agent's finish message (its final answer), not a plain message. */
  finalIsFinish?: boolean;
  /** What the agent is doing now (e.g. "Agent running commands"). */
  doing?: string;
  /** What the agent did since the last read (messages, tool calls, exit codes), oldest first. */
  activity?: ActivityItem[];
  /** The agent's last message, when upstream waits for an answer (Run.question). */
  question?: string;
}

/** What the agent delivered, read once at the end (Run.outcome). */
export interface Outcome {
  summary: string | null;
  changedFiles: Array<{ path: string; change: FileChange }> | null;
}

export type FileChange = 'ADDED' | 'MODIFIED' | 'DELETED' | 'RENAMED';

/**
 * The agent's final answer so far (its finish message, else its last message), which every driver
 * keeps in its own cursor JSON (Run.eventCursor) as `finalText`, and pushes update too.
 */
export function finalTextOf(eventCursor: string | null): string | null {
  if (!eventCursor) return null;
  const { finalText } = JSON.parse(eventCursor) as { finalText?: unknown };
  return typeof finalText === 'string' ? finalText : null;
}

export interface UpstreamDriver {
  readonly version: string;
  start(run: UpstreamRun): Promise<StartResult>;
  /**
   * The conversation an earlier start attempt for this run may have created without the runner
   * learning of it (the process died, or the answer was lost, with the request in flight). Drivers
   * that cannot tell their conversations apart leave it out, and a retried start may then make a
   * second conversation.
   */
  findStarted?(run: UpstreamRun): Promise<StartResult | undefined>;
  /** Reads several runs at once (batches where the API allows); a run's entry is an error when its read failed. */
  poll(runs: UpstreamRun[]): Promise<Map<string, Snapshot | Error>>;
  /** Stops the run's conversation. Returns false when there is nothing to stop yet (still starting). */
  stop(run: UpstreamRun): Promise<boolean>;
  /** Sends a user message to the run's conversation (resuming a paused sandbox first). */
  sendMessage(run: UpstreamRun, text: string): Promise<void>;
  /** The agent's final answer and the files it changed; fields it cannot tell are null. */
  outcome(run: UpstreamRun): Promise<Outcome>;
}

/** Upstream said no for good (a 4xx other than 429): retrying the same request will not help. */
export interface UpstreamRefusal {
  status: number;
  detail?: string;
}

export interface Upstream {
  /** The API generation new runs start on (recorded on the run as `apiVersion`). */
  versionForNewRuns(): Promise<string>;
  /** The driver for a run's recorded generation; null means the default one. */
  driver(version: string | null): UpstreamDriver;
  /** Whether `error` is a refusal rather than a fault worth retrying. */
  refusal(error: unknown): UpstreamRefusal | undefined;
}
