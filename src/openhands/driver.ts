import type { Observation } from '../runs/progress.js';
import type { DetectedPullRequest } from '../runs/pull-requests.js';
import type { ApiVersion } from './types.js';

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
  /** Driver-private reading position in the conversation's events. */
  eventCursor?: string;
  /** Agent steps seen so far (drives percent while running). */
  agentSteps: number;
  /** New upstream events were read in this poll. */
  newEvents: number;
  pullRequests: DetectedPullRequest[];
  /** The agent's finish message or last message, if it gave one in this poll. */
  finalMessage?: string;
  /** What the agent is doing now (e.g. "Agent running commands"). */
  activity?: string;
}

export interface OpenHandsDriver {
  readonly version: ApiVersion;
  start(run: UpstreamRun): Promise<StartResult>;
  /**
   * The conversation an earlier start attempt for this run may have created without the runner
   * learning of it (the process died, or the answer was lost, with the request in flight). Drivers
   * that cannot tell their conversations apart leave it out, and a retried start may then make a
   * second conversation.
   */
  findStarted?(run: UpstreamRun): Promise<StartResult | undefined>;
  /** Reads several runs at once (V1 batches); a run's entry is an error when its read failed. */
  poll(runs: UpstreamRun[]): Promise<Map<string, Snapshot | Error>>;
  /** Stops the run's conversation. Returns false when there is nothing to stop yet (still starting). */
  stop(run: UpstreamRun): Promise<boolean>;
}

/** The title every conversation started for a run carries; how an interrupted start is found again. */
export function runTitle(runId: string): string {
  return `Run ${runId}`;
}

export function gitProviderParam(provider: string | null, repository: string | null): string | null {
  if (!repository) return null;
  return (provider ?? 'GITHUB').toLowerCase();
}
