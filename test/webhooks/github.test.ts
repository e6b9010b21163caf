import { randomUUID } from 'node:crypto';
import { request } from 'node:http';
import { sign } from '@octokit/webhooks-methods';
import { describe, expect } from 'vitest';
import { fixturesWith, test } from '../support/fixtures.js';
import { gql, START_RUN, waitFor, waitForStatus } from '../support/graphql.js';
import { collectWs, wsClient } from '../support/live.js';
import type { RunningService } from '../support/service.js';
import { deliveries, nextNumber, readRun, startWebhookRun } from '../support/webhook-runs.js';
import { GITHUB_SECRET, githubExample, postGitHub, pullRequestPayload } from '../support/webhooks.js';

test.override({
  simulatorOptions: { apiVersion: 'v1' },
  serviceEnv: {
    OPENHANDS_API_VERSION: 'auto',
    GITHUB_WEBHOOK_SECRET: GITHUB_SECRET,
    WEBHOOK_MAX_BODY_BYTES: '200000',
  },
});

// Files of their own: a service with no webhook secrets, and one that trusts only agent accounts.
const withoutSecrets = fixturesWith({ serviceEnv: { POLLER_ENABLED: 'false' } });
const withAgentLogins = fixturesWith({
  simulatorOptions: { apiVersion: 'v1' },
  serviceEnv: {
    OPENHANDS_API_VERSION: 'auto',
    GITHUB_WEBHOOK_SECRET: GITHUB_SECRET,
    GITHUB_AGENT_LOGINS: 'someone-else, OpenHands-Agent',
  },
});

