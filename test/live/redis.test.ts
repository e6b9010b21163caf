import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect } from 'vitest';
import { test } from '../support/fixtures.js';
import { GET_RUN, gql, START_RUN, waitFor } from '../support/graphql.js';
import { collectWs, expectContiguous, RUN_PROGRESS, wsClient } from '../support/live.js';
import { type RunningService, startService } from '../support/service.js';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

test.override({ simulatorOptions: { apiVersion: 'v1', stepMs: 40 } });

describe('live progress over Redis pub/sub (REDIS_URL)', () => {
  let front: RunningService;
  let worker: RunningService;
  // A channel of this file's own, so parallel test files never hear each other.
  const channel = `ohr-test-${randomBytes(4).toString('hex')}`;

  test.beforeAll(async ({ db, sim }) => {
    const env = { REDIS_URL, REDIS_CHANNEL: channel };
    front = await startService(db.url, sim.url, { ...env, POLLER_ENABLED: 'false' }, { instanceId: 'front' });
    worker = await startService(db.url, sim.url, env, { instanceId: 'worker' });
  });
  afterAll(async () => {
    await front?.stop();
    await worker?.stop();
  });

  test('carries progress written by one instance to subscribers on another, through a Redis reconnect', async () => {
    const client = wsClient(front.url);
    const res = await gql(front.graphqlUrl, START_RUN, {
      input: { projectId: 'redis', compiledPrompt: '[sim:slow] via redis', repository: 'acme/app' },
    });
    const id = res.data!.startRun.run.id as string;
    const sub = collectWs(client, RUN_PROGRESS, { runId: id, afterSeq: 0 });
    await waitFor('the run to be running', async () => sub.items.some((e) => e.status === 'RUNNING'));

    // Drop every subscriber connection of this file's channel holders: ioredis reconnects and resyncs.
    const admin = new Redis(REDIS_URL);
    const killed = await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
    await admin.quit();
    expect(Number(killed)).toBeGreaterThan(0);
    // Listen in on the channel: the notices after the reconnect must really travel through Redis.
    const listener = new Redis(REDIS_URL);
    const heard: number[] = [];
    listener.on('message', (_channel: string, payload: string) => {
      const notice = JSON.parse(payload);
      if (notice.runId === id) heard.push(notice.seq);
    });
    await listener.subscribe(channel);

    await sub.done;
    await listener.quit();
    await client.dispose();
    expect(sub.errors).toEqual([]);
    const seqs = sub.items.map((e) => e.seq);
    expectContiguous(seqs);
    expect(sub.items.at(-1)!.status).toBe('COMPLETED');
    const stored = await gql(front.graphqlUrl, GET_RUN, { id });
    expect(seqs).toEqual(stored.data!.run.events.edges.map((e: { node: { seq: number } }) => e.node.seq));
    expect(heard.length).toBeGreaterThan(0);
    expect(heard.at(-1)).toBe(seqs.at(-1));
  });
});
