/**
 * The simulator pushes like an agent server (tools/simulator/push.ts) to real services on a real
 * PostgreSQL: runs complete through pushes while polling drops to reconciliation, lost pushes are
 * healed by it, and any replica may take the POST for any run.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../tools/simulator/index.js';
import type { PushOptions } from '../../tools/simulator/push.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { collectWs, type LiveEventMessage, RUN_PROGRESS, wsClient } from '../support/live.js';
import {
  eventsOf,
  expectSaneTimeline,
  finalRun,
  getRun,
  gql,
  sql,
  startRun,
  waitFor,
  waitForStatus,
} from '../support/runs.js';
import { type RunningService, startService } from '../support/service.js';
import { conversationReads, metric, SECRET } from './support.js';

interface PushStack {
  db: TestDatabase;
  sim: Simulator;
  services: RunningService[];
  push: PushOptions;
}

const stacks: PushStack[] = [];

/** A database, a pushing simulator and `replicas` services; pushes go to the last service. */
async function startPushStack(env: Record<string, string>, push: Partial<PushOptions> = {}, replicas = 1) {
  const db = await createTestDatabase();
  // The URL is filled in once the service listens (the pusher reads its options at each send).
  // Steps of 100 ms: the agent still works when the runner learns the conversation id (pushes
  // about a conversation the runner does not know yet are acknowledged and ignored).
  const options: PushOptions = {
    url: '',
    secret: SECRET,
    bufferSize: 1,
    flushDelayMs: 20,
    retries: 3,
    retryDelayMs: 50,
    ...push,
  };
  const sim = await startSimulator({ stepMs: 100, rateLimit: false, maxConversations: 100, push: options });
  const services: RunningService[] = [];
  for (let i = 0; i < replicas; i++) {
    services.push(
      await startService(
        db.url,
        sim.url,
        { OPENHANDS_API_VERSION: 'v1', OPENHANDS_WEBHOOK_SECRET: SECRET, ...env },
        { instanceId: `replica-${i}` },
      ),
    );
  }
  options.url = `${services.at(-1)!.url}/openhands`;
  const stack = { db, sim, services, push: options };
  stacks.push(stack);
  return stack;
}

afterAll(async () => {
  for (const { db, sim, services } of stacks) {
    for (const service of services) await service.stop().catch(() => {});
    await sim.stop().catch(() => {});
    await db.drop();
  }
});

async function pushedAt(dbUrl: string, runId: string): Promise<number> {
  const row = await waitFor(`a push to reach run ${runId}`, async () => {
    const [found] = await sql<{ pushedAt: Date | null }>(
      dbUrl,
      'SELECT "pushedAt" FROM "Run" WHERE id = $1',
      [runId],
    );
    return found?.pushedAt ?? undefined;
  });
  return row.getTime();
}

/** A small deterministic random source, so the batches lost are the same on every run. */
function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