describe('GitHub webhooks', () => {
  describe('opened, redelivered, updated, merged, closed', () => {
    let runId: string;
    const number = nextNumber();
    const repository = 'acme/widgets';
    const shape = () => ({ repository, number, headRef: `openhands/${runId}` });
    const opened = randomUUID();

    test.beforeAll(async ({ service }) => {
      runId = await startWebhookRun(service, { repository, branch: 'main' });
    });

    test('opened → the run is COMPLETED with the pull request', async ({ service }) => {
      const started = Date.now();
      const res = await postGitHub(service, pullRequestPayload('opened', shape()), { deliveryId: opened });
      expect(Date.now() - started).toBeLessThan(2000); // GitHub gives up after 10 s
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        ok: true,
        outcome: 'COMPLETED_RUN',
        runId,
        duplicate: false,
        deliveryId: opened,
      });

      const run = await readRun(service, runId);
      expect(run.status).toBe('COMPLETED');
      expect(run.percent).toBe(100);
      expect(run.finishedAt).toBeTruthy();
      expect(run.pullRequest).toEqual({
        provider: 'GITHUB',
        url: `https://github.com/${repository}/pull/${number}`,
        number,
        state: 'OPEN',
        headBranch: `openhands/${runId}`,
        headSha: 'ec26c3e57ca3a959ca5aad62de7213c562f8c821',
      });
      const last = run.events.at(-1)!;
      expect(last).toMatchObject({
        type: 'PULL_REQUEST',
        status: 'COMPLETED',
        percent: 100,
        phase: 'Pull request opened',
      });
      expect(last.data).toMatchObject({ source: 'webhook', deliveryId: opened, number, state: 'OPEN' });

      const [row] = await deliveries(service, 'GITHUB', opened);
      expect(row).toMatchObject({ event: 'pull_request', action: 'opened', runId, outcome: 'COMPLETED_RUN' });
      expect(row.data).toMatchObject({ matchedBy: 'RUN_ID' });
    });

    test('a redelivery of the same id is acknowledged and changes nothing', async ({ service }) => {
      const before = await readRun(service, runId);
      const res = await postGitHub(service, pullRequestPayload('opened', shape()), { deliveryId: opened });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ ok: true, duplicate: true, outcome: 'COMPLETED_RUN', runId });
      const after = await readRun(service, runId);
      expect(after.events).toEqual(before.events);
      expect(await deliveries(service, 'GITHUB', opened)).toHaveLength(1);
    });

    test('another delivery saying the same thing (ready_for_review) leaves the run as one would', async ({
      service,
    }) => {
      const before = await readRun(service, runId);
      const res = await postGitHub(service, pullRequestPayload('ready_for_review', shape()));
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ outcome: 'UNCHANGED', duplicate: false, runId });
      const after = await readRun(service, runId);
      expect(after.events).toHaveLength(before.events.length);
      expect(after.pullRequest).toEqual(before.pullRequest);
    });

    test('synchronize → an event and the new head sha', async ({ service }) => {
      const sha = 'a'.repeat(40);
      const res = await postGitHub(service, pullRequestPayload('synchronize', { ...shape(), headSha: sha }));
      expect(res.body).toMatchObject({ outcome: 'UPDATED_PULL_REQUEST', runId });
      const run = await readRun(service, runId);
      expect(run.status).toBe('COMPLETED');
      expect(run.pullRequest).toMatchObject({ state: 'OPEN', headSha: sha });
      expect(run.events.at(-1)).toMatchObject({ type: 'PULL_REQUEST_UPDATED', status: 'COMPLETED' });
    });

    test('closed with merged: true → MERGED on the completed run, with an event', async ({ service }) => {
      const res = await postGitHub(service, pullRequestPayload('merged', shape()));
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ outcome: 'UPDATED_PULL_REQUEST', runId, action: 'closed' });
      const run = await readRun(service, runId);
      expect(run).toMatchObject({ status: 'COMPLETED', percent: 100, phase: 'Pull request merged' });
      expect(run.pullRequest.state).toBe('MERGED');
      expect(run.events.at(-1)).toMatchObject({
        type: 'PULL_REQUEST',
        message: expect.stringContaining('merged'),
      });
    });

    test('a merged request stays MERGED whatever arrives later', async ({ service }) => {
      const before = await readRun(service, runId);
      for (const action of ['reopened', 'closed', 'opened']) {
        const res = await postGitHub(service, pullRequestPayload(action, shape()));
        expect(res.body.outcome).toBe('UNCHANGED');
      }
      const after = await readRun(service, runId);
      expect(after.pullRequest.state).toBe('MERGED');
      expect(after.events).toHaveLength(before.events.length);
    });
  });

  test('closed without merging → CLOSED; reopened → OPEN', async ({ service }) => {
    const runId = await startWebhookRun(service, { repository: 'acme/closing' });
    const shape = {
      repository: 'acme/closing',
      number: nextNumber(),
      headRef: 'fix/thing',
      body: `Automated change for ${runId}.`,
    };
    expect((await postGitHub(service, pullRequestPayload('opened', shape))).body.outcome).toBe(
      'COMPLETED_RUN',
    );
    const closed = await postGitHub(service, pullRequestPayload('closed', shape));
    expect(closed.body).toMatchObject({ outcome: 'UPDATED_PULL_REQUEST', runId });
    let run = await readRun(service, runId);
    expect(run).toMatchObject({ status: 'COMPLETED', phase: 'Pull request closed' });
    expect(run.pullRequest.state).toBe('CLOSED');
    // A stale `opened` does not reopen it; an explicit reopen does.
    expect((await postGitHub(service, pullRequestPayload('opened', shape))).body.outcome).toBe('UNCHANGED');
    expect((await postGitHub(service, pullRequestPayload('reopened', shape))).body.outcome).toBe(
      'UPDATED_PULL_REQUEST',
    );
    run = await readRun(service, runId);
    expect(run.pullRequest.state).toBe('OPEN');
    expect(run.status).toBe('COMPLETED');
  });

  describe('correlation', () => {
    test('finds the run by a run id in the body', async ({ service }) => {
      const runId = await startWebhookRun(service, { repository: 'acme/body' });
      const res = await postGitHub(
        service,
        pullRequestPayload('opened', {
          repository: 'acme/body',
          number: nextNumber(),
          headRef: 'feature',
          body: `Closes the task.\n\nrunner: ${runId}`,
        }),
      );
      expect(res.body).toMatchObject({ outcome: 'COMPLETED_RUN', runId });
      expect(res.body.detail).toContain(`run id ${runId}`);
    });

    test('ignores a run id quoted from another repository', async ({ service }) => {
      const runId = await startWebhookRun(service, { repository: 'acme/elsewhere' });
      const res = await postGitHub(
        service,
        pullRequestPayload('opened', {
          repository: 'acme/unrelated',
          number: nextNumber(),
          headRef: `copy/${runId}`,
        }),
      );
      expect(res.status).toBe(202);
      expect(res.body).toMatchObject({ outcome: 'UNMATCHED', runId: null });
      expect((await readRun(service, runId)).status).toBe('RUNNING');
    });

    test('falls back to the one active run of the repository on the base branch', async ({ service }) => {
      const runId = await startWebhookRun(service, { repository: 'acme/branchy', branch: 'develop' });
      const res = await postGitHub(
        service,
        pullRequestPayload('opened', {
          repository: 'acme/branchy',
          number: nextNumber(),
          headRef: 'agent-fix',
          baseRef: 'develop',
          body: null,
        }),
      );
      expect(res.body).toMatchObject({ outcome: 'COMPLETED_RUN', runId });
      const [row] = await deliveries(service, 'GITHUB', res.body.deliveryId);
      expect(row.data).toMatchObject({ matchedBy: 'BRANCH' });
    });

    test('does not guess between two active runs of the same repository', async ({ service }) => {
      const a = await startWebhookRun(service, { repository: 'acme/twins', branch: 'main' });
      const b = await startWebhookRun(service, { repository: 'acme/twins', branch: 'main' });
      const res = await postGitHub(
        service,
        pullRequestPayload('opened', {
          repository: 'acme/twins',
          number: nextNumber(),
          headRef: 'agent-fix',
          baseRef: 'main',
          body: null,
        }),
      );
      expect(res.status).toBe(202);
      expect(res.body.outcome).toBe('UNMATCHED');
      expect(res.body.detail).toContain('ambiguous');
      expect((await readRun(service, a)).status).toBe('RUNNING');
      expect((await readRun(service, b)).status).toBe('RUNNING');
    });

    test("does not complete a run with a stranger's pull request from a fork against the run's branch", async ({
      service,
    }) => {
      const runId = await startWebhookRun(service, { repository: 'acme/forked', branch: 'main' });
      for (const headRepository of ['stranger/forked', null]) {
        const res = await postGitHub(
          service,
          pullRequestPayload('opened', {
            repository: 'acme/forked',
            headRepository,
            author: 'stranger',
            number: nextNumber(),
            headRef: 'main',
            baseRef: 'main',
            body: null,
          }),
        );
        expect(res.status, JSON.stringify(res.body)).toBe(202);
        expect(res.body).toMatchObject({ outcome: 'UNMATCHED', runId: null });
        expect(res.body.detail).toContain('not trusted for the branch rule');
      }
      const run = await readRun(service, runId);
      expect(run.status).toBe('RUNNING');
      expect(run.pullRequest).toBeNull();
    });

    describe('a run without a repository', () => {
      let runId: string;
      test.beforeAll(async ({ service }) => {
        const res = await gql(service.graphqlUrl, START_RUN, {
          input: { projectId: 'webhooks', compiledPrompt: 'Fix the bug [sim:hang]', repository: null },
        });
        runId = res.data!.startRun.run.id;
        await waitForStatus(service.graphqlUrl, runId, ['RUNNING']);
      });

      test('is not claimed by a pull request anywhere that only quotes its id in the body', async ({
        service,
      }) => {
        const res = await postGitHub(
          service,
          pullRequestPayload('opened', {
            repository: 'stranger/anything',
            number: nextNumber(),
            headRef: 'feature',
            body: `Fixes ${runId}`,
          }),
        );
        expect(res.body).toMatchObject({ outcome: 'UNMATCHED', runId: null });
        expect((await readRun(service, runId)).status).toBe('RUNNING');
      });

      test('is not claimed from a fork whose head branch names it', async ({ service }) => {
        const res = await postGitHub(
          service,
          pullRequestPayload('opened', {
            repository: 'acme/somewhere',
            headRepository: 'stranger/somewhere',
            number: nextNumber(),
            headRef: `openhands/${runId}`,
          }),
        );
        expect(res.body).toMatchObject({ outcome: 'UNMATCHED', runId: null });
        expect((await readRun(service, runId)).status).toBe('RUNNING');
      });

      test("is completed by the agent's branch naming it, in the repository the request targets", async ({
        service,
      }) => {
        const res = await postGitHub(
          service,
          pullRequestPayload('opened', {
            repository: 'acme/somewhere',
            number: nextNumber(),
            headRef: `openhands/${runId}`,
          }),
        );
        expect(res.body).toMatchObject({ outcome: 'COMPLETED_RUN', runId });
      });
    });

    test('records an unmatched delivery for operators, answered 202', async ({ service }) => {
      const deliveryId = randomUUID();
      const res = await postGitHub(service, githubExample('pull_request', 'opened'), { deliveryId });
      expect(res.status).toBe(202);
      expect(res.body).toMatchObject({ ok: true, outcome: 'UNMATCHED', runId: null });
      const [row] = await deliveries(service, 'GITHUB', deliveryId);
      expect(row).toMatchObject({
        outcome: 'UNMATCHED',
        runId: null,
        event: 'pull_request',
        action: 'opened',
      });
      expect(row.data).toMatchObject({ pullRequest: { repository: 'Codertocat/Hello-World', number: 2 } });
    });

    test('a run that already ended keeps its status; the pull request is recorded', async ({ service }) => {
      const runId = await startWebhookRun(service, { repository: 'acme/cancelled' });
      await service.app.runs.cancel(runId, { name: 'test', projects: null });
      const res = await postGitHub(
        service,
        pullRequestPayload('opened', {
          repository: 'acme/cancelled',
          number: nextNumber(),
          headRef: `openhands/${runId}`,
        }),
      );
      expect(res.body).toMatchObject({ outcome: 'RECORDED', runId });
      const run = await readRun(service, runId);
      expect(run.status).toBe('CANCELLED');
      expect(run.phase).toBe('Cancelled');
      expect(run.pullRequest).toMatchObject({ state: 'OPEN' });
      expect(run.events.at(-1)).toMatchObject({ type: 'PULL_REQUEST', status: 'CANCELLED' });
    });
  });

  describe('agreement with the poller', () => {
    test('a run completed by a webhook still gets its outcome, read once by the poller, and list views hear of it', async ({
      service,
      sim,
    }) => {
      const repository = 'acme/outcomes';
      const ws = wsClient(service.url);
      const listed = collectWs<{
        run: { id: string; status: string; outcome: { fetchedAt: string } | null };
      }>(ws, 'subscription { runsChanged { seq run { id status outcome { fetchedAt } } } }', {});
      try {
        const runId = await startWebhookRun(service, { repository, branch: 'main' });
        // The subscription is live once it has heard of the run starting.
        await waitFor('runsChanged to hear of the run', async () =>
          listed.items.find((i) => i.run.id === runId),
        );
        const headRef = `openhands/${runId}`;
        const res = await postGitHub(
          service,
          pullRequestPayload('opened', { repository, number: nextNumber(), headRef }),
        );
        expect(res.body).toMatchObject({ outcome: 'COMPLETED_RUN', runId });
        // The outcome comes after the run's last event: announced to list views all the same.
        const heard = await waitFor('runsChanged to carry the outcome', async () =>
          listed.items.find((i) => i.run.id === runId && i.run.outcome),
        );
        expect(heard.run.status).toBe('COMPLETED');
        expect(Date.parse(heard.run.outcome!.fetchedAt)).toBeGreaterThan(0);
        const [row] = await service.app.database.prisma.run.findMany({ where: { id: runId } });
        expect(row.outcomePending).toBe(false);
        const reads = sim.requests.filter(
          (r) => r.path.endsWith('/agent_final_response') && r.path.includes(row.conversationId!),
        );
        expect(reads).toHaveLength(1);
      } finally {
        listed.stop();
        await ws.dispose();
      }
    });

    test('a request the poller already attached is matched by its number and only gains its head branch', async ({
      service,
    }) => {
      const runId = await startWebhookRun(service, {
        repository: 'acme/polled',
        prompt: 'Fix the bug',
        running: false,
      });
      const done = await waitForStatus(service.graphqlUrl, runId, ['COMPLETED']);
      const url: string = done.pullRequest.url;
      const number = Number(url.split('/').pop());
      const before = await readRun(service, runId);

      const res = await postGitHub(
        service,
        pullRequestPayload('opened', {
          repository: 'acme/polled',
          number,
          headRef: 'openhands/fix-requested-change',
          body: null,
        }),
      );
      expect(res.body).toMatchObject({ outcome: 'UNCHANGED', runId });
      const after = await readRun(service, runId);
      expect(after.events).toHaveLength(before.events.length);
      expect(after.pullRequest).toMatchObject({
        url,
        number,
        state: 'OPEN',
        provider: 'GITHUB',
        headBranch: 'openhands/fix-requested-change',
      });

      const merged = await postGitHub(
        service,
        pullRequestPayload('merged', {
          repository: 'acme/polled',
          number,
          headRef: 'openhands/fix-requested-change',
        }),
      );
      expect(merged.body).toMatchObject({ outcome: 'UPDATED_PULL_REQUEST', runId });
      expect((await readRun(service, runId)).pullRequest.state).toBe('MERGED');
    });

    test('after a webhook completed the run, the poller does not replace its pull request', async ({
      sim,
      service,
    }) => {
      const runId = await startWebhookRun(service, {
        repository: 'acme/first',
        prompt: 'Fix the bug [sim:slow]',
        running: false,
      });
      await waitForStatus(service.graphqlUrl, runId, ['STARTING', 'RUNNING']);
      const number = nextNumber();
      const res = await postGitHub(
        service,
        pullRequestPayload('opened', { repository: 'acme/first', number, headRef: `openhands/${runId}` }),
      );
      expect(res.body.outcome).toBe('COMPLETED_RUN');
      // The simulated agent goes on and opens its own PR upstream; the run must not change.
      await waitFor('the agent to open its pull request', async () =>
        sim.conversations().some((c) => c.prompt.includes('[sim:slow]') && c.prUrl),
      );
      await new Promise((resolve) => setTimeout(resolve, 300)); // a few poll intervals
      const run = await readRun(service, runId);
      expect(run.status).toBe('COMPLETED');
      expect(run.pullRequest.number).toBe(number);
      expect(run.events.filter((e) => e.type === 'PULL_REQUEST')).toHaveLength(1);
    });
  });

  describe('concurrency', () => {
    test('the same delivery sent many times at once is processed once', async ({ service }) => {
      const runId = await startWebhookRun(service, { repository: 'acme/race' });
      const payload = pullRequestPayload('opened', {
        repository: 'acme/race',
        number: nextNumber(),
        headRef: `openhands/${runId}`,
      });
      const deliveryId = randomUUID();
      const answers = await Promise.all(
        Array.from({ length: 8 }, () => postGitHub(service, payload, { deliveryId })),
      );
      expect(answers.map((a) => a.status)).toEqual(Array(8).fill(200));
      expect(answers.filter((a) => !a.body.duplicate)).toHaveLength(1);
      expect(answers.every((a) => a.body.outcome === 'COMPLETED_RUN' && a.body.runId === runId)).toBe(true);
      const run = await readRun(service, runId);
      expect(run.events.filter((e) => e.type === 'PULL_REQUEST')).toHaveLength(1);
      expect(run.events.map((e) => e.seq)).toEqual(run.events.map((_, i) => i + 1));
      expect(await deliveries(service, 'GITHUB', deliveryId)).toHaveLength(1);
    });

    test('different deliveries of the same opening, at once, append one event', async ({ service }) => {
      const runId = await startWebhookRun(service, { repository: 'acme/race2' });
      const shape = { repository: 'acme/race2', number: nextNumber(), headRef: `openhands/${runId}` };
      const answers = await Promise.all(
        ['opened', 'ready_for_review', 'opened', 'ready_for_review'].map((action) =>
          postGitHub(service, pullRequestPayload(action, shape)),
        ),
      );
      expect(answers.map((a) => a.body.outcome).sort()).toEqual([
        'COMPLETED_RUN',
        'UNCHANGED',
        'UNCHANGED',
        'UNCHANGED',
      ]);
      const run = await readRun(service, runId);
      expect(run.events.filter((e) => e.type === 'PULL_REQUEST')).toHaveLength(1);
    });
  });

  describe('verification', () => {
    let runId: string;
    let payload: Record<string, any>;
    test.beforeAll(async ({ service }) => {
      runId = await startWebhookRun(service, { repository: 'acme/guarded' });
      payload = pullRequestPayload('opened', {
        repository: 'acme/guarded',
        number: nextNumber(),
        headRef: `openhands/${runId}`,
      });
    });

    async function expectNothingChanged(service: RunningService, deliveryId: string) {
      expect(await deliveries(service, 'GITHUB', deliveryId)).toHaveLength(0);
      const run = await readRun(service, runId);
      expect(run.status).toBe('RUNNING');
      expect(run.pullRequest).toBeNull();
    }

    test('refuses a missing signature', async ({ service }) => {
      const deliveryId = randomUUID();
      const res = await postGitHub(service, payload, { deliveryId, signature: null });
      expect(res.status).toBe(401);
      expect(res.body).toEqual({
        error: { code: 'UNAUTHENTICATED', message: expect.stringContaining('X-Hub-Signature-256') },
      });
      await expectNothingChanged(service, deliveryId);
    });

    test('refuses a malformed signature', async ({ service }) => {
      const deliveryId = randomUUID();
      const res = await postGitHub(service, payload, { deliveryId, signature: 'sha256=not-hex' });
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('UNAUTHENTICATED');
      await expectNothingChanged(service, deliveryId);
    });

    test('refuses a tampered body', async ({ service }) => {
      const deliveryId = randomUUID();
      const body = JSON.stringify(payload);
      const tampered = JSON.stringify({
        ...payload,
        pull_request: { ...payload.pull_request, number: 999999 },
      });
      const res = await postGitHub(service, body, { deliveryId, sendBody: tampered });
      expect(res.status).toBe(401);
      await expectNothingChanged(service, deliveryId);
    });

    test('refuses a signature made with another secret', async ({ service }) => {
      const deliveryId = randomUUID();
      const res = await postGitHub(service, payload, { deliveryId, secret: 'not-the-secret' });
      expect(res.status).toBe(401);
      expect(res.body.error.message).toContain('does not match');
      await expectNothingChanged(service, deliveryId);
    });

    test('refuses the SHA-1 header alone', async ({ service }) => {
      const deliveryId = randomUUID();
      const res = await postGitHub(service, payload, {
        deliveryId,
        signature: null,
        headers: { 'x-hub-signature': 'sha1=0000' },
      });
      expect(res.status).toBe(401);
      await expectNothingChanged(service, deliveryId);
    });

    test('answers ping with 200', async ({ service }) => {
      const ping = githubExample('ping');
      const res = await postGitHub(service, ping, { event: 'ping' });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ ok: true, event: 'ping', outcome: 'IGNORED' });
    });

    test('acknowledges other events with 202 and ignores them', async ({ service }) => {
      const res = await postGitHub(service, githubExample('issues', 'opened'), { event: 'issues' });
      expect(res.status).toBe(202);
      expect(res.body).toMatchObject({ outcome: 'IGNORED', runId: null });
      const labeled = await postGitHub(service, githubExample('pull_request', 'labeled'));
      expect(labeled.status).toBe(202);
      expect(labeled.body.detail).toContain('labeled');
    });

    test('accepts the form-encoded content type GitHub also offers', async ({ service }) => {
      const form = `payload=${encodeURIComponent(JSON.stringify(githubExample('ping')))}`;
      const res = await postGitHub(service, form, {
        event: 'ping',
        contentType: 'application/x-www-form-urlencoded',
      });
      expect(res.status).toBe(200);
    });

    test('stops reading a streamed body (no Content-Length) once it passes the limit', async ({
      service,
    }) => {
      const body = JSON.stringify({ ...payload, padding: 'x'.repeat(300_000) });
      const signature = await sign(GITHUB_SECRET, body);
      const answer = await new Promise<{ status: number; text: string }>((resolve, reject) => {
        const req = request(`${service.url}/webhooks/github`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'transfer-encoding': 'chunked',
            'x-github-event': 'pull_request',
            'x-github-delivery': randomUUID(),
            'x-hub-signature-256': signature,
          },
        });
        req.on('response', (res) => {
          let text = '';
          res.on('data', (chunk) => {
            text += chunk;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        });
        req.on('error', reject);
        for (let i = 0; i < body.length; i += 16_384) req.write(body.slice(i, i + 16_384));
        req.end();
      });
      expect(answer.status).toBe(413);
      expect(JSON.parse(answer.text).error.code).toBe('PAYLOAD_TOO_LARGE');
    });

    test('answers bad JSON, wrong content type, oversized bodies and missing headers with JSON errors', async ({
      service,
    }) => {
      const badJson = await postGitHub(service, '{"action": "opened",');
      expect(badJson.status).toBe(400);
      expect(badJson.body.error.code).toBe('INVALID_JSON');

      const text = await postGitHub(service, payload, { contentType: 'text/plain' });
      expect(text.status).toBe(415);
      expect(text.body.error.code).toBe('UNSUPPORTED_MEDIA_TYPE');

      const big = await postGitHub(service, { ...payload, padding: 'x'.repeat(300_000) });
      expect(big.status).toBe(413);
      expect(big.body.error.code).toBe('PAYLOAD_TOO_LARGE');

      const noDelivery = await postGitHub(service, payload, { headers: { 'x-github-delivery': '' } });
      expect(noDelivery.status).toBe(400);

      const notPr = await postGitHub(service, { action: 'opened', pull_request: 'nope' });
      expect(notPr.status).toBe(400);
      expect(notPr.body.error.code).toBe('INVALID_PAYLOAD');

      const get = await fetch(`${service.url}/webhooks/github`);
      expect(get.status).toBe(405);
      await expectNothingChanged(service, 'none');
    });

    test('signs exactly as @octokit/webhooks-methods verifies', async () => {
      const { verify } = await import('@octokit/webhooks-methods');
      const body = JSON.stringify(payload);
      expect(await verify(GITHUB_SECRET, body, await sign(GITHUB_SECRET, body))).toBe(true);
    });
  });
});

