import { createHmac, randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { sign } from '@octokit/webhooks-methods';
import type { RunningService } from './service.js';

/** The real payloads GitHub documents, as published in @octokit/webhooks-examples. */
interface Definition {
  name: string;
  examples: Array<Record<string, any>>;
}
const definitions = createRequire(import.meta.url)('@octokit/webhooks-examples') as Definition[];

export function githubExample(event: string, action?: string): Record<string, any> {
  const definition = definitions.find((d) => d.name === event);
  const example = definition?.examples.find((e) => action === undefined || e.action === action);
  if (!example)
    throw new Error(`no ${event}${action ? `.${action}` : ''} example in @octokit/webhooks-examples`);
  return structuredClone(example);
}

export interface PullRequestShape {
  repository: string;
  number: number;
  headRef: string;
  baseRef?: string;
  body?: string | null;
  headSha?: string;
  createdAt?: string;
  /** The head branch's repository: a fork's "owner/repo", or null (a deleted fork). Default: `repository`. */
  headRepository?: string | null;
  /** pull_request.user.login (the example's is "Codertocat"). */
  author?: string;
}

/**
 * A real `pull_request` example moved to our repository/branch. `merged` turns the `closed`
 * example (the package only has unmerged ones) into a merge.
 */
export function pullRequestPayload(
  action: string,
  shape: PullRequestShape,
  merged = false,
): Record<string, any> {
  const payload = githubExample('pull_request', action === 'merged' ? 'closed' : action);
  const [owner, name] = shape.repository.split('/');
  const pr = payload.pull_request;
  payload.number = shape.number;
  payload.repository.full_name = shape.repository;
  payload.repository.name = name;
  payload.repository.owner.login = owner;
  pr.number = shape.number;
  pr.html_url = `https://github.com/${shape.repository}/pull/${shape.number}`;
  pr.head.ref = shape.headRef;
  pr.base.repo.full_name = shape.repository;
  if (shape.headRepository === null) pr.head.repo = null;
  else pr.head.repo.full_name = shape.headRepository ?? shape.repository;
  if (shape.author) pr.user.login = shape.author;
  if (shape.headSha) pr.head.sha = shape.headSha;
  if (shape.baseRef) pr.base.ref = shape.baseRef;
  if (shape.body !== undefined) pr.body = shape.body;
  pr.created_at = shape.createdAt ?? new Date().toISOString();
  if (action === 'merged' || merged) {
    pr.merged = true;
    pr.merged_at = new Date().toISOString();
    pr.state = 'closed';
  }
  return payload;
}

export interface PostOptions {
  event?: string;
  deliveryId?: string;
  secret?: string | null;
  /** Overrides the computed signature header. */
  signature?: string | null;
  contentType?: string;
  /** Sent instead of the signed body (tampering). */
  sendBody?: string;
  headers?: Record<string, string>;
}

export interface WebhookResponse {
  status: number;
  body: any;
}

async function post(url: string, body: string, headers: Record<string, string>): Promise<WebhookResponse> {
  const response = await fetch(url, { method: 'POST', headers, body });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // left as text so the assertion shows it
  }
  return { status: response.status, body: parsed };
}

/** POSTs a GitHub delivery signed by @octokit/webhooks-methods, as GitHub would. */
export async function postGitHub(
  service: RunningService,
  payload: unknown,
  options: PostOptions = {},
): Promise<WebhookResponse> {
  const body = typeof payload === 'string' ? payload : JSON.stringify(payload);
  const headers: Record<string, string> = {
    'content-type': options.contentType ?? 'application/json',
    'x-github-event': options.event ?? 'pull_request',
    'x-github-delivery': options.deliveryId ?? randomUUID(),
    'user-agent': 'GitHub-Hookshot/test',
    ...options.headers,
  };
  const secret = options.secret === undefined ? GITHUB_SECRET : options.secret;
  if (options.signature !== undefined) {
    if (options.signature !== null) headers['x-hub-signature-256'] = options.signature;
  } else if (secret !== null) {
    headers['x-hub-signature-256'] = await sign(secret, body);
  }
  return post(`${service.url}/webhooks/github`, options.sendBody ?? body, headers);
}

export const GITHUB_SECRET = 'gh-webhook-secret-for-tests';
export const GITLAB_TOKEN = 'gl-webhook-token-for-tests';
/** A Standard Webhooks signing token: whsec_ + base64 of 32 bytes. */
export const GITLAB_SIGNING_TOKEN = `whsec_${Buffer.from('0123456789abcdef0123456789abcdef').toString('base64')}`;

