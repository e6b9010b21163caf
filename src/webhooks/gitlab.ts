import { createHash } from 'node:crypto';
import { isSigningToken, sameSecret, verifyStandardWebhook } from './signatures.js';
import {
  headerValue,
  object,
  optionalDate,
  optionalText,
  type ParsedDelivery,
  type PullRequestChange,
  type PullRequestState,
  positiveInt,
  text,
  type WebhookSource,
} from './types.js';

/** `object_attributes.action` values this service acts on; `update` only when it carries new commits. */
const CHANGES: Record<string, PullRequestChange | undefined> = {
  open: 'OPENED',
  reopen: 'REOPENED',
  merge: 'MERGED',
  close: 'CLOSED',
};

const STATES: Record<string, PullRequestState | undefined> = {
  opened: 'OPEN',
  merged: 'MERGED',
  closed: 'CLOSED',
  locked: 'CLOSED',
};

/** Reads a verified GitLab delivery: a merge request change, or something ignored. */
export function parseGitLab(
  event: string,
  payload: unknown,
): { action: string | null; parsed: ParsedDelivery } {
  const body = object(payload, 'payload');
  // Project hooks say "Merge Request Hook", system hooks "System Hook": the body's kind decides.
  if (body.object_kind !== 'merge_request') {
    return { action: null, parsed: { kind: 'ignored', reason: `event ${event} is not used` } };
  }
  const attrs = object(body.object_attributes, 'object_attributes');
  const project = object(body.project, 'project');
  const action = optionalText(attrs.action, 'object_attributes.action');
  // `update` also fires for title, label or assignee edits; only a push sets `oldrev`.
  const change =
    action === 'update'
      ? optionalText(attrs.oldrev, 'object_attributes.oldrev')
        ? 'PUSHED'
        : undefined
      : CHANGES[action ?? ''];
  if (!change) {
    const what = action === 'update' ? 'update without new commits' : `action ${action ?? '(none)'}`;
    return { action, parsed: { kind: 'ignored', reason: `merge request ${what} is not used` } };
  }
  const lastCommit =
    attrs.last_commit === undefined || attrs.last_commit === null
      ? {}
      : object(attrs.last_commit, 'object_attributes.last_commit');
  const repository = text(project.path_with_namespace, 'project.path_with_namespace');
  const user = body.user === undefined || body.user === null ? {} : object(body.user, 'user');
  return {
    action,
    parsed: {
      kind: 'pull_request',
      change,
      pr: {
        provider: 'GITLAB',
        repository,
        number: positiveInt(attrs.iid, 'object_attributes.iid'),
        url: text(attrs.url, 'object_attributes.url'),
        title: optionalText(attrs.title, 'object_attributes.title'),
        body: optionalText(attrs.description, 'object_attributes.description'),
        headBranch: text(attrs.source_branch, 'object_attributes.source_branch'),
        headRepository: sourceProject(attrs, repository),
        author: optionalText(user.username, 'user.username'),
        headSha: optionalText(lastCommit.id, 'object_attributes.last_commit.id'),
        baseBranch: optionalText(attrs.target_branch, 'object_attributes.target_branch'),
        state:
          STATES[String(attrs.state)] ??
          (change === 'MERGED' ? 'MERGED' : change === 'CLOSED' ? 'CLOSED' : 'OPEN'),
        createdAt: optionalDate(attrs.created_at),
      },
    },
  };
}

/** The source project's path: the target's own unless the source project id differs (a fork). */
function sourceProject(attrs: Record<string, unknown>, repository: string): string | null {
  const { source_project_id: sourceId, target_project_id: targetId } = attrs;
  if (typeof sourceId === 'number' && sourceId === targetId) return repository;
  const source =
    attrs.source === undefined || attrs.source === null
      ? {}
      : object(attrs.source, 'object_attributes.source');
  const path = optionalText(source.path_with_namespace, 'object_attributes.source.path_with_namespace');
  // Different ids name different projects even if a payload claimed the same path.
  if (typeof sourceId === 'number' && typeof targetId === 'number' && path === repository) return null;
  return path;
}

function standardHeaders(headers: Parameters<WebhookSource['verify']>[1]) {
  return {
    id: headerValue(headers, 'webhook-id'),
    timestamp: headerValue(headers, 'webhook-timestamp'),
    signature: headerValue(headers, 'webhook-signature'),
  };
}

/**
 * A `whsec_` secret means GitLab signs deliveries (Standard Webhooks); then the signature is
 * required and a bare X-Gitlab-Token is refused, so nobody can downgrade to the replayable token.
 */
export const gitlab: WebhookSource = {
  provider: 'GITLAB',
  secretVariable: 'GITLAB_WEBHOOK_SECRET',
  eventHeader: 'X-Gitlab-Event',
  deliveryHeader: 'webhook-id / Idempotency-Key',
  missingCredentials(headers, secret) {
    if (isSigningToken(secret)) {
      return headerValue(headers, 'webhook-signature') ? null : 'webhook-signature header is missing';
    }
    return headerValue(headers, 'x-gitlab-token') ? null : 'X-Gitlab-Token header is missing';
  },
  verify(secret, headers, body) {
    if (isSigningToken(secret)) {
      const check = verifyStandardWebhook(secret, standardHeaders(headers), body);
      return check.ok ? null : check.reason;
    }
    return sameSecret(headerValue(headers, 'x-gitlab-token') ?? '', secret)
      ? null
      : 'X-Gitlab-Token does not match';
  },
  identify(headers, body) {
    // webhook-id equals Idempotency-Key (GitLab ≥ 17.4), both stable across retries. Older GitLab
    // sends neither: the body hash still makes an identical resend a duplicate.
    const deliveryId =
      headerValue(headers, 'webhook-id') ??
      headerValue(headers, 'idempotency-key') ??
      headerValue(headers, 'x-gitlab-event-uuid') ??
      `sha256:${createHash('sha256').update(body).digest('hex')}`;
    return { deliveryId, event: headerValue(headers, 'x-gitlab-event') };
  },
  mediaTypes: ['application/json'],
  decode: (_mediaType, body) => body.toString('utf8'),
  parse: parseGitLab,
};
