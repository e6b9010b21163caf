import pg from 'pg';
import { describe, expect } from 'vitest';
import WebSocket from 'ws';
import { LISTEN_APPLICATION_NAME } from '../../src/live/bus.js';
import { test as fixtures } from '../support/fixtures.js';
import { GET_RUN, gql, waitFor } from '../support/graphql.js';
import {
  changeTo,
  collectSse,
  collectWs,
  expectContiguous,
  type LiveEventMessage,
  openRunsChanged,
  RUN_PROGRESS,
  wsClient,
} from '../support/live.js';
import { sql, startRun } from '../support/runs.js';
import { type RunningService, TEST_TOKEN } from '../support/service.js';

const test = fixtures
  /** Does all the polling; no test talks to it, so it starts with the file. */
  .extend('worker', { scope: 'file', auto: true }, ({ launch }) =>
    launch({ POLL_LEASE_MS: '2000' }, { instanceId: 'worker' }),
  )
  /** Serves clients only: its poller is off. */
  .extend('front', { scope: 'file' }, ({ launch }) =>
    launch({ POLLER_ENABLED: 'false' }, { instanceId: 'front' }),
  );
test.override({ simulatorOptions: { apiVersion: 'v1', stepMs: 40 } });

describe('live progress across replicas and faults', () => {
  /** A run on acme/app through the shared startRun; returns its id. */
  async function startAppRun(url: string, prompt: string, projectId = 'replicas') {
    return (await startRun(url, { projectId, compiledPrompt: prompt, repository: 'acme/app' })).id as string;
  }

  async function storedSeqs(front: RunningService, id: string): Promise<number[]> {
    const res = await gql(front.graphqlUrl, GET_RUN, { id });
    return res.data!.run.events.edges.map((e: { node: { seq: number } }) => e.node.seq);
  }

  test("shows on one instance the progress that another instance's poller wrote", async ({ front }) => {
    const client = wsClient(front.url);
    const id = await startAppRun(front.graphqlUrl, '[sim:slow] cross-replica');
    const sub = collectWs(client, RUN_PROGRESS, { runId: id, afterSeq: 0 });
    await sub.done;
    await client.dispose();
    expect(sub.errors).toEqual([]);
    const seqs = sub.items.map((e) => e.seq);
    expect(seqs[0]).toBe(1);
    expectContiguous(seqs);
    expect(sub.items.at(-1)!.status).toBe('COMPLETED');
    expect(seqs).toEqual(await storedSeqs(front, id));
  });

  test('keeps a subscription whole through a database restart (every connection killed mid-run)', async ({
    db,
    front,
  }) => {
    const client = wsClient(front.url);
    const id = await startAppRun(front.graphqlUrl, '[sim:slow] survive a restart');
    const sub = collectWs(client, RUN_PROGRESS, { runId: id, afterSeq: 0 });
    await waitFor('the run to be running', async () => sub.items.some((e) => e.status === 'RUNNING'));
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    // What a restart looks like from the service: every connection to its database dies at once.
    const killed = await admin.query(
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
      [db.name],
    );
    await admin.end();
    expect(killed.rowCount).toBeGreaterThan(1);
    await sub.done;
    await client.dispose();
    expect(sub.errors).toEqual([]);
    const seqs = sub.items.map((e) => e.seq);
    expectContiguous(seqs);
    expect(sub.items.at(-1)!.status).toBe('COMPLETED');
    expect(seqs).toEqual(await storedSeqs(front, id));
  });

  test('lets a slow consumer fall behind without holding up others, then catch up in order', async ({
    front,
  }) => {
    const id = await startAppRun(front.graphqlUrl, '[sim:slow] slow reader');
    // A raw graphql-transport-ws client whose socket stops reading (TCP backpressure).
    const slow = new WebSocket(`${front.url.replace('http', 'ws')}/graphql`, 'graphql-transport-ws');
    const received: LiveEventMessage[] = [];
    let completed = false;
    slow.on('message', (raw) => {
      const msg = JSON.parse(String(raw));
      if (msg.type === 'connection_ack') {
        slow.send(
          JSON.stringify({
            id: '1',
            type: 'subscribe',
            payload: { query: RUN_PROGRESS, variables: { runId: id, afterSeq: 0 } },
          }),
        );
      } else if (msg.type === 'next') {
        received.push(msg.payload.data.runProgress);
      } else if (msg.type === 'complete') {
        completed = true;
      }
    });
    await new Promise((resolve) => slow.once('open', resolve));
    slow.send(
      JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${TEST_TOKEN}` } }),
    );
    await waitFor('the first event', async () => received.length > 0);
    (slow as unknown as { _socket: { pause(): void } })._socket.pause();
    const pausedAt = received.length;

    const fast = wsClient(front.url);
    const quick = collectWs(fast, RUN_PROGRESS, { runId: id, afterSeq: 0 });
    await quick.done;
    await fast.dispose();
    expect(quick.items.at(-1)!.status).toBe('COMPLETED');
    // While paused the slow reader got nothing more, yet the fast one finished.
    expect(received.length).toBe(pausedAt);

    (slow as unknown as { _socket: { resume(): void } })._socket.resume();
    await waitFor('the slow reader to complete', async () => completed);
    slow.close();
    expect(received.map((e) => e.seq)).toEqual(quick.items.map((e) => e.seq));
  });

  test('holds no queue for a subscriber that stops pulling: it reads from the log when asked', async ({
    front,
  }) => {
    const id = await startAppRun(front.graphqlUrl, 'nobody pulls');
    const principal = { name: 'test', projects: null };
    const iterator = await front.app.live.runProgress(id, 0, principal);
    await waitFor('the run to finish', async () => {
      const res = await gql(front.graphqlUrl, GET_RUN, { id });
      return res.data!.run.status === 'COMPLETED';
    });
    const seqs: number[] = [];
    for await (const event of { [Symbol.asyncIterator]: () => iterator }) seqs.push(event.seq);
    expect(seqs).toEqual(await storedSeqs(front, id));
    expect(front.app.live.open).toBe(0);
  });

  test('streams runsChanged for the matching project only', async ({ front }) => {
    const client = wsClient(front.url);
    const seen: Array<{ run: { id: string; projectId: string; status: string } }> = [];
    const sub = collectWs<{ run: { id: string; projectId: string; status: string } }>(
      client,
      'subscription($p: String) { runsChanged(projectId: $p) { seq run { id projectId status } } }',
      { p: 'dash-a' },
      (item) => seen.push(item),
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    const a1 = await startAppRun(front.graphqlUrl, 'a1', 'dash-a');
    const a2 = await startAppRun(front.graphqlUrl, 'a2', 'dash-a');
    const b1 = await startAppRun(front.graphqlUrl, 'b1', 'dash-b');
    await waitFor('both dash-a runs to complete', async () =>
      [a1, a2].every((id) => seen.some((m) => m.run.id === id && m.run.status === 'COMPLETED')),
    );
    sub.stop();
    await client.dispose();
    expect(seen.every((m) => m.run.projectId === 'dash-a')).toBe(true);
    expect(seen.some((m) => m.run.id === b1)).toBe(false);
  });

  test('runsChanged catches up on a change whose notice was lost, once its LISTEN connection is back', async ({
    db,
    front,
  }) => {
    const id = await startAppRun(front.graphqlUrl, '[sim:hang] missed notice', 'dash-gap');
    await waitFor('the run to be running', async () => {
      const res = await gql(front.graphqlUrl, GET_RUN, { id });
      return res.data!.run.status === 'RUNNING';
    });
    // Polls that find nothing new touch updatedAt (leases) but not changedAt, which the catch-up reads.
    type Stamps = { changedAt: Date; updatedAt: Date };
    const stampsOf = async () =>
      (await sql<Stamps>(db.url, 'SELECT "changedAt", "updatedAt" FROM "Run" WHERE id = $1', [id]))[0];
    const running = await stampsOf();
    const polled = await waitFor('an idle poll', async () => {
      const now = await stampsOf();
      return now.updatedAt.getTime() > running.updatedAt.getTime() && now;
    });
    expect(polled.changedAt).toEqual(running.changedAt);

    const sub = await openRunsChanged(front, 'dash-gap');
    // A commit whose NOTIFY this replica never heard: what a write looks like to it while its LISTEN
    // connection is down (the run cancelled, with its event, in one statement and without a notice).
    await sql(
      db.url,
      `WITH r AS (
         UPDATE "Run" SET status = 'CANCELLED', phase = 'cancelled', "lastSeq" = "lastSeq" + 1,
           "finishedAt" = now(), "updatedAt" = now(), "changedAt" = now()
         WHERE id = $1 RETURNING id, "lastSeq", percent)
       INSERT INTO "RunEvent" ("runId", seq, type, status, percent, phase, message)
       SELECT id, "lastSeq", 'STATUS_CHANGED', 'CANCELLED', percent, 'cancelled', 'written unannounced' FROM r`,
      [id],
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(changeTo(sub, id, 'CANCELLED')).toBeUndefined();

    // The LISTEN connections die (a database restart, a proxy dropping idle sockets) and come back.
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    const killed = await admin.query(
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND application_name = $2',
      [db.name, LISTEN_APPLICATION_NAME],
    );
    await admin.end();
    expect(killed.rowCount).toBeGreaterThan(0);
    const caughtUp = await waitFor('the missed change', async () => changeTo(sub, id, 'CANCELLED'));
    sub.stop();
    await sub.client.dispose();
    expect(sub.errors).toEqual([]);
    const stored = await gql(front.graphqlUrl, GET_RUN, { id });
    expect(caughtUp.seq).toBe(stored.data!.run.events.edges.at(-1).node.seq);
  });

  test('refuses subscriptions without a valid token on both transports', async ({ front }) => {
    for (const token of [null, 'wrong-token']) {
      const closed = new Promise<number>((resolve) => {
        const client = wsClient(front.url, token, {
          on: { closed: (event) => resolve((event as { code: number }).code) },
        });
        collectWs(client, RUN_PROGRESS, { runId: 'run_00000000000000000000000000' });
      });
      expect(await closed).toBe(4403);

      const sse = collectSse(front.url, RUN_PROGRESS, { runId: 'run_00000000000000000000000000' }, token);
      await sse.done.catch(() => {});
      sse.client.dispose();
      expect(sse.items).toEqual([]);
      expect(String(sse.errors[0])).toMatch(/401|UNAUTHENTICATED/);
    }
  });
});
