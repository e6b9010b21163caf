import { randomUUID } from 'node:crypto';
import { describe, expect } from 'vitest';
import { test as fixtures } from '../support/fixtures.js';
import type { RunningService } from '../support/service.js';
import { deliveries, nextNumber, readRun, startWebhookRun } from '../support/webhook-runs.js';
import {
  GITLAB_SIGNING_TOKEN,
  GITLAB_TOKEN,
  mergeRequestPayload,
  postGitLab,
  standardSignature,
} from '../support/webhooks.js';

const REPO = 'platform/tools/widgets';

const test = fixtures
  /** Same database, GitLab signing token instead of the shared token; its poller stays off. */
  .extend('signed', { scope: 'file' }, ({ launch }) =>
    launch({ GITLAB_WEBHOOK_SECRET: GITLAB_SIGNING_TOKEN, POLLER_ENABLED: 'false' }),
  )
  /** Same database, GITLAB_AGENT_USERNAMES set; its poller stays off. */
  .extend('withAgents', { scope: 'file' }, ({ launch }) =>
    launch({
      GITLAB_WEBHOOK_SECRET: GITLAB_TOKEN,
      GITLAB_AGENT_USERNAMES: 'oh-bot',
      POLLER_ENABLED: 'false',
    }),
  );
test.override({
  simulatorOptions: { apiVersion: 'v1' },
  serviceEnv: { OPENHANDS_API_VERSION: 'auto', GITLAB_WEBHOOK_SECRET: GITLAB_TOKEN },
});

