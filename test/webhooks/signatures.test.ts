import { sign } from '@octokit/webhooks-methods';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/service.js';
import { nextPullRequestState as nextState } from '../../src/runs/lifecycle.js';
import { parseGitHub } from '../../src/webhooks/github.js';
import { sameSecret, verifyGitHubSignature, verifyStandardWebhook } from '../../src/webhooks/signatures.js';
import { GITLAB_SIGNING_TOKEN, githubExample, standardSignature } from '../support/webhooks.js';

describe('signature checks', () => {
  it('GitHub: accepts what @octokit/webhooks-methods signs, refuses anything else', async () => {
    const body = JSON.stringify(githubExample('pull_request', 'opened'));
    const signature = await sign('s3cret', body);
    expect(verifyGitHubSignature('s3cret', Buffer.from(body), signature)).toBe(true);
    expect(
      verifyGitHubSignature('s3cret', Buffer.from(body), signature.toUpperCase().replace('SHA256', 'sha256')),
    ).toBe(true);
    expect(verifyGitHubSignature('other', Buffer.from(body), signature)).toBe(false);
    expect(verifyGitHubSignature('s3cret', Buffer.from(`${body} `), signature)).toBe(false);
    expect(verifyGitHubSignature('s3cret', Buffer.from(body), undefined)).toBe(false);
    expect(verifyGitHubSignature('s3cret', Buffer.from(body), signature.slice(0, -2))).toBe(false);
    expect(verifyGitHubSignature('s3cret', Buffer.from(body), signature.replace('sha256=', 'sha1='))).toBe(
      false,
    );
  });

  it('shared tokens compare equal only when identical, whatever the lengths', () => {
    expect(sameSecret('token', 'token')).toBe(true);
    expect(sameSecret('token', 'tokem')).toBe(false);
    expect(sameSecret('tok', 'token')).toBe(false);
    expect(sameSecret('', 'token')).toBe(false);
  });

  it('Standard Webhooks: signature, replay window and header presence', () => {
    const body = '{"object_kind":"merge_request"}';
    const now = 1_800_000_000;
    const headers = (
      timestamp: number,
      signature = standardSignature(GITLAB_SIGNING_TOKEN, 'msg_1', timestamp, body),
    ) => ({
      id: 'msg_1',
      timestamp: String(timestamp),
      signature,
    });
    expect(verifyStandardWebhook(GITLAB_SIGNING_TOKEN, headers(now), Buffer.from(body), now)).toEqual({
      ok: true,
    });
    expect(verifyStandardWebhook(GITLAB_SIGNING_TOKEN, headers(now - 299), Buffer.from(body), now).ok).toBe(
      true,
    );
    expect(
      verifyStandardWebhook(GITLAB_SIGNING_TOKEN, headers(now - 301), Buffer.from(body), now),
    ).toMatchObject({ ok: false, reason: expect.stringContaining('replay') });
    expect(verifyStandardWebhook(GITLAB_SIGNING_TOKEN, headers(now + 301), Buffer.from(body), now).ok).toBe(
      false,
    );
    expect(
      verifyStandardWebhook(GITLAB_SIGNING_TOKEN, { ...headers(now), id: 'msg_2' }, Buffer.from(body), now)
        .ok,
    ).toBe(false);
    expect(
      verifyStandardWebhook(
        GITLAB_SIGNING_TOKEN,
        { ...headers(now), signature: 'v2,abc' },
        Buffer.from(body),
        now,
      ).ok,
    ).toBe(false);
    expect(
      verifyStandardWebhook(
        GITLAB_SIGNING_TOKEN,
        { ...headers(now), timestamp: 'soon' },
        Buffer.from(body),
        now,
      ).ok,
    ).toBe(false);
    expect(
      verifyStandardWebhook(
        GITLAB_SIGNING_TOKEN,
        { ...headers(now), signature: undefined },
        Buffer.from(body),
        now,
      ).ok,
    ).toBe(false);
  });
});

describe('webhook configuration', () => {
  it('reads the secrets, the agent accounts and the body limit', () => {
    const config = loadConfig({
      GITHUB_WEBHOOK_SECRET: 'a',
      GITLAB_WEBHOOK_SECRET: GITLAB_SIGNING_TOKEN,
      GITHUB_AGENT_LOGINS: ' OpenHands-Agent , bot2,, ',
      GITLAB_AGENT_USERNAMES: 'OH-Bot',
      WEBHOOK_MAX_BODY_BYTES: '4096',
      WEBHOOK_RETENTION_DAYS: '7',
    });
    expect(config.webhooks).toEqual({
      githubSecret: 'a',
      gitlabSecret: GITLAB_SIGNING_TOKEN,
      githubAgentLogins: ['openhands-agent', 'bot2'],
      gitlabAgentUsernames: ['oh-bot'],
      maxBodyBytes: 4096,
      retentionDays: 7,
    });
    expect(loadConfig({}).webhooks).toEqual({
      githubSecret: undefined,
      gitlabSecret: undefined,
      githubAgentLogins: [],
      gitlabAgentUsernames: [],
      maxBodyBytes: 1024 * 1024,
      retentionDays: 30,
    });
  });

  it('refuses a malformed signing token at start-up', () => {
    expect(() => loadConfig({ GITLAB_WEBHOOK_SECRET: 'whsec_' })).toThrow(ConfigError);
    expect(() => loadConfig({ GITLAB_WEBHOOK_SECRET: 'whsec_not base64!' })).toThrow(ConfigError);
    expect(() => loadConfig({ WEBHOOK_MAX_BODY_BYTES: '10' })).toThrow(ConfigError);
  });
});

describe('pull request state', () => {
  it('MERGED is final and only a reopen reopens', () => {
    expect(nextState('OPEN', 'MERGED')).toBe('MERGED');
    expect(nextState('MERGED', 'REOPENED')).toBe('MERGED');
    expect(nextState('MERGED', 'CLOSED')).toBe('MERGED');
    expect(nextState('CLOSED', 'OPENED')).toBe('CLOSED');
    expect(nextState('CLOSED', 'REOPENED')).toBe('OPEN');
    expect(nextState('OPEN', 'PUSHED')).toBe('OPEN');
  });

  it('reads every pull_request example GitHub publishes without error', () => {
    for (const action of [
      'opened',
      'reopened',
      'ready_for_review',
      'closed',
      'synchronize',
      'labeled',
      'assigned',
    ]) {
      const { parsed } = parseGitHub('pull_request', githubExample('pull_request', action));
      expect(parsed.kind).toBe(['labeled', 'assigned'].includes(action) ? 'ignored' : 'pull_request');
    }
  });
});
