/**
 * Issue 12, end to end: the agent's activity in the run's events, a question that parks the run
 * AWAITING_INPUT, an answer through sendRunMessage (GraphQL over HTTP and graphql-ws, and REST) that
 * brings it to COMPLETED with its pull request and outcome — for V1 and V0, against the simulator and a
 * real PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectWs, RUN_PROGRESS, wsClient } from '../support/live.js';
import {
  eventsOf,
  expectSaneTimeline,
  finalRun,
  gql,
  peakRequestsPerSecond,
  recordBudgetGrants,
  type Stack,
  sql,
  startRun,
  startStack,
  waitFor,
  waitForStatus,
} from '../support/runs.js';
import { TEST_TOKEN } from '../support/service.js';

const SEND = `mutation($input: SendRunMessageInput!) {
  sendRunMessage(input: $input) { run { id status question } event { seq type status message data } }
}`;
const CONVERSATION = `query($id: ID!) { run(id: $id) {
  id status question
  pullRequest { url }
  outcome { summary changedFiles { path change } fetchedAt }
  events(first: 100) { edges { node { seq type status message data } } }
} }`;

type Event = { seq: number; type: string; status: string; message: string | null; data: any };

interface Conversation {
  id: string;
  status: string;
  question: string | null;
  pullRequest: { url: string } | null;
  outcome: { summary: string | null; changedFiles: unknown[] | null; fetchedAt: string } | null;
  events: Event[];
}

async function conversation(url: string, id: string): Promise<Conversation> {
  const res = await gql(url, CONVERSATION, { id });
  if (res.errors) throw new Error(JSON.stringify(res.errors));
  const run = res.data!.run;
  return { ...run, events: run.events.edges.map((e: { node: Event }) => e.node) as Event[] };
}

function send(url: string, input: Record<string, unknown>) {
  return gql(url, SEND, { input });
}

async function rest(stack: Stack, method: string, path: string, body?: unknown) {
  const response = await fetch(`${stack.service.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as any };
}

/** Every stored activity event names its upstream event once. */
async function expectNoDuplicateActivity(dbUrl: string): Promise<number> {
  const rows = await sql<{ runId: string; upstreamId: string; n: number }>(
    dbUrl,
    `SELECT "runId", "upstreamId", count(*)::int AS n FROM "RunEvent"
     WHERE "upstreamId" IS NOT NULL GROUP BY 1, 2`,
  );
  expect(rows.filter((r) => r.n > 1)).toEqual([]);
  return rows.length;
}

