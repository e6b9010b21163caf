import type { Run, RunEvent } from '../runs/store/index.js';
import type { RunDetail, RunEvent as RunEventJson, RunList, RunSummary } from './schemas.js';

/**
 * Run → the old service's snake_case JSON. Times are ISO-8601 UTC with a trailing Z (what
 * Date#toISOString gives), as the old clients parse them.
 */
const iso = (date: Date | null): string | null => (date ? date.toISOString() : null);

export function runSummary(run: Run): RunSummary {
  return {
    run_id: run.id,
    project_id: run.projectId,
    status: run.status,
    percent: run.percent,
    created_at: run.createdAt.toISOString(),
    updated_at: run.updatedAt.toISOString(),
    metadata: run.metadata ?? null,
  };
}

export function runEvent(event: RunEvent): RunEventJson {
  return {
    seq: event.seq,
    type: event.type,
    status: event.status,
    percent: event.percent,
    phase: event.phase,
    message: event.message,
    data: event.data ?? null,
    at: event.at.toISOString(),
  };
}

/** Summary plus what the detail route adds; the same values GraphQL's Run type resolves. */
export function runDetail(run: Run, events: RunEvent[], eventsTruncated: boolean): RunDetail {
  return {
    ...runSummary(run),
    repository: run.repository,
    branch: run.branch,
    git_provider: run.gitProvider,
    phase: run.phase,
    conversation_id: run.conversationId,
    error: run.errorCode
      ? {
          code: run.errorCode,
          message: run.errorMessage ?? run.errorCode,
          retryable: run.errorRetryable ?? false,
        }
      : null,
    pull_request: run.prUrl
      ? {
          provider: run.prProvider ?? 'GITHUB',
          url: run.prUrl,
          number: run.prNumber,
          state: run.prState ?? 'OPEN',
          head_branch: run.prHeadBranch,
          head_sha: run.prHeadSha,
        }
      : null,
    started_at: iso(run.startedAt),
    finished_at: iso(run.finishedAt),
    events: events.map(runEvent),
    events_truncated: eventsTruncated,
  };
}

export function runList(runs: Run[], nextCursor: string | null): RunList {
  return { runs: runs.map(runSummary), next_cursor: nextCursor };
}
