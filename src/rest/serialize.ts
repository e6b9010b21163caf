import type { NotificationDelivery, WebhookEndpoint as WebhookEndpointRow } from '../notifications/store.js';
import type { DeliveryStatus, NotificationType } from '../notifications/types.js';
import type { Run, RunEvent } from '../runs/store/index.js';
import type { Outcome } from '../runs/upstream.js';
import type {
  RunDetail,
  RunEvent as RunEventJson,
  RunList,
  RunOutcome,
  RunSummary,
  WebhookDelivery as WebhookDeliveryJson,
  WebhookEndpoint as WebhookEndpointJson,
} from './schemas.js';

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
    ...runObject(run),
    events: events.map(runEvent),
    events_truncated: eventsTruncated,
  };
}

function runOutcome(stored: unknown): RunOutcome | null {
  if (!stored || typeof stored !== 'object') return null;
  const outcome = stored as Outcome & { fetchedAt: string };
  return { summary: outcome.summary, changed_files: outcome.changedFiles, fetched_at: outcome.fetchedAt };
}

/** The detail route's run without its timeline: what run notifications carry as data.run. */
export function runObject(run: Run): Omit<RunDetail, 'events' | 'events_truncated'> {
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
    question: run.question,
    outcome: runOutcome(run.outcome),
    started_at: iso(run.startedAt),
    finished_at: iso(run.finishedAt),
  };
}

export function runList(runs: Run[], nextCursor: string | null): RunList {
  return { runs: runs.map(runSummary), next_cursor: nextCursor };
}

export function webhookEndpoint(endpoint: WebhookEndpointRow): WebhookEndpointJson {
  const overlap = endpoint.previousSecretExpiresAt && endpoint.previousSecretExpiresAt > new Date();
  return {
    id: endpoint.id,
    project_id: endpoint.projectId,
    run_id: endpoint.runId,
    url: endpoint.url,
    events: endpoint.events as NotificationType[],
    enabled: endpoint.enabled,
    disabled_reason: endpoint.disabledReason,
    failing_since: iso(endpoint.failingSince),
    previous_secret_expires_at: overlap ? iso(endpoint.previousSecretExpiresAt) : null,
    created_at: endpoint.createdAt.toISOString(),
    updated_at: endpoint.updatedAt.toISOString(),
  };
}

export function webhookDelivery(delivery: NotificationDelivery): WebhookDeliveryJson {
  return {
    id: delivery.id,
    endpoint_id: delivery.endpointId,
    run_id: delivery.runId,
    seq: delivery.seq,
    type: delivery.type as NotificationType,
    status: delivery.status as DeliveryStatus,
    attempts: delivery.attempts,
    last_status_code: delivery.lastStatusCode,
    last_error: delivery.lastError,
    last_attempt_at: iso(delivery.lastAttemptAt),
    next_attempt_at: delivery.status === 'PENDING' ? iso(delivery.nextAttemptAt) : null,
    delivered_at: iso(delivery.deliveredAt),
    created_at: delivery.createdAt.toISOString(),
  };
}
