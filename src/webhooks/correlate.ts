import { isSameRequest, sameRepository } from '../runs/pull-requests.js';
import type { Run, RunStore } from '../runs/store/index.js';
import { acceptsRunIdMatch, trustedForBranchRule } from './trust.js';
import type { PullRequestChange, PullRequestFacts } from './types.js';

export { sameRepository };

/**
 * Finds the run a pull/merge request belongs to. The rules go from certain to plausible:
 *
 * 1. RUN_ID — a run id in the head branch, title or body (`run_` + 26 chars), of a run whose
 *    repository is the request's; a run without a repository only by its head branch, not from a
 *    fork (trust.ts: acceptsRunIdMatch).
 * 2. PULL_REQUEST — a run the poller (or an earlier delivery) already attached this request to:
 *    same provider, number and repository (host and URL spelling do not matter).
 * 3. BRANCH — only for an opened (or reopened) request: the one run in this repository that is talking to
 *    OpenHands (STARTING, RUNNING, AWAITING_INPUT), has no request yet and started before the
 *    request was created. Run.branch is the branch the agent starts from, so it must be the
 *    request's head (the agent pushed to it) or base (the agent branched off it), or be unset.
 *    A head match beats a base match; two candidates of the same strength are ambiguous and
 *    match nothing, since completing the wrong run is worse than completing none. Only a request
 *    from the run's own repository (no fork), by the agent's account when configured, is taken
 *    (trust.ts: trustedForBranchRule).
 */
export type MatchRule = 'RUN_ID' | 'PULL_REQUEST' | 'BRANCH';

export type Correlation = { run: Run; rule: MatchRule; detail: string } | { run: null; detail: string };

const RUN_ID = /(?<![0-9a-z])run_[0-9a-hjkmnp-tv-z]{26}(?![0-9a-z])/g;
/** Bounds the lookup when a body quotes many ids. */
const MAX_IDS = 20;

export function runIdsIn(pr: PullRequestFacts): string[] {
  const ids = [pr.headBranch, pr.title ?? '', pr.body ?? ''].flatMap((text) => text.match(RUN_ID) ?? []);
  return [...new Set(ids)].slice(0, MAX_IDS);
}

export async function correlate(
  store: RunStore,
  pr: PullRequestFacts,
  change: PullRequestChange,
  /** GITHUB_AGENT_LOGINS / GITLAB_AGENT_USERNAMES for the request's forge; empty: any author. */
  agentLogins: readonly string[] = [],
): Promise<Correlation> {
  const notes: string[] = [];

  const ids = runIdsIn(pr);
  if (ids.length > 0) {
    const runs = await store.findRuns(ids);
    for (const id of ids) {
      const run = runs.find((r) => r.id === id);
      if (run && acceptsRunIdMatch(run, pr))
        return { run, rule: 'RUN_ID', detail: `run id ${id} in the pull request` };
    }
    notes.push(`run ids ${ids.join(', ')} name no run of ${pr.repository}`);
  }

  const attached = await store.findRunsWithPullRequest(pr.provider, pr.number, 50);
  const seen = attached.find((run) => isSameRequest(run, pr));
  if (seen) return { run: seen, rule: 'PULL_REQUEST', detail: 'pull request already attached to the run' };

  if (change === 'OPENED' || change === 'REOPENED') {
    const byBranch = await matchByBranch(store, pr, agentLogins);
    if ('run' in byBranch) return byBranch;
    notes.push(byBranch.note);
  } else {
    notes.push('not an opening, so no branch match');
  }
  return { run: null, detail: `no run matched: ${notes.join('; ')}` };
}

async function matchByBranch(
  store: RunStore,
  pr: PullRequestFacts,
  agentLogins: readonly string[],
): Promise<{ run: Run; rule: 'BRANCH'; detail: string } | { note: string }> {
  const active = await store.findActiveRunsWithoutPullRequest(pr.repository, 50);
  const trusted = active.filter((run) => trustedForBranchRule(run, pr, agentLogins));
  if (active.length > 0 && trusted.length === 0) {
    const from = `${pr.headRepository ?? 'an unknown repository'} by ${pr.author ?? 'an unknown author'}`;
    return { note: `a request from ${from} is not trusted for the branch rule` };
  }
  const candidates = trusted.filter(
    (run) => !pr.createdAt || !run.startedAt || run.startedAt <= pr.createdAt,
  );
  const head = candidates.filter((run) => run.branch === pr.headBranch);
  const base = candidates.filter(
    (run) => run.branch === null || (pr.baseBranch !== null && run.branch === pr.baseBranch),
  );
  for (const [group, how] of [
    [head, `head branch ${pr.headBranch}`],
    [base, `base branch ${pr.baseBranch ?? '(unknown)'}`],
  ] as const) {
    if (group.length === 1)
      return { run: group[0], rule: 'BRANCH', detail: `only active run of ${pr.repository} on ${how}` };
    if (group.length > 1)
      return { note: `${group.length} active runs of ${pr.repository} match the ${how}: ambiguous` };
  }
  return { note: `no active run of ${pr.repository} without a pull request` };
}