describe('runs driven by pushes', () => {
  it('complete with their pull request through pushes alone once the first push arrived', async () => {
    // Reconciliation is 10 minutes away: after the first push, only pushes can finish the run.
    const { services, sim, db } = await startPushStack({ OPENHANDS_RECONCILE_MS: '600000' });
    const [service] = services;
    // A list view (runsChanged) open from the start: it must hear of the outcome, which arrives
    // after the run's last event.
    const ws = wsClient(service.url);
    const listed = collectWs<{
      run: { id: string; status: string; outcome: { summary: string | null } | null };
    }>(ws, 'subscription { runsChanged { seq run { id status outcome { summary } } } }', {});
    const run = await startRun(service.graphqlUrl, {
      compiledPrompt: 'Fix the bug',
      repository: 'acme/widgets',
    });
    const firstPush = await pushedAt(db.url, run.id);
    const readsAtFirstPush = conversationReads(sim);
    const done = await finalRun(service.graphqlUrl, run.id, 20_000);
    expect(done.status).toBe('COMPLETED');
    expect(done.pullRequest?.url).toContain('/pull/');
    expectSaneTimeline(await getRun(service.graphqlUrl, run.id));
    // The outcome a poll would have read at the end: the poller reads it once after the push; the
    // agent's finish, pushed after the pull request, gives it its summary.
    const outcome = await waitFor('the outcome with its summary', async () => {
      const res = await gql(
        service.graphqlUrl,
        'query($id: ID!) { run(id: $id) { outcome { summary fetchedAt } } }',
        {
          id: run.id,
        },
      );
      return res.data?.run.outcome?.summary ? res.data.run.outcome : undefined;
    });
    expect(outcome.summary).toContain('/pull/');
    expect(sim.requests.filter((r) => r.path.endsWith('/agent_final_response'))).toHaveLength(1);
    try {
      await waitFor('runsChanged to carry the outcome', async () =>
        listed.items.find((item) => item.run.id === run.id && item.run.outcome?.summary),
      );
    } finally {
      listed.stop();
      await ws.dispose();
    }
    // Polling at the 50 ms interval would read the conversation dozens of times in the seconds the
    // agent works. After the first push: the poll already due (it catches up on pushes ignored before
    // the runner knew the conversation) or one already in flight, each read again once at the poll
    // interval when a push landed while it read, and the outcome read (one conversation read to find
    // the agent server); then nothing until reconciliation.
    expect(conversationReads(sim, firstPush)).toBeLessThanOrEqual(6);
    expect(conversationReads(sim) - readsAtFirstPush).toBeLessThanOrEqual(6);
    // And once the outcome is in: not one read in 20 poll intervals.
    const readsAfterOutcome = conversationReads(sim);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(conversationReads(sim)).toBe(readsAfterOutcome);
    // The agent's final execution_status (after the pull request completed the run) is applied too.
    await waitFor(
      'a pushed status to be applied',
      async () =>
        (await metric(service.url, 'openhands_runner_openhands_push_events_total{outcome="applied"}')) > 0,
    );
  });
});

describe('a question asked through pushes', () => {
  it('parks the run AWAITING_INPUT with the question and its messages, and an answer brings it to COMPLETED', async () => {
    // Reconciliation is 10 minutes away: the question, the activity and the end all come by push.
    const { services, db } = await startPushStack({ OPENHANDS_RECONCILE_MS: '600000' });
    const [service] = services;
    // Slow steps: the runner knows the conversation before the question is pushed (pushes that arrive
    // before that are acknowledged and ignored, and only reconciliation, 10 minutes away, would heal them).
    const run = await startRun(service.graphqlUrl, {
      compiledPrompt: 'Ask first [sim:slow] [sim:ask]',
      repository: 'acme/widgets',
    });
    const waiting = await waitForStatus(service.graphqlUrl, run.id, ['AWAITING_INPUT'], 20_000);
    expect(waiting.status).toBe('AWAITING_INPUT');
    const asked = await gql(service.graphqlUrl, 'query($id: ID!) { run(id: $id) { question } }', {
      id: run.id,
    });
    expect(asked.data?.run.question).toBeTruthy();
    const answer = await gql(
      service.graphqlUrl,
      'mutation($input: SendRunMessageInput!) { sendRunMessage(input: $input) { event { type } } }',
      { input: { runId: run.id, text: 'Yes, go ahead.' } },
    );
    expect(answer.errors).toBeUndefined();
    const done = await finalRun(service.graphqlUrl, run.id, 20_000);
    expect(done.status).toBe('COMPLETED');
    const types = eventsOf(await getRun(service.graphqlUrl, run.id)).map((e) => e.type);
    expect(types).toContain('AGENT_MESSAGE');
    expect(types).toContain('USER_MESSAGE');
    // Each pushed message stored once, whatever retries the agent server made.
    const [{ n, distinct }] = await sql<{ n: number; distinct: number }>(
      db.url,
      'SELECT count(*)::int AS n, count(DISTINCT "upstreamId")::int AS distinct FROM "RunEvent" WHERE "runId" = $1 AND "upstreamId" IS NOT NULL',
      [run.id],
    );
    expect(n).toBe(distinct);
  }, 60_000);
});

