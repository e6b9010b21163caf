import { sameRepository } from '../runs/pull-requests.js';
import type { Run } from '../runs/store/index.js';
import type { PullRequestFacts } from './types.js';

/**
 * Which signed pull/merge requests may complete a run. A valid signature only proves the forge
 * sent the delivery, not that the agent opened the request: anyone may open a pull request from a
 * fork against a public repository. So the weaker rules take only requests the agent could have
 * made. Pure functions, so correlation can call them wherever it reads its candidates.
 */

/** "a, B ,c" → ["a", "b", "c"]: the accounts the agent pushes as, compared case-insensitively. */
export function parseAccounts(raw: string | undefined): string[] {
  return (raw ?? '')
    .split(',')
    .map((account) => account.trim().toLowerCase())
    .filter(Boolean);
}

/** Whether the request's head branch lives in the repository it targets (not a fork). */
function headInOwnRepository(pr: PullRequestFacts, repository: string): boolean {
  return (
    pr.headRepository !== null &&
    sameRepository(pr.headRepository, repository) &&
    sameRepository(pr.repository, repository)
  );
}

/**
 * The branch rule guesses from a branch name, so it takes only a request whose head is in the
 * run's own repository and, when the agent's accounts are configured (GITHUB_AGENT_LOGINS,
 * GITLAB_AGENT_USERNAMES), one opened by such an account. An unknown head repository or author
 * is not trusted.
 */
export function trustedForBranchRule(
  run: Pick<Run, 'repository'>,
  pr: PullRequestFacts,
  agentLogins: readonly string[],
): boolean {
  if (!run.repository || !headInOwnRepository(pr, run.repository)) return false;
  if (agentLogins.length === 0) return true;
  const author = pr.author?.toLowerCase();
  return author !== undefined && agentLogins.some((login) => login.toLowerCase() === author);
}

function namesRunInHeadBranch(runId: string, pr: PullRequestFacts): boolean {
  const escaped = runId.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(?<![0-9a-z])${escaped}(?![0-9a-z])`).test(pr.headBranch);
}

/**
 * Whether a request naming this run's id may be the run's. A run with a repository takes only
 * requests to that repository (the agent's run marker may be in the title or body). A run
 * without one could otherwise be claimed by a request anywhere that quotes its id, so it takes
 * only a request whose head branch names the run and lives in the repository it targets.
 */
export function acceptsRunIdMatch(run: Pick<Run, 'id' | 'repository'>, pr: PullRequestFacts): boolean {
  if (run.repository) return sameRepository(run.repository, pr.repository);
  return headInOwnRepository(pr, pr.repository) && namesRunInHeadBranch(run.id, pr);
}