export interface MergeRequestShape {
  action: 'open' | 'reopen' | 'update' | 'merge' | 'close' | 'approved';
  repository: string;
  iid: number;
  sourceBranch: string;
  targetBranch?: string;
  description?: string | null;
  lastCommit?: string;
  /** Set by GitLab on `update` when commits were pushed. */
  oldrev?: string;
  createdAt?: string;
  /** A fork as the source project (another id and path); default: the target project itself. */
  fork?: { id: number; path: string };
  /** The username of the user whose action sent the delivery (default "openhands-agent"). */
  username?: string;
}

const STATE = {
  open: 'opened',
  reopen: 'opened',
  update: 'opened',
  approved: 'opened',
  merge: 'merged',
  close: 'closed',
};

/** A GitLab "Merge Request Hook" body with the fields GitLab documents for merge request events. */
export function mergeRequestPayload(shape: MergeRequestShape): Record<string, unknown> {
  const web = `https://gitlab.example.com/${shape.repository}`;
  const name = shape.repository.split('/').pop();
  const sha = shape.lastCommit ?? 'da1560886d4f094c3e6c9ef40349f7d38b5d27d7';
  const project = {
    id: 15,
    name,
    description: 'A project for tests',
    web_url: web,
    git_ssh_url: `git@gitlab.example.com:${shape.repository}.git`,
    git_http_url: `${web}.git`,
    namespace: shape.repository.split('/').slice(0, -1).join('/'),
    visibility_level: 0,
    path_with_namespace: shape.repository,
    default_branch: 'main',
    homepage: web,
    url: `git@gitlab.example.com:${shape.repository}.git`,
  };
  return {
    object_kind: 'merge_request',
    event_type: 'merge_request',
    user: {
      id: 1,
      name: 'Agent',
      username: shape.username ?? 'openhands-agent',
      avatar_url: null,
      email: '[REDACTED]',
    },
    project,
    object_attributes: {
      id: 90000 + shape.iid,
      iid: shape.iid,
      target_branch: shape.targetBranch ?? 'main',
      source_branch: shape.sourceBranch,
      source_project_id: shape.fork?.id ?? 15,
      target_project_id: 15,
      author_id: 1,
      title: 'Apply requested change',
      description: shape.description ?? 'Automated change by OpenHands',
      created_at: shape.createdAt ?? new Date().toISOString(),
      updated_at: new Date().toISOString(),
      state: STATE[shape.action],
      merge_status: 'can_be_merged',
      draft: false,
      work_in_progress: false,
      url: `${web}/-/merge_requests/${shape.iid}`,
      source: shape.fork
        ? {
            ...project,
            id: shape.fork.id,
            path_with_namespace: shape.fork.path,
            web_url: `https://gitlab.example.com/${shape.fork.path}`,
          }
        : project,
      target: project,
      last_commit: {
        id: sha,
        message: 'Apply requested change\n',
        title: 'Apply requested change',
        timestamp: new Date().toISOString(),
        url: `${web}/-/commit/${sha}`,
        author: { name: 'Agent', email: 'agent@example.com' },
      },
      ...(shape.oldrev ? { oldrev: shape.oldrev } : {}),
      action: shape.action,
    },
    labels: [],
    changes:
      shape.action === 'update'
        ? { updated_at: { previous: '2026-01-01 00:00:00 UTC', current: new Date().toISOString() } }
        : {},
    repository: { name, url: project.url, description: project.description, homepage: web },
  };
}

export interface GitLabPostOptions {
  token?: string | null;
  /** Standard Webhooks signing with this whsec_ token. */
  signingToken?: string;
  /** Unix seconds for webhook-timestamp (default now). */
  timestamp?: number;
  deliveryId?: string;
  event?: string;
  signature?: string;
  sendBody?: string;
}

/** Standard Webhooks: base64 HMAC-SHA256 over `id.timestamp.body` keyed by the decoded whsec_ secret. */
export function standardSignature(signingToken: string, id: string, timestamp: number, body: string): string {
  const key = Buffer.from(signingToken.slice('whsec_'.length), 'base64');
  return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
}

export async function postGitLab(
  service: RunningService,
  payload: unknown,
  options: GitLabPostOptions = {},
): Promise<WebhookResponse> {
  const body = JSON.stringify(payload);
  const id = options.deliveryId ?? randomUUID();
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'x-gitlab-event': options.event ?? 'Merge Request Hook',
    'x-gitlab-instance': 'https://gitlab.example.com',
    'x-gitlab-event-uuid': randomUUID(),
    'idempotency-key': id,
    'user-agent': 'GitLab/18.6.0',
  };
  if (options.signingToken) {
    const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
    headers['webhook-id'] = id;
    headers['webhook-timestamp'] = String(timestamp);
    headers['webhook-signature'] =
      options.signature ?? standardSignature(options.signingToken, id, timestamp, body);
  }
  const token = options.token === undefined ? (options.signingToken ? null : GITLAB_TOKEN) : options.token;
  if (token !== null) headers['x-gitlab-token'] = token;
  return post(`${service.url}/webhooks/gitlab`, options.sendBody ?? body, headers);
}
