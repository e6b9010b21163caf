import { verifyGitHubSignature } from './signatures.js';
import {
  headerValue,
  object,
  optionalDate,
  optionalText,
  type ParsedDelivery,
  PayloadError,
  type PullRequestChange,
  positiveInt,
  text,
  type WebhookSource,
} from './types.js';

/** `pull_request` actions this service acts on (`closed` is split on `merged`); others are ignored. */
const CHANGES: Record<string, PullRequestChange | undefined> = {
  opened: 'OPENED',
  ready_for_review: 'OPENED',
  reopened: 'REOPENED',
  synchronize: 'PUSHED',
};

/** Reads a verified GitHub delivery: `ping`, a `pull_request` change, or something ignored. */
export function parseGitHub(
  event: string,
  payload: unknown,
): { action: string | null; parsed: ParsedDelivery } {
  const body = object(payload, 'payload');
  const action = typeof body.action === 'string' ? body.action : null;
  if (event === 'ping') return { action, parsed: { kind: 'ping' } };
  if (event !== 'pull_request')
    return { action, parsed: { kind: 'ignored', reason: `event ${event} is not used` } };
  if (!action) throw new PayloadError('pull_request payload has no action');

  const pr = object(body.pull_request, 'pull_request');
  const head = object(pr.head, 'pull_request.head');
  const base = pr.base === undefined ? {} : object(pr.base, 'pull_request.base');
  const repository = object(body.repository, 'repository');
  // head.repo is null when the fork was deleted; user is the request's author.
  const headRepo =
    head.repo === undefined || head.repo === null ? {} : object(head.repo, 'pull_request.head.repo');
  const user = pr.user === undefined || pr.user === null ? {} : object(pr.user, 'pull_request.user');
  const merged = pr.merged === true;
  const change = action === 'closed' ? (merged ? 'MERGED' : 'CLOSED') : CHANGES[action];
  if (!change)
    return { action, parsed: { kind: 'ignored', reason: `pull_request action ${action} is not used` } };
  return {
    action,
    parsed: {
      kind: 'pull_request',
      change,
      pr: {
        provider: 'GITHUB',
        repository: text(repository.full_name, 'repository.full_name'),
        number: positiveInt(pr.number ?? body.number, 'pull_request.number'),
        url: text(pr.html_url, 'pull_request.html_url'),
        title: optionalText(pr.title, 'pull_request.title'),
        body: optionalText(pr.body, 'pull_request.body'),
        headBranch: text(head.ref, 'pull_request.head.ref'),
        headRepository: optionalText(headRepo.full_name, 'pull_request.head.repo.full_name'),
        author: optionalText(user.login, 'pull_request.user.login'),
        headSha: optionalText(head.sha, 'pull_request.head.sha'),
        baseBranch: optionalText(base.ref, 'pull_request.base.ref'),
        state: merged ? 'MERGED' : pr.state === 'closed' ? 'CLOSED' : 'OPEN',
        createdAt: optionalDate(pr.created_at),
      },
    },
  };
}

export const github: WebhookSource = {
  provider: 'GITHUB',
  secretVariable: 'GITHUB_WEBHOOK_SECRET',
  eventHeader: 'X-GitHub-Event',
  deliveryHeader: 'X-GitHub-Delivery',
  missingCredentials: (headers) =>
    headerValue(headers, 'x-hub-signature-256') ? null : 'X-Hub-Signature-256 header is missing',
  verify: (secret, headers, body) =>
    verifyGitHubSignature(secret, body, headerValue(headers, 'x-hub-signature-256'))
      ? null
      : 'X-Hub-Signature-256 does not match the body',
  identify: (headers) => ({
    deliveryId: headerValue(headers, 'x-github-delivery'),
    event: headerValue(headers, 'x-github-event'),
  }),
  // GitHub offers both content types; the signature covers the raw body either way.
  mediaTypes: ['application/json', 'application/x-www-form-urlencoded'],
  decode(mediaType, body) {
    if (mediaType === 'application/json') return body.toString('utf8');
    const payload = new URLSearchParams(body.toString('utf8')).get('payload');
    if (payload === null) throw new PayloadError('form-encoded body has no payload field');
    return payload;
  },
  parse: parseGitHub,
};
