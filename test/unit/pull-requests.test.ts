import { describe, expect, it } from 'vitest';
import { findPullRequests, pickPullRequest } from '../../src/runs/pull-requests.js';

describe('findPullRequests', () => {
  it('finds GitHub pull requests in command output', () => {
    const text =
      'Creating pull request for fix into main in acme/widgets\n\nhttps://github.com/acme/widgets/pull/42\n';
    expect(findPullRequests(text)).toEqual([
      {
        provider: 'GITHUB',
        url: 'https://github.com/acme/widgets/pull/42',
        number: 42,
        repository: 'acme/widgets',
      },
    ]);
  });

  it('finds GitLab merge requests, with nested group paths', () => {
    const [mr] = findPullRequests('MR: https://gitlab.com/group/sub/project/-/merge_requests/7 opened');
    expect(mr).toEqual({
      provider: 'GITLAB',
      url: 'https://gitlab.com/group/sub/project/-/merge_requests/7',
      number: 7,
      repository: 'group/sub/project',
    });
  });

  it('finds Bitbucket pull requests and self-hosted hosts with ports', () => {
    expect(findPullRequests('see https://bitbucket.org/team/repo/pull-requests/3')[0]).toMatchObject({
      provider: 'BITBUCKET',
      number: 3,
      repository: 'team/repo',
    });
    expect(findPullRequests('http://git.local:8443/o/r/pull/9')[0]).toMatchObject({
      provider: 'GITHUB',
      number: 9,
      repository: 'o/r',
    });
  });

  it('finds URLs inside JSON-encoded event text', () => {
    const event = JSON.stringify({ observation: 'mcp', content: '{"url":"https://github.com/a/b/pull/5"}' });
    expect(findPullRequests(event).map((p) => p.url)).toEqual(['https://github.com/a/b/pull/5']);
  });

  it('keeps the order of appearance across providers and drops duplicates', () => {
    const text = [
      'https://gitlab.com/g/p/-/merge_requests/2',
      'https://github.com/a/b/pull/1',
      'https://github.com/a/b/pull/1',
      'https://github.com/a/b/pull/3',
    ].join(' then ');
    expect(findPullRequests(text).map((p) => p.number)).toEqual([2, 1, 3]);
  });

  it('does not take issue links, PR lists or other pages for a pull request', () => {
    expect(
      findPullRequests('https://github.com/a/b/issues/4 https://github.com/a/b/pulls https://github.com/a/b'),
    ).toEqual([]);
    expect(findPullRequests('')).toEqual([]);
  });

  it('stops the URL at the number', () => {
    expect(findPullRequests('(https://github.com/a/b/pull/12).')[0].url).toBe(
      'https://github.com/a/b/pull/12',
    );
    expect(findPullRequests('https://github.com/a/b/pull/12/files')[0].number).toBe(12);
  });
});

describe('pickPullRequest', () => {
  const pr = (repository: string, number: number) => ({
    provider: 'GITHUB' as const,
    url: `https://github.com/${repository}/pull/${number}`,
    number,
    repository,
  });

  it('prefers the latest PR in the run’s own repository over quoted ones', () => {
    const candidates = [
      pr('acme/widgets', 1),
      pr('other/lib', 77),
      pr('acme/widgets', 2),
      pr('other/lib', 78),
    ];
    expect(pickPullRequest(candidates, 'acme/widgets')?.number).toBe(2);
    expect(pickPullRequest(candidates, 'ACME/Widgets')?.number).toBe(2);
  });

  it('takes none when the run has a repository and only foreign PRs were seen', () => {
    expect(pickPullRequest([pr('other/lib', 77)], 'acme/widgets')).toBeUndefined();
  });

  it('takes the latest when the run has no repository, and none from an empty list', () => {
    expect(pickPullRequest([pr('a/b', 1), pr('c/d', 2)], null)?.number).toBe(2);
    expect(pickPullRequest([], 'acme/widgets')).toBeUndefined();
    expect(pickPullRequest([], null)).toBeUndefined();
  });
});
