import { describe, expect, it } from 'vitest';
import { parseGitHub } from '../../src/webhooks/github.js';
import { parseGitLab } from '../../src/webhooks/gitlab.js';
import { acceptsRunIdMatch, parseAccounts, trustedForBranchRule } from '../../src/webhooks/trust.js';
import type { PullRequestFacts } from '../../src/webhooks/types.js';
import { mergeRequestPayload, pullRequestPayload } from '../support/webhooks.js';

const RUN_ID = 'run_0000000000abcdefghjkmnpqrs';

function pr(patch: Partial<PullRequestFacts> = {}): PullRequestFacts {
  return {
    provider: 'GITHUB',
    repository: 'acme/widgets',
    number: 1,
    url: 'https://github.com/acme/widgets/pull/1',
    title: null,
    body: null,
    headBranch: 'fix',
    headRepository: 'acme/widgets',
    author: 'openhands-agent',
    headSha: null,
    baseBranch: 'main',
    state: 'OPEN',
    createdAt: null,
    ...patch,
  };
}

describe('trustedForBranchRule', () => {
  const run = { repository: 'Acme/Widgets' };

  it('takes a request from the run’s own repository (any case) when no agent account is configured', () => {
    expect(trustedForBranchRule(run, pr(), [])).toBe(true);
  });

  it('refuses a fork, an unknown head repository, and a run without a repository', () => {
    expect(trustedForBranchRule(run, pr({ headRepository: 'stranger/widgets' }), [])).toBe(false);
    expect(trustedForBranchRule(run, pr({ headRepository: null }), [])).toBe(false);
    expect(trustedForBranchRule({ repository: null }, pr(), [])).toBe(false);
  });

  it('with agent accounts, takes only their requests, case-insensitively', () => {
    const agents = parseAccounts('Bot-One, OpenHands-Agent');
    expect(trustedForBranchRule(run, pr({ author: 'OPENHANDS-AGENT' }), agents)).toBe(true);
    expect(trustedForBranchRule(run, pr({ author: 'a-member' }), agents)).toBe(false);
    expect(trustedForBranchRule(run, pr({ author: null }), agents)).toBe(false);
  });
});

describe('acceptsRunIdMatch', () => {
  it('a run with a repository takes a request to that repository, wherever the id is', () => {
    const run = { id: RUN_ID, repository: 'acme/widgets' };
    expect(acceptsRunIdMatch(run, pr({ body: RUN_ID }))).toBe(true);
    expect(acceptsRunIdMatch(run, pr({ repository: 'acme/other', body: RUN_ID }))).toBe(false);
  });

  it('a run without a repository takes only its id in a head branch of the target repository', () => {
    const run = { id: RUN_ID, repository: null };
    expect(acceptsRunIdMatch(run, pr({ headBranch: `openhands/${RUN_ID}` }))).toBe(true);
    expect(acceptsRunIdMatch(run, pr({ body: RUN_ID }))).toBe(false);
    expect(acceptsRunIdMatch(run, pr({ title: RUN_ID }))).toBe(false);
    expect(
      acceptsRunIdMatch(run, pr({ headBranch: `openhands/${RUN_ID}`, headRepository: 'stranger/widgets' })),
    ).toBe(false);
    expect(acceptsRunIdMatch(run, pr({ headBranch: `openhands/${RUN_ID}`, headRepository: null }))).toBe(
      false,
    );
    expect(acceptsRunIdMatch(run, pr({ headBranch: `openhands/${RUN_ID}x` }))).toBe(false);
  });
});

describe('parsers report the head repository and the author', () => {
  it('GitHub: head.repo.full_name and user.login; a deleted fork has no head repository', () => {
    const shape = { repository: 'acme/widgets', number: 3, headRef: 'fix' };
    const own = parseGitHub('pull_request', pullRequestPayload('opened', { ...shape, author: 'oh-bot' }));
    expect(own.parsed).toMatchObject({ pr: { headRepository: 'acme/widgets', author: 'oh-bot' } });
    const fork = parseGitHub(
      'pull_request',
      pullRequestPayload('opened', { ...shape, headRepository: 'x/y' }),
    );
    expect(fork.parsed).toMatchObject({ pr: { headRepository: 'x/y' } });
    const gone = parseGitHub(
      'pull_request',
      pullRequestPayload('opened', { ...shape, headRepository: null }),
    );
    expect(gone.parsed).toMatchObject({ pr: { headRepository: null } });
  });

  it('GitLab: the target project unless source_project_id differs; user.username', () => {
    const shape = { action: 'open' as const, repository: 'g/s/p', iid: 3, sourceBranch: 'fix' };
    const own = parseGitLab('Merge Request Hook', mergeRequestPayload({ ...shape, username: 'oh-bot' }));
    expect(own.parsed).toMatchObject({ pr: { headRepository: 'g/s/p', author: 'oh-bot' } });
    const fork = parseGitLab(
      'Merge Request Hook',
      mergeRequestPayload({ ...shape, fork: { id: 99, path: 'x/p' } }),
    );
    expect(fork.parsed).toMatchObject({ pr: { headRepository: 'x/p' } });
    // A fork claiming the target's path is still another project.
    const spoof = parseGitLab(
      'Merge Request Hook',
      mergeRequestPayload({ ...shape, fork: { id: 99, path: 'g/s/p' } }),
    );
    expect(spoof.parsed).toMatchObject({ pr: { headRepository: null } });
  });
});