describe('webhooks without secrets', () => {
  const test = withoutSecrets;

  test('answers 503 and says which variable to set, even to a signed delivery', async ({ service }) => {
    const github = await postGitHub(service, githubExample('ping'), { event: 'ping' });
    expect(github.status).toBe(503);
    expect(github.body).toEqual({
      error: { code: 'WEBHOOK_NOT_CONFIGURED', message: expect.stringContaining('GITHUB_WEBHOOK_SECRET') },
    });
    const gitlab = await fetch(`${service.url}/webhooks/gitlab`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-gitlab-token': 'anything',
        'x-gitlab-event': 'Merge Request Hook',
      },
      body: '{}',
    });
    expect(gitlab.status).toBe(503);
    expect(((await gitlab.json()) as any).error.message).toContain('GITLAB_WEBHOOK_SECRET');
    expect(await service.app.database.prisma.webhookDelivery.count()).toBe(0);
  });
});

describe('GitHub webhooks with GITHUB_AGENT_LOGINS', () => {
  const test = withAgentLogins;

  test('the branch rule takes only a pull request opened by an agent account (case-insensitive)', async ({
    service,
  }) => {
    const runId = await startWebhookRun(service, { repository: 'acme/agents', branch: 'main' });
    const opened = (author: string) =>
      postGitHub(
        service,
        pullRequestPayload('opened', {
          repository: 'acme/agents',
          author,
          number: nextNumber(),
          headRef: 'fix',
          baseRef: 'main',
          body: null,
        }),
      );
    const byMember = await opened('Codertocat');
    expect(byMember.body).toMatchObject({ outcome: 'UNMATCHED', runId: null });
    expect(byMember.body.detail).toContain('by Codertocat is not trusted');
    expect((await readRun(service, runId)).status).toBe('RUNNING');
    const byAgent = await opened('openhands-agent');
    expect(byAgent.body).toMatchObject({ outcome: 'COMPLETED_RUN', runId });
  });

  test('a run id in the body still finds the run whoever opened the request', async ({ service }) => {
    const runId = await startWebhookRun(service, { repository: 'acme/marked' });
    const res = await postGitHub(
      service,
      pullRequestPayload('opened', {
        repository: 'acme/marked',
        author: 'a-human',
        number: nextNumber(),
        headRef: 'feature',
        body: `openhands-runner: ${runId}`,
      }),
    );
    expect(res.body).toMatchObject({ outcome: 'COMPLETED_RUN', runId });
  });
});
