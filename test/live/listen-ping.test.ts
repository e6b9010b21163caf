import { describe, expect } from 'vitest';
import { test as fixtures } from '../support/fixtures.js';
import { GET_RUN, gql, waitFor, waitForStatus } from '../support/graphql.js';
import { changeTo, openRunsChanged } from '../support/live.js';
import { CANCEL_RUN, startRun } from '../support/runs.js';
import { startService } from '../support/service.js';
import { startTcpProxy } from '../support/tcp-proxy.js';

const test = fixtures;
test.override({ simulatorOptions: { apiVersion: 'v1', stepMs: 40 } });

describe('a LISTEN connection dropped without a word (a NAT or proxy forgot it)', () => {
  test('is found out by its ping, replaced, and every list subscriber catches up', async ({
    db,
    sim,
    launch,
    onTestFinished,
  }) => {
    // The poller's replica talks to the database directly; the one clients use goes through a
    // proxy that can silence its connections.
    await launch({}, { instanceId: 'worker' });
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

    const { id } = await startRun(front.graphqlUrl, {
      projectId: 'nat',
      compiledPrompt: '[sim:hang] behind a NAT',
      repository: 'acme/app',
    });
    await waitForStatus(front.graphqlUrl, id, ['RUNNING']);
    const list = await openRunsChanged(front, 'nat');

    // The LISTEN connection goes silent but stays open: without a ping the service would wait for
    // TCP keep-alive (hours) and hear nothing meanwhile.
    await waitFor('the LISTEN connection to freeze', async () => proxy.freeze(/LISTEN ohr_run_events/) === 1);
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
  });
});
