/**
 * POST /openhands/events/{id} and /openhands/conversations, pushed by hand over real HTTP against a
 * real service, PostgreSQL and the simulator (which does not push here, so every pushed change is
 * the test's own): authentication, bad bodies, idempotency, order, final states, live delivery.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectWs, type LiveEventMessage, RUN_PROGRESS, wsClient } from '../support/live.js';
import { getRun, type Stack, startRun, startStack, waitFor, waitForStatus } from '../support/runs.js';
import { startService } from '../support/service.js';
import { conversationOf, finishEvent, metric, push, SECRET, stateEvent } from './support.js';

let stack: Stack;
let base: string;

beforeAll(async () => {
  stack = await startStack(
    {},
    {
      OPENHANDS_WEBHOOK_SECRET: SECRET,
      WEBHOOK_MAX_BODY_BYTES: '4096',
      // Once pushed to, a run is not polled again during the test: what it shows is what was pushed.
      OPENHANDS_RECONCILE_MS: '600000',
    },
  );
  base = stack.service.url;
}, 60_000);

afterAll(async () => {
  await stack?.stop();
});

/** A run held RUNNING upstream ([sim:hang]), with its conversation id and session key. */
async function runningRun(name: string) {
  const run = await startRun(stack.url, { compiledPrompt: `${name} [sim:hang]` });
  await waitForStatus(stack.url, run.id, ['RUNNING']);
  return { runId: run.id as string, ...(await conversationOf(stack.db.url, stack.sim, run.id)) };
}

describe('authentication', () => {
  it('answers 503 with a JSON reason while OPENHANDS_WEBHOOK_SECRET is unset', async () => {
    const bare = await startService(stack.db.url, stack.sim.url, { POLLER_ENABLED: 'false' });
    try {
      const answer = await push(bare.url, '/conversations', { id: crypto.randomUUID() });
      expect(answer.status).toBe(503);
      expect(answer.body.error.code).toBe('PUSH_NOT_CONFIGURED');
      expect(answer.body.error.message).toContain('OPENHANDS_WEBHOOK_SECRET');
    } finally {
      await bare.stop();
    }
  });

  it('answers 401 without the bearer secret or with a wrong one, and never echoes it', async () => {
    const id = crypto.randomUUID().replaceAll('-', '');
    for (const authorization of ['', 'Bearer wrong-secret', `Basic ${SECRET}`]) {
      const answer = await push(base, `/events/${id}`, [], { authorization });
      expect(answer.status).toBe(401);
      expect(answer.body.error.code).toBe('UNAUTHENTICATED');
      expect(JSON.stringify(answer.body)).not.toContain(SECRET);
    }
    expect(
      await metric(base, 'openhands_runner_openhands_push_rejected_total{reason="unauthenticated"}'),
    ).toBe(3);
  });

  it('checks X-Session-API-Key against the conversation when both are known', async () => {
    const { id, sessionKey } = await runningRun('session key');
    const batch = [stateEvent('running', new Date())];
    const wrong = await push(base, `/events/${id}`, batch, { 'x-session-api-key': 'not-the-key' });
    expect(wrong.status).toBe(401);
    expect(JSON.stringify(wrong.body)).not.toContain(sessionKey);
    expect((await push(base, `/events/${id}`, batch, { 'x-session-api-key': sessionKey })).status).toBe(200);
    // Without the header (an operator's webhook that sends only the bearer secret) it is accepted.
    expect((await push(base, `/events/${id}`, batch)).status).toBe(200);
  });
});

