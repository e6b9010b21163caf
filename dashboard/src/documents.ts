// Every GraphQL document the runs and run pages send, with the shapes they answer (the conversation's
// own fields and mutation live beside its components in conversation.tsx).
import { CONVERSATION_RUN_FIELDS } from './conversation.js';

export const RUN_STATUSES = [
  'QUEUED',
  'STARTING',
  'RUNNING',
  'AWAITING_INPUT',
  'COMPLETED',
  'FAILED',
  'CANCELLED',
  'TIMED_OUT',
] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
export const FINAL_STATUSES: readonly RunStatus[] = ['COMPLETED', 'FAILED', 'CANCELLED', 'TIMED_OUT'];

export interface PullRequest {
  url: string;
  state: string;
  number: number | null;
}

/** One row of the runs table. */
export interface RunRow {
  id: string;
  status: RunStatus;
  projectId: string;
  repository: string | null;
  branch: string | null;
  phase: string;
  percent: number;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  pullRequest: PullRequest | null;
}

export interface RunDetail extends RunRow {
  compiledPrompt: string;
  conversationId: string | null;
  updatedAt: string;
  error: { code: string; message: string; retryable: boolean } | null;
}

export interface RunEvent {
  seq: number;
  type: string;
  status: RunStatus;
  percent: number;
  phase: string;
  message: string | null;
  at: string;
  data: unknown;
}

export interface PageInfo {
  startCursor: string | null;
  endCursor: string | null;
  hasNextPage: boolean;
  hasPreviousPage: boolean;
}

const ROW_FIELDS = `id status projectId repository branch phase percent createdAt startedAt finishedAt
  pullRequest { url state number }`;

export const RUNS_QUERY = `query DashboardRuns($first: Int, $last: Int, $after: String, $before: String,
    $projectId: String, $repository: String, $status: [RunStatus!]) {
  runs(first: $first, last: $last, after: $after, before: $before, projectId: $projectId,
      repository: $repository, status: $status) {
    totalCount
    pageInfo { startCursor endCursor hasNextPage hasPreviousPage }
    edges { node { ${ROW_FIELDS} } }
  }
}`;
export interface RunsAnswer {
  runs: { totalCount: number; pageInfo: PageInfo; edges: Array<{ node: RunRow }> };
}

export const RUNS_CHANGED = `subscription DashboardRunsChanged($projectId: String) {
  runsChanged(projectId: $projectId) { seq run { ${ROW_FIELDS} } }
}`;
export interface RunsChangedAnswer {
  runsChanged: { seq: number; run: RunRow };
}

export const RUN_QUERY = `query DashboardRun($id: ID!) {
  run(id: $id) {
    ${ROW_FIELDS} compiledPrompt conversationId updatedAt
    error { code message retryable } ${CONVERSATION_RUN_FIELDS}
  }
}`;
export interface RunAnswer {
  run: RunDetail | null;
}

export const RUN_PROGRESS = `subscription DashboardRunProgress($runId: ID!, $afterSeq: Int) {
  runProgress(runId: $runId, afterSeq: $afterSeq) { seq type status percent phase message at data }
}`;
export interface RunProgressAnswer {
  runProgress: RunEvent;
}

export const START_RUN = `mutation DashboardStartRun($input: StartRunInput!) {
  startRun(input: $input) { run { id } }
}`;
export interface StartRunAnswer {
  startRun: { run: { id: string } };
}

export const CANCEL_RUN = `mutation DashboardCancelRun($id: ID!) { cancelRun(id: $id) { run { id status } } }`;