describe('GitLab webhooks', () => {
  describe('with the shared token (X-Gitlab-Token)', () => {
    let runId: string;
    const iid = nextNumber();
    const shape = () => ({ repository: REPO, iid, sourceBranch: `openhands/${runId}` });
    const openId = randomUUID();

    test.beforeAll(async ({ service }) => {
      runId = await startWebhookRun(service, { repository: REPO });
    });

    test('open → the run is COMPLETED with the merge request', async ({ service }) => {
      const res = await postGitLab(service, mergeRequestPayload({ action: 'open', ...shape() }), {
        deliveryId: openId,
      });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        ok: true,
        provider: 'GITLAB',
        outcome: 'COMPLETED_RUN',
        runId,
        event: 'Merge Request Hook',
        action: 'open',
      });
      const run = await readRun(service, runId);
      expect(run).toMatchObject({ status: 'COMPLETED', percent: 100 });
      expect(run.pullRequest).toEqual({
        provider: 'GITLAB',
        url: `https://gitlab.example.com/${REPO}/-/merge_requests/${iid}`,
        number: iid,
        state: 'OPEN',
        headBranch: `openhands/${runId}`,
        headSha: 'da1560886d4f094c3e6c9ef40349f7d38b5d27d7',
      });
      expect(run.events.at(-1)).toMatchObject({ type: 'PULL_REQUEST', status: 'COMPLETED' });
    });

    test('a redelivery with the same Idempotency-Key changes nothing', async ({ service }) => {
      const before = await readRun(service, runId);
      const res = await postGitLab(service, mergeRequestPayload({ action: 'open', ...shape() }), {
        deliveryId: openId,
      });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ duplicate: true, outcome: 'COMPLETED_RUN' });
      expect((await readRun(service, runId)).events).toEqual(before.events);
      expect(await deliveries(service, 'GITLAB', openId)).toHaveLength(1);
    });

    test('update without new commits is ignored; update with commits records the new head', async ({
      service,
    }) => {
      const edit = await postGitLab(service, mergeRequestPayload({ action: 'update', ...shape() }));
      expect(edit.status).toBe(202);
      expect(edit.body).toMatchObject({ outcome: 'IGNORED' });

      const sha = 'b'.repeat(40);
      const push = await postGitLab(
        service,
        mergeRequestPayload({
          action: 'update',
          ...shape(),
          lastCommit: sha,
          oldrev: 'da1560886d4f094c3e6c9ef40349f7d38b5d27d7',
        }),
      );
      expect(push.body).toMatchObject({ outcome: 'UPDATED_PULL_REQUEST', runId });
      const run = await readRun(service, runId);
      expect(run.pullRequest.headSha).toBe(sha);
      expect(run.events.at(-1)).toMatchObject({ type: 'PULL_REQUEST_UPDATED' });
    });

    test('merge → MERGED on the completed run', async ({ service }) => {
      const res = await postGitLab(service, mergeRequestPayload({ action: 'merge', ...shape() }));
      expect(res.body).toMatchObject({ outcome: 'UPDATED_PULL_REQUEST', runId });
      const run = await readRun(service, runId);
      expect(run).toMatchObject({ status: 'COMPLETED', phase: 'Pull request merged' });
      expect(run.pullRequest.state).toBe('MERGED');
    });

    test('close → CLOSED; reopen → OPEN', async ({ service }) => {
      const other = await startWebhookRun(service, { repository: REPO });
      const mr = {
        repository: REPO,
        iid: nextNumber(),
        sourceBranch: 'agent/fix',
        description: `Done for ${other}`,
      };
      expect((await postGitLab(service, mergeRequestPayload({ action: 'open', ...mr }))).body).toMatchObject({
        outcome: 'COMPLETED_RUN',
        runId: other,
      });
      expect((await postGitLab(service, mergeRequestPayload({ action: 'close', ...mr }))).body.outcome).toBe(
        'UPDATED_PULL_REQUEST',
      );
      expect((await readRun(service, other)).pullRequest.state).toBe('CLOSED');
      expect((await postGitLab(service, mergeRequestPayload({ action: 'reopen', ...mr }))).body.outcome).toBe(
        'UPDATED_PULL_REQUEST',
      );
      const run = await readRun(service, other);
      expect(run.pullRequest.state).toBe('OPEN');
      expect(run.status).toBe('COMPLETED');
    });

    test('refuses a wrong or missing token, and nothing changes', async ({ service }) => {
      const victim = await startWebhookRun(service, { repository: 'platform/tools/guarded' });
      const payload = mergeRequestPayload({
        action: 'open',
        repository: 'platform/tools/guarded',
        iid: nextNumber(),
        sourceBranch: `openhands/${victim}`,
      });
      const wrong = await postGitLab(service, payload, { token: 'gl-webhook-token-for-testz' });
      expect(wrong.status).toBe(401);
      expect(wrong.body).toEqual({
        error: { code: 'UNAUTHENTICATED', message: 'X-Gitlab-Token does not match' },
      });
      const missing = await postGitLab(service, payload, { token: null });
      expect(missing.status).toBe(401);
      const run = await readRun(service, victim);
      expect(run.status).toBe('RUNNING');
      expect(run.pullRequest).toBeNull();
    });

    test('acknowledges other hooks with 202', async ({ service }) => {
      const res = await postGitLab(
        service,
        { object_kind: 'push', ref: 'refs/heads/main' },
        { event: 'Push Hook' },
      );
      expect(res.status).toBe(202);
      expect(res.body.outcome).toBe('IGNORED');
    });

    test('records an unmatched merge request', async ({ service }) => {
      const res = await postGitLab(
        service,
        mergeRequestPayload({ action: 'open', repository: 'nobody/knows/this', iid: 1, sourceBranch: 'x' }),
      );
      expect(res.status).toBe(202);
      expect(res.body.outcome).toBe('UNMATCHED');
      const [row] = await deliveries(service, 'GITLAB', res.body.deliveryId);
      expect(row).toMatchObject({ outcome: 'UNMATCHED', runId: null });
    });
  });

  describe('branch rule trust', () => {
    test("does not complete a run with a stranger's merge request from a fork against the run's branch", async ({
      service,
    }) => {
      const repository = 'platform/tools/forked';
      const runId = await startWebhookRun(service, { repository, branch: 'main' });
      const res = await postGitLab(
        service,
        mergeRequestPayload({
          action: 'open',
          repository,
          iid: nextNumber(),
          sourceBranch: 'main',
          targetBranch: 'main',
          description: null,
          fork: { id: 99, path: 'stranger/forked' },
          username: 'stranger',
        }),
      );
      expect(res.status, JSON.stringify(res.body)).toBe(202);
      expect(res.body).toMatchObject({ outcome: 'UNMATCHED', runId: null });
      expect(res.body.detail).toContain('stranger/forked by stranger is not trusted');
      expect((await readRun(service, runId)).status).toBe('RUNNING');
    });

    test('with GITLAB_AGENT_USERNAMES, takes only a merge request opened by an agent account', async ({
      service,
      withAgents,
    }) => {
      const repository = 'platform/tools/agents';
      const runId = await startWebhookRun(service, { repository, branch: 'main' });
      const open = (username: string) =>
        postGitLab(
          withAgents,
          mergeRequestPayload({
            action: 'open',
            repository,
            iid: nextNumber(),
            sourceBranch: 'fix',
            targetBranch: 'main',
            description: null,
            username,
          }),
        );
      const byMember = await open('a-member');
      expect(byMember.body).toMatchObject({ outcome: 'UNMATCHED', runId: null });
      expect((await readRun(service, runId)).status).toBe('RUNNING');
      const byAgent = await open('OH-Bot');
      expect(byAgent.body).toMatchObject({ outcome: 'COMPLETED_RUN', runId });
    });
  });

  describe('with a signing token (Standard Webhooks)', () => {
    let runId: string;
    let payload: Record<string, unknown>;

    test.beforeAll(async ({ service }) => {
      // Started through the polling service so the run is RUNNING on the simulator.
      runId = await startWebhookRun(service, { repository: 'platform/tools/signed' });
      payload = mergeRequestPayload({
        action: 'open',
        repository: 'platform/tools/signed',
        iid: nextNumber(),
        sourceBranch: `openhands/${runId}`,
      });
    });

    async function unchanged(signed: RunningService) {
      const run = await readRun(signed, runId);
      expect(run.status).toBe('RUNNING');
      expect(run.pullRequest).toBeNull();
    }

    test('refuses an expired timestamp, even with a valid signature', async ({ signed }) => {
      const res = await postGitLab(signed, payload, {
        signingToken: GITLAB_SIGNING_TOKEN,
        timestamp: Math.floor(Date.now() / 1000) - 600,
      });
      expect(res.status).toBe(401);
      expect(res.body.error.message).toContain('replay window');
      await unchanged(signed);
    });

    test('refuses a timestamp far in the future', async ({ signed }) => {
      const res = await postGitLab(signed, payload, {
        signingToken: GITLAB_SIGNING_TOKEN,
        timestamp: Math.floor(Date.now() / 1000) + 600,
      });
      expect(res.status).toBe(401);
      await unchanged(signed);
    });

    test('refuses a tampered body, a wrong key and a missing signature', async ({ signed }) => {
      const tampered = await postGitLab(signed, payload, {
        signingToken: GITLAB_SIGNING_TOKEN,
        sendBody: JSON.stringify({ ...payload, labels: [1] }),
      });
      expect(tampered.status).toBe(401);
      const otherKey = `whsec_${Buffer.from('another key of thirty-two bytes!').toString('base64')}`;
      const wrongKey = await postGitLab(signed, payload, { signingToken: otherKey });
      expect(wrongKey.status).toBe(401);
      expect(wrongKey.body.error.message).toContain('does not match');
      // The signing token sent as a plain X-Gitlab-Token is no substitute for a signature.
      const tokenOnly = await postGitLab(signed, payload, { token: GITLAB_SIGNING_TOKEN });
      expect(tokenOnly.status).toBe(401);
      expect(tokenOnly.body.error.message).toContain('webhook-signature');
      await unchanged(signed);
    });

    test('accepts a valid signature (among others, as during key rotation) and completes the run', async ({
      signed,
    }) => {
      const id = randomUUID();
      const timestamp = Math.floor(Date.now() / 1000);
      const valid = standardSignature(GITLAB_SIGNING_TOKEN, id, timestamp, JSON.stringify(payload));
      const res = await postGitLab(signed, payload, {
        signingToken: GITLAB_SIGNING_TOKEN,
        deliveryId: id,
        timestamp,
        signature: `v1,${Buffer.alloc(32).toString('base64')} ${valid}`,
      });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ outcome: 'COMPLETED_RUN', runId, deliveryId: id });
      const run = await readRun(signed, runId);
      expect(run.status).toBe('COMPLETED');
      expect(run.pullRequest).toMatchObject({ provider: 'GITLAB', state: 'OPEN' });

      // A replay inside the window carries the same webhook-id: a duplicate.
      const again = await postGitLab(signed, payload, {
        signingToken: GITLAB_SIGNING_TOKEN,
        deliveryId: id,
        timestamp,
      });
      expect(again.body).toMatchObject({ duplicate: true });
    });

    test('merge and close arrive signed too', async ({ signed }) => {
      const iid = (payload.object_attributes as { iid: number }).iid;
      const shape = { repository: 'platform/tools/signed', iid, sourceBranch: `openhands/${runId}` };
      const merged = await postGitLab(signed, mergeRequestPayload({ action: 'merge', ...shape }), {
        signingToken: GITLAB_SIGNING_TOKEN,
      });
      expect(merged.body.outcome).toBe('UPDATED_PULL_REQUEST');
      expect((await readRun(signed, runId)).pullRequest.state).toBe('MERGED');
      const closed = await postGitLab(signed, mergeRequestPayload({ action: 'close', ...shape }), {
        signingToken: GITLAB_SIGNING_TOKEN,
      });
      expect(closed.body.outcome).toBe('UNCHANGED');
    });
  });
});
