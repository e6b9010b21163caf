import { randomBytes } from 'node:crypto';
import { describe, expect } from 'vitest';
import { test as fixtures } from '../support/fixtures.js';
import { GET_RUN, gql, waitFor, waitForStatus } from '../support/graphql.js';
import { changeTo, openRunsChanged } from '../support/live.js';
import { CANCEL_RUN, startRun } from '../support/runs.js';
import { type RunningService, startService } from '../support/service.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

const test = fixtures
  /** Does all the polling, straight to the database; no test talks to it, so it starts with the file. */
  .extend('worker', { scope: 'file', auto: true }, ({ launch }) => launch({}, { instanceId: 'worker' }));
test.override({ simulatorOptions: { apiVersion: 'v1', stepMs: 40 } });

/**
 * The replica clients use reaches its notice connection through `proxy`: silence that connection
 * (still open, nothing gets through), cancel a run, and its list subscriber must still see it.
 */
async function expectCatchUpAfterSilence(front: RunningService, proxy: TcpProxy, connection: RegExp) {
  const projectId = `nat-${randomBytes(3).toString('hex')}`;
  const { id } = await startRun(front.graphqlUrl, {
    projectId,
    compiledPrompt: '[sim:hang] behind a NAT',
    repository: 'acme/app',
  });
  await waitForStatus(front.graphqlUrl, id, ['RUNNING']);
  const list = await openRunsChanged(front, projectId);

  // Without a ping the service would wait for TCP keep-alive (hours) and hear nothing meanwhile.
  await waitFor('the notice connection to freeze', async () => proxy.freeze(connection) === 1);
  const cancelled = await gql(front.graphqlUrl, CANCEL_RUN, { id });
  expect(cancelled.errors).toBeUndefined();
  const heard = await waitFor('runsChanged to show the run CANCELLED', async () =>
    changeTo(list, id, 'CANCELLED'),
  );
  list.stop();
  await list.client.dispose();
  expect(list.errors).toEqual([]);
  // What it heard is the log's CANCELLED event (or later), not a guess.
  const stored = await gql(front.graphqlUrl, GET_RUN, { id });
  const cancelEvent = stored.data!.run.events.edges.find(
    (e: { node: { status: string } }) => e.node.status === 'CANCELLED',
  );
  expect(heard.seq).toBeGreaterThanOrEqual(cancelEvent.node.seq);
}

describe('a notice connection dropped without a word (a NAT or proxy forgot it)', () => {
  test('LISTEN: found out by its ping, replaced, and every list subscriber catches up', async ({
    db,
    sim,
    onTestFinished,
  }) => {
    const proxy = await startTcpProxy(Number(new URL(db.url).port || 5432));
    const front = await startService(
      proxy.urlFor(db.url),
      sim.url,
      { POLLER_ENABLED: 'false', LISTEN_PING_MS: '1000' },
      { instanceId: 'behind-nat' },
    );
    onTestFinished(async () => {
      await front.stop();
      await proxy.close();
    });
    await expectCatchUpAfterSilence(front, proxy, /LISTEN ohr_run_events/);
  });

  test('Redis (REDIS_URL): the subscriber connection is found out and replaced the same way', async ({
    db,
    sim,
    onTestFinished,
  }) => {
    const redis = new URL(REDIS_URL);
    const proxy = await startTcpProxy(Number(redis.port || 6379), redis.hostname);
    const front = await startService(
      db.url,
      sim.url,
      {
        REDIS_URL: proxy.urlFor(REDIS_URL),
        // A channel of this test's own, so parallel test files never hear each other.
        REDIS_CHANNEL: `ohr-test-${randomBytes(4).toString('hex')}`,
        POLLER_ENABLED: 'false',
        LISTEN_PING_MS: '1000',
      },
      { instanceId: 'redis-behind-nat' },
    );
    onTestFinished(async () => {
      await front.stop();
      await proxy.close();
    });
    // The subscriber connection is the one that sent SUBSCRIBE (the publisher never does).
    await expectCatchUpAfterSilence(front, proxy, /subscribe/i);
  });
});
