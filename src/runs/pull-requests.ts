/**
 * Pull/merge requests, the deliverable of a run: found in agent output (command output, finish
 * message, MCP results) or reported by a forge's webhook.
 */

export interface DetectedPullRequest {
  provider: 'GITHUB' | 'GITLAB' | 'BITBUCKET';
  url: string;
  number: number;
  /** "owner/repo" or the GitLab project path. */
  repository: string;
}

const PATTERNS: Array<{ provider: DetectedPullRequest['provider']; re: RegExp }> = [
  {
    provider: 'GITLAB',
    re: /https?:\/\/[\w.-]+(?::\d+)?\/((?:[\w.-]+\/)+[\w.-]+)\/-\/merge_requests\/(\d+)/g,
  },
  { provider: 'GITHUB', re: /https?:\/\/[\w.-]+(?::\d+)?\/([\w.-]+\/[\w.-]+)\/pull\/(\d+)/g },
  { provider: 'BITBUCKET', re: /https?:\/\/[\w.-]+(?::\d+)?\/([\w.-]+\/[\w.-]+)\/pull-requests\/(\d+)/g },
];

/** Every PR/MR URL in `text`, in order of appearance, without duplicates. */
export function findPullRequests(text: string): DetectedPullRequest[] {
  const found: Array<DetectedPullRequest & { at: number }> = [];
  for (const { provider, re } of PATTERNS) {
    for (const match of text.matchAll(re)) {
      const url = match[0];
      if (found.some((f) => f.url === url)) continue;
      found.push({ provider, url, number: Number(match[2]), repository: match[1], at: match.index ?? 0 });
    }
  }
  return found.sort((a, b) => a.at - b.at).map(({ at: _at, ...pr }) => pr);
}

/**
 * The PR this run opened: prefer one in the run's own repository, since agents also quote other
 * PRs (issues they read, upstream references).
 */
export function pickPullRequest(
  candidates: DetectedPullRequest[],
  repository: string | null,
): DetectedPullRequest | undefined {
  if (candidates.length === 0) return undefined;
  if (!repository) return candidates[candidates.length - 1];
  const own = candidates.filter((c) => c.repository.toLowerCase() === repository.toLowerCase());
  return own[own.length - 1];
}

export type PullRequestState = 'OPEN' | 'MERGED' | 'CLOSED';

/** What a forge delivery says happened to a pull/merge request. */
export type PullRequestChange = 'OPENED' | 'REOPENED' | 'MERGED' | 'CLOSED' | 'PUSHED';

/** A pull request as the lifecycle sees it, whoever reported it. */
export interface ReportedPullRequest {
  provider: string;
  url: string;
  number: number;
  repository: string;
  state: PullRequestState;
  headBranch: string | null;
  headSha: string | null;
  /** `openhands`: its URL was in the agent's output; `webhook`: a verified forge delivery. */
  source: 'openhands' | 'webhook';
  deliveryId?: string;
}

export function sameRepository(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/** Whether the run's attached request is this one (host and URL spelling do not matter). */
export function isSameRequest(
  run: {
    prUrl: string | null;
    prProvider: string | null;
    prNumber: number | null;
    repository: string | null;
  },
  pr: { url: string; provider: string; number: number; repository: string },
): boolean {
  if (!run.prUrl) return false;
  if (run.prUrl.toLowerCase() === pr.url.toLowerCase()) return true;
  if ((run.prProvider ?? 'GITHUB') !== pr.provider || run.prNumber !== pr.number) return false;
  const repository = findPullRequests(run.prUrl)[0]?.repository ?? run.repository;
  return repository !== null && repository !== undefined && sameRepository(repository, pr.repository);
}