describe('reconciliation', () => {
  let stack: PushStack;

  it('polls a pushed-to run only every OPENHANDS_RECONCILE_MS', async () => {
    stack = await startPushStack({ OPENHANDS_RECONCILE_MS: '400', POLL_INTERVAL_MS: '50' });
    const [service] = stack.services;
    // The agent asks a question and waits: pushed AWAITING_INPUT, then nothing more to push.
    const run = await startRun(service.graphqlUrl, { compiledPrompt: 'Ask first [sim:slow] [sim:ask]' });
    await waitForStatus(service.graphqlUrl, run.id, ['AWAITING_INPUT']);
    const since = (await pushedAt(stack.db.url, run.id)) + 200;
    await new Promise((resolve) => setTimeout(resolve, 2200));
    const reads = conversationReads(stack.sim, since);
    // 2 s at 400 ms is 5 reconciliations (at 50 ms it would be about 40 polls).
    expect(reads).toBeGreaterThanOrEqual(3);
    expect(reads).toBeLessThanOrEqual(6);
    stack.sim.complete(run.id);
  }, 30_000);

  it('heals lost pushes: every run still ends as upstream did, with a sane timeline', async () => {
    const pusher = stack.sim.pusher!;
    const [service] = stack.services;
    pusher.setLossRate(0.5);
    stack.push.random = seeded(7);
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      const run = await startRun(service.graphqlUrl, {
        compiledPrompt: i % 3 === 2 ? `Task ${i} [sim:fail]` : `Task ${i}`,
        repository: 'acme/widgets',
      });
      ids.push(run.id);
    }
    for (const id of ids) {
      const done = await finalRun(service.graphqlUrl, id, 30_000);
      expect(done.status, `run ${id}`).toBe(
        done.compiledPrompt.includes('[sim:fail]') ? 'FAILED' : 'COMPLETED',
      );
      expectSaneTimeline(await getRun(service.graphqlUrl, id));
    }
    expect(pusher.stats.batchesLost).toBeGreaterThan(0);
    expect(pusher.stats.batchesSent).toBeGreaterThan(0);
  }, 60_000);

  it('finishes a run whose every event batch is lost, by reconciliation alone', async () => {
    const pusher = stack.sim.pusher!;
    const [service] = stack.services;
    pusher.setLossRate(1);
    const sentBefore = pusher.stats.batchesSent;
    const run = await startRun(service.graphqlUrl, {
      compiledPrompt: 'All lost',
      repository: 'acme/widgets',
    });
    const done = await finalRun(service.graphqlUrl, run.id, 20_000);
    expect(done.status).toBe('COMPLETED');
    expect(pusher.stats.batchesSent).toBe(sentBefore);
  }, 30_000);
});

describe('replicas', () => {
  it('takes a push on one replica and shows it to a subscriber on another', async () => {
    const { services } = await startPushStack({ OPENHANDS_RECONCILE_MS: '600000' }, {}, 2);
    const [first, second] = services;
    const run = await startRun(first.graphqlUrl, {
      compiledPrompt: 'Across replicas',
      repository: 'acme/widgets',
    });
    const client = wsClient(first.url);
    const seen = collectWs<LiveEventMessage>(client, RUN_PROGRESS, { runId: run.id });
    try {
      await waitFor('the subscriber on the first replica to see COMPLETED', async () =>
        seen.items.some((e) => e.status === 'COMPLETED'),
      );
    } finally {
      seen.stop();
      await client.dispose();
    }
    const accepted = 'openhands_runner_openhands_pushes_total{route="events",outcome="accepted"}';
    expect(await metric(second.url, accepted)).toBeGreaterThan(0);
    expect(await metric(first.url, accepted)).toBe(0);
  }, 30_000);
});