for (const apiVersion of ['v1', 'v0'] as const) {
  describe(`the agent conversation (${apiVersion})`, () => {
    let stack: Stack;
    let granted: number[];
    beforeAll(async () => {
      // The real server's rate limiter on, and the runner's budget below it.
      stack = await startStack(
        { apiVersion, rateLimit: true },
        { OPENHANDS_MAX_RPS: '8', RUN_STALL_TIMEOUT_MS: '2000' },
      );
      granted = recordBudgetGrants(stack.service.app.openhands.budget);
    });
    afterAll(async () => stack?.stop());

    it('a question → AWAITING_INPUT with question; an answer → COMPLETED with PR and outcome', async () => {
      const ws = wsClient(stack.service.url);
      const run = await startRun(stack.url, {
        compiledPrompt: 'Make the greeting excited [sim:ask] #q1',
        repository: 'acme/widgets',
      });
      const live = collectWs<{ seq: number; type: string; message: string | null }>(ws, RUN_PROGRESS, {
        runId: run.id,
      });
      try {
        await waitForStatus(stack.url, run.id, ['AWAITING_INPUT', 'COMPLETED', 'FAILED', 'TIMED_OUT']);
        const waiting = await conversation(stack.url, run.id);
        expect(waiting.status).toBe('AWAITING_INPUT');
        expect(waiting.question).toMatch(/exclamation mark/);
        // Longer than the stall timeout: waiting for a person is no stall.
        await new Promise((r) => setTimeout(r, 2500));
        expect((await conversation(stack.url, run.id)).status).toBe('AWAITING_INPUT');

        const actions = waiting.events.filter((e) => e.type === 'AGENT_ACTION');
        expect(actions.map((e) => e.message)).toContain('view src/index.ts');
        expect(actions[0].message).toMatch(/^\$ cd \/workspace\/project && git status/);
        expect(actions[0].data).toMatchObject({ tool: 'terminal', command: expect.any(String) });
        const said = waiting.events.filter((e) => e.type === 'AGENT_MESSAGE').map((e) => e.message);
        expect(said.at(-1)).toBe(waiting.question);
        const exits = waiting.events.filter((e) => e.type === 'AGENT_OBSERVATION');
        expect(exits[0]?.data).toEqual({ tool: 'terminal', exitCode: 0 });

        const answer = 'Yes, end it with an exclamation mark.';
        const sent = await send(stack.url, { runId: run.id, text: answer, idempotencyKey: 'answer-1' });
        expect(sent.errors).toBeUndefined();
        const event = sent.data!.sendRunMessage.event;
        expect(event).toMatchObject({ type: 'USER_MESSAGE', message: answer });
        // The same key again, this time over graphql-ws: the same event, sent once.
        const again = await new Promise<{ data?: any; errors?: unknown }>((resolve, reject) => {
          let result: { data?: any; errors?: unknown } = {};
          ws.subscribe(
            {
              query: SEND,
              variables: { input: { runId: run.id, text: answer, idempotencyKey: 'answer-1' } },
            },
            {
              next: (value) => (result = value as typeof result),
              error: reject,
              complete: () => resolve(result),
            },
          );
        });
        expect(again.errors).toBeUndefined();
        expect(again.data.sendRunMessage.event.seq).toBe(event.seq);

        const done = await finalRun(stack.url, run.id);
        expect(done.status).toBe('COMPLETED');
        expect(done.pullRequest?.url).toMatch(/\/pull\/\d+$/);
        expectSaneTimeline(done);
        const finished = await conversation(stack.url, run.id);
        expect(finished.question).toBeNull();
        expect(finished.outcome).toMatchObject({
          changedFiles: [{ path: 'src/index.ts', change: 'MODIFIED' }],
          fetchedAt: expect.any(String),
        });
        const types = finished.events.map((e) => e.type);
        expect(types.filter((t) => t === 'USER_MESSAGE')).toHaveLength(1);
        expect(types).toContain('MESSAGE_DELIVERED');
        expect(types.indexOf('MESSAGE_DELIVERED')).toBeGreaterThan(types.indexOf('USER_MESSAGE'));
        const upstream = stack.sim.conversations().find((c) => c.prompt.includes('#q1'))!;
        expect(upstream.messages).toEqual([answer]);

        // The subscription saw the same conversation as it happened.
        await waitFor('the live feed to reach COMPLETED', async () =>
          live.items.some((e) => e.type === 'PULL_REQUEST'),
        );
        const liveTypes = live.items.map((e) => e.type);
        for (const type of ['AGENT_ACTION', 'AGENT_MESSAGE', 'USER_MESSAGE', 'MESSAGE_DELIVERED']) {
          expect(liveTypes).toContain(type);
        }
        await expectNoDuplicateActivity(stack.db.url);
      } finally {
        live.stop();
        await ws.dispose();
      }
    });

    it('REST: POST /runs/{id}/messages → 202 {run_id, seq}; detail carries question and outcome', async () => {
      const run = await startRun(stack.url, {
        compiledPrompt: 'Over REST [sim:ask] #r1',
        repository: 'acme/widgets',
      });
      await waitForStatus(stack.url, run.id, ['AWAITING_INPUT']);
      const detail = await rest(stack, 'GET', `/runs/${run.id}/detail`);
      expect(detail.body.question).toMatch(/exclamation mark/);
      expect(detail.body.outcome).toBeNull();

      const bad = await rest(stack, 'POST', `/runs/${run.id}/messages`, { text: 'a\u0000b' });
      expect(bad.status).toBe(422);
      const missing = await rest(stack, 'POST', '/runs/run_00000000000000000000000000/messages', {
        text: 'hi',
      });
      expect(missing.status).toBe(404);

      const accepted = await rest(stack, 'POST', `/runs/${run.id}/messages`, { text: 'Go ahead.' });
      expect(accepted.status).toBe(202);
      expect(accepted.body).toEqual({ run_id: run.id, seq: expect.any(Number) });
      expect((await finalRun(stack.url, run.id)).status).toBe('COMPLETED');
      const after = await rest(stack, 'GET', `/runs/${run.id}/detail`);
      expect(after.body.question).toBeNull();
      expect(after.body.outcome.changed_files).toEqual([{ path: 'src/index.ts', change: 'MODIFIED' }]);
      const userMessage = after.body.events.find((e: Event) => e.seq === accepted.body.seq);
      expect(userMessage).toMatchObject({ type: 'USER_MESSAGE', message: 'Go ahead.' });

      const late = await rest(stack, 'POST', `/runs/${run.id}/messages`, { text: 'Too late.' });
      expect(late.status).toBe(409);
    });

    it('bad inputs: empty, NUL, too long → BAD_USER_INPUT; unknown → NOT_FOUND; final → CONFLICT', async () => {
      const run = await startRun(stack.url, {
        compiledPrompt: 'No PR [sim:no-pr] #b1',
        repository: 'acme/w',
      });
      const codeOf = async (input: Record<string, unknown>) =>
        (await send(stack.url, input)).errors?.[0]?.extensions?.code;
      expect(await codeOf({ runId: run.id, text: '' })).toBe('BAD_USER_INPUT');
      expect(await codeOf({ runId: run.id, text: '   ' })).toBe('BAD_USER_INPUT');
      expect(await codeOf({ runId: run.id, text: 'a\u0000b' })).toBe('BAD_USER_INPUT');
      expect(await codeOf({ runId: run.id, text: 'x'.repeat(100_001) })).toBe('BAD_USER_INPUT');
      expect(await codeOf({ runId: 'run_00000000000000000000000000', text: 'hi' })).toBe('NOT_FOUND');
      const done = await finalRun(stack.url, run.id);
      expect(done.status).toBe('COMPLETED');
      // No PR: the outcome summary is the agent's finish message.
      const finished = await conversation(stack.url, run.id);
      expect(finished.outcome?.summary).toMatch(/no changes were needed/);
      expect(await codeOf({ runId: run.id, text: 'hello?' })).toBe('CONFLICT');
    });

    it('a long message is stored cut to 4,000 characters with its length; secrets are masked', async () => {
      const run = await startRun(stack.url, { compiledPrompt: 'Long [sim:hang] #l1', repository: 'acme/w' });
      const text = `token ghp_${'a'.repeat(36)} ${'y'.repeat(5000)}`;
      const sent = await send(stack.url, { runId: run.id, text });
      const event = sent.data!.sendRunMessage.event;
      expect(event.message).toHaveLength(4000);
      expect(event.message).toContain('ghp_***');
      expect(event.message).not.toContain('aaaaaaaaaaaaaaaa');
      expect(event.data).toMatchObject({ truncated: true });
      // Delivered whole once the conversation runs.
      await waitFor('delivery', async () =>
        stack.sim
          .conversations()
          .find((c) => c.prompt.includes('#l1'))
          ?.messages.includes(text),
      );
    });

    it('a run cancelled while it waits gets its outcome before its conversation is stopped', async () => {
      const run = await startRun(stack.url, {
        compiledPrompt: 'Cancel me [sim:ask] #c1',
        repository: 'acme/w',
      });
      await waitForStatus(stack.url, run.id, ['AWAITING_INPUT']);
      const cancelled = await gql(stack.url, 'mutation($id: ID!) { cancelRun(id: $id) { run { status } } }', {
        id: run.id,
      });
      expect(cancelled.data?.cancelRun.run.status).toBe('CANCELLED');
      const ended = await waitFor('the outcome', async () => {
        const current = await conversation(stack.url, run.id);
        return current.outcome ? current : undefined;
      });
      // Nothing edited before the question; the agent's last word was the question.
      expect(ended.outcome).toMatchObject({
        changedFiles: [],
        summary: expect.stringMatching(/exclamation/),
      });
      expect(ended.question).toBeNull();
    });

    it('never exceeded the request budget (the simulator counted every request)', async () => {
      // Every request the simulator saw went through the budget (one let go may still be on its way),
      // never more than 8 let go in a second.
      expect(granted.length).toBeGreaterThanOrEqual(stack.sim.requests.length);
      expect(
        peakRequestsPerSecond(granted.map((at) => ({ at }))),
        'requests let go within one second',
      ).toBeLessThanOrEqual(8);
      // Arrivals carry jitter on top of that, but stay within the server's undelayed ten per second.
      expect(
        peakRequestsPerSecond(stack.sim.requests),
        'requests arriving within one second',
      ).toBeLessThanOrEqual(10);
      expect(stack.sim.requests.filter((r) => r.status === 429)).toEqual([]);
    });
  });
}