describe('bad requests', () => {
  const id = crypto.randomUUID();

  it('answers 400 to malformed JSON, a non-array events body, non-object events and bad ids', async () => {
    const cases: Array<[string, unknown, string]> = [
      [`/events/${id}`, '[{"id":', 'INVALID_JSON'],
      [`/events/${id}`, { id: 'x' }, 'INVALID_PAYLOAD'],
      [`/events/${id}`, [1, 'two'], 'INVALID_PAYLOAD'],
      ['/events/not-a-uuid', [], 'INVALID_PAYLOAD'],
      ['/conversations', [], 'INVALID_PAYLOAD'],
      ['/conversations', { execution_status: 'running' }, 'INVALID_PAYLOAD'],
    ];
    for (const [path, body, code] of cases) {
      const answer = await push(base, path, body);
      expect(answer.status, `${path} ${JSON.stringify(body)}`).toBe(400);
      expect(answer.body.error.code).toBe(code);
    }
  });

  it('answers 413 above WEBHOOK_MAX_BODY_BYTES', async () => {
    const big = [{ ...stateEvent('running', new Date()), padding: 'x'.repeat(5000) }];
    const answer = await push(base, `/events/${id}`, big);
    expect(answer.status).toBe(413);
    expect(answer.body.error.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('acknowledges events of a conversation no run follows with 200 and how many were ignored', async () => {
    const batch = [stateEvent('running', new Date()), stateEvent('finished', new Date())];
    const answer = await push(base, `/events/${id}`, batch);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ ignored: 2, applied: 0, runIds: [] });
  });
});

describe('pushed state', () => {
  it('is committed, in the log and published when the POST returns; a resend changes nothing', async () => {
    const { runId, id } = await runningRun('live');
    const client = wsClient(base);
    const seen = collectWs<LiveEventMessage>(client, RUN_PROGRESS, { runId });
    try {
      await waitFor('the subscription to replay the log', async () => seen.items.length > 0);
      const batch = [stateEvent('waiting_for_confirmation', new Date())];
      const answer = await push(base, `/events/${id}`, batch);
      expect(answer.body).toMatchObject({ applied: 1, runIds: [runId] });
      // Read right after the answer: no waiting for a poll.
      const run = await getRun(stack.url, runId);
      expect(run.status).toBe('AWAITING_INPUT');
      expect(run.events.edges.at(-1).node.status).toBe('AWAITING_INPUT');
      await waitFor(
        'the subscriber to receive the pushed change',
        async () => seen.items.some((e) => e.status === 'AWAITING_INPUT'),
        2000,
        5,
      );

      const again = await push(base, `/events/${id}`, batch);
      expect(again.body).toMatchObject({ applied: 0, duplicate: 1 });
      const after = await getRun(stack.url, runId);
      expect(after.events.totalCount).toBe(run.events.totalCount);
    } finally {
      seen.stop();
      await client.dispose();
    }
  });

  it('never lets an older status overwrite a newer one, whatever order batches and events come in', async () => {
    const { runId, id } = await runningRun('order');
    const t = Date.now();
    const at = (s: number) => new Date(t + s * 1000);
    expect((await push(base, `/events/${id}`, [stateEvent('paused', at(2))])).body.applied).toBe(1);
    // A late batch from before: stale.
    const late = await push(base, `/events/${id}`, [stateEvent('running', at(1))]);
    expect(late.body).toMatchObject({ applied: 0, stale: 1 });
    expect((await getRun(stack.url, runId)).status).toBe('AWAITING_INPUT');
    // One batch, newest first: the newest wins.
    const mixed = await push(base, `/events/${id}`, [
      stateEvent('finished', at(4)),
      finishEvent(at(4)),
      stateEvent('running', at(3)),
    ]);
    expect(mixed.body).toMatchObject({ applied: 1, stale: 1 });
    expect((await getRun(stack.url, runId)).status).toBe('COMPLETED');
  });

  it('keeps a final run final, whether events or a ConversationInfo say otherwise', async () => {
    const { runId, id } = await runningRun('final');
    const t = Date.now();
    await push(base, `/events/${id}`, [finishEvent(new Date(t)), stateEvent('finished', new Date(t))]);
    const done = await getRun(stack.url, runId);
    expect(done.status).toBe('COMPLETED');
    await push(base, `/events/${id}`, [stateEvent('running', new Date(t + 1000))]);
    const dashed = id.replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5');
    const info = await push(base, '/conversations', {
      id: dashed,
      execution_status: 'error',
      updated_at: new Date(t + 2000).toISOString(),
    });
    expect(info.body.runIds).toEqual([runId]);
    const after = await getRun(stack.url, runId);
    expect(after.status).toBe('COMPLETED');
    expect(after.events.totalCount).toBe(done.events.totalCount);
  });

  it('applies a ConversationInfo (dashed id) as the same status a poll would show', async () => {
    const { runId, id } = await runningRun('conversation info');
    const dashed = id.replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5');
    const answer = await push(base, '/conversations', {
      id: dashed,
      execution_status: 'paused',
      updated_at: new Date().toISOString(),
    });
    expect(answer.body).toMatchObject({ applied: 1, runIds: [runId] });
    const run = await getRun(stack.url, runId);
    expect(run.status).toBe('AWAITING_INPUT');
    expect(run.phase).toBe('Agent paused');
    expect(
      await metric(base, 'openhands_runner_openhands_pushes_total{route="conversations",outcome="accepted"}'),
    ).toBeGreaterThan(0);
    const health = (await (await fetch(`${base}/health`)).json()) as Record<string, any>;
    expect(health.pushes).toMatchObject({ configured: true });
    expect(health.pushes.receivedLastMinute).toBeGreaterThan(0);
  });
});
