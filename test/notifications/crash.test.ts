import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { type ChildService, spawnService } from '../support/child-service.js';
import { test } from '../support/fixtures.js';
import { Receiver } from '../support/receiver.js';
import { gql, sql, startRun, waitFor } from '../support/runs.js';
import { type RunningService, startService } from '../support/service.js';

const CREATE = `mutation($input: CreateWebhookEndpointInput!) {
  createWebhookEndpoint(input: $input) { secret endpoint { id } } }`;

test.override({ simulatorOptions: { stepMs: 40 } });

describe('a replica killed (SIGKILL) mid-delivery', () => {
  let child: ChildService | undefined;
  let survivor: RunningService | undefined;
  const hook = new Receiver();
  const env = {
    NOTIFY_ALLOW_HTTP: 'true',
    NOTIFY_ALLOW_PRIVATE: 'true',
    NOTIFY_POLL_INTERVAL_MS: '50',
    NOTIFY_LEASE_MS: '1000',
  };

  beforeAll(async () => {
    await hook.start();
  });
  afterAll(async () => {
    await child?.kill();
    await survivor?.stop();
    await hook.stop();
  });

  test('leaves the delivery to another replica once its lease runs out: sent again, same webhook-id', async ({
    db,
    sim,
  }) => {
    child = await spawnService(db.url, sim.url, env, 'doomed');
    const created = await gql(child.graphqlUrl, CREATE, {
      input: { projectId: 'crash', url: hook.url(), events: ['RUN_STARTED'] },
    });
    expect(created.errors).toBeUndefined();
    const { secret } = created.data!.createWebhookEndpoint;
    hook.answers = [0]; // the first request is never answered
    const run = await startRun(child.graphqlUrl, { projectId: 'crash', compiledPrompt: 'Hang [sim:hang]' });
    await waitFor('the first attempt', async () => hook.received.length >= 1);
    await child.kill();
    child = undefined;

    survivor = await startService(db.url, sim.url, env, { instanceId: 'survivor' });
    await waitFor('the second attempt', async () => hook.received.length >= 2, 10_000);
    const [first, second] = hook.received;
    expect(second.headers['webhook-id']).toBe(first.headers['webhook-id']);
    expect(new Webhook(secret).verify(second.body, second.headers as Record<string, string>)).toMatchObject({
      type: 'RUN_STARTED',
      data: { run: { run_id: run.id } },
    });
    const rows = await waitFor('the delivery recorded', async () => {
      const found = await sql<{ status: string; attempts: number }>(
        db.url,
        'SELECT status, attempts FROM "NotificationDelivery" WHERE "runId" = $1',
        [run.id],
      );
      return found[0]?.status === 'DELIVERED' ? found : undefined;
    });
    // The killed attempt never recorded anything: one recorded attempt, one row.
    expect(rows).toEqual([{ status: 'DELIVERED', attempts: 1 }]);
    expect(hook.received).toHaveLength(2);
  });
});