for (const sendMessageRoute of [true, false]) {
  describe(`V1 ${sendMessageRoute ? 'with' : 'without'} send-message, a sandbox paused while it waits`, () => {
    let stack: Stack;
    beforeAll(async () => {
      stack = await startStack({ apiVersion: 'v1', sendMessageRoute }, {});
    });
    afterAll(async () => stack?.stop());

    it('resumes the sandbox, sends the message (agent server on older servers), and completes', async () => {
      const run = await startRun(stack.url, {
        compiledPrompt: 'Old server [sim:ask] [sim:idle-pause] #f1',
        repository: 'acme/widgets',
      });
      await waitForStatus(stack.url, run.id, ['AWAITING_INPUT']);
      await waitFor(
        'the sandbox to be paused',
        async () => stack.sim.conversations().find((c) => c.prompt.includes('#f1'))?.stopped,
      );
      const waiting = await conversation(stack.url, run.id);
      expect(waiting.question).toMatch(/exclamation mark/);
      const sent = await send(stack.url, { runId: run.id, text: 'Yes please.' });
      expect(sent.errors).toBeUndefined();
      const done = await finalRun(stack.url, run.id);
      expect(done.status).toBe('COMPLETED');
      const paths = stack.sim.requests.map((r) => `${r.method} ${r.path}`);
      expect(paths.some((p) => /^POST \/api\/v1\/app-conversations\/[0-9a-f]+\/send-message$/.test(p))).toBe(
        true,
      );
      expect(paths.some((p) => /^POST \/api\/v1\/sandboxes\/[^/]+\/resume$/.test(p))).toBe(true);
      // send-message answered 409 (paused) or 404 (older server): resumed, then sent there or to the agent server.
      expect(
        paths.some((p) => /^POST \/agent-server\/[^/]+\/api\/conversations\/[0-9a-f]+\/events$/.test(p)),
      ).toBe(!sendMessageRoute);
      const finished = await conversation(stack.url, run.id);
      expect(finished.outcome?.changedFiles).toEqual([{ path: 'src/index.ts', change: 'MODIFIED' }]);
      expect(finished.events.map((e) => e.type)).toContain('MESSAGE_DELIVERED');
    });
  });
}

describe('waiting too long for an answer', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ apiVersion: 'v0' }, { RUN_INPUT_TIMEOUT_MS: '800' });
  });
  afterAll(async () => stack?.stop());

  it('→ TIMED_OUT INPUT_TIMEOUT', async () => {
    const run = await startRun(stack.url, {
      compiledPrompt: 'Nobody answers [sim:ask] #t1',
      repository: 'a/b',
    });
    const done = await finalRun(stack.url, run.id);
    expect(done.status).toBe('TIMED_OUT');
    expect(done.error.code).toBe('INPUT_TIMEOUT');
    expect(eventsOf(done).map((e) => e.status)).toContain('AWAITING_INPUT');
  });
});
