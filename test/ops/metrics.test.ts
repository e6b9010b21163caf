import { readFileSync } from 'node:fs';
import { describe, expect } from 'vitest';
import { test } from '../support/fixtures.js';
import { gql, waitFor } from '../support/graphql.js';
import { collectWs, wsClient } from '../support/live.js';
import { getMetrics, ROOT, sample } from '../support/ops.js';
import { finalRun, startRun } from '../support/runs.js';
import { GITHUB_SECRET, postGitHub, pullRequestPayload } from '../support/webhooks.js';

const METRICS_TOKEN = 'metrics-token-for-tests';

// The default fixtures: a simulator with room for 100 conversations, and the service on API v1.
test.override({ serviceEnv: { METRICS_TOKEN, GITHUB_WEBHOOK_SECRET: GITHUB_SECRET } });

describe('GET /metrics', () => {
  test('needs METRICS_TOKEN when one is set', async ({ service }) => {
    expect((await getMetrics(service.url)).status).toBe(401);
    expect((await getMetrics(service.url, 'wrong')).status).toBe(401);
    const ok = await getMetrics(service.url, METRICS_TOKEN);
    expect(ok.status).toBe(200);
    expect(ok.type).toContain('text/plain');
    expect(ok.type).toContain('version=0.0.4');
  });

  test('in production without METRICS_TOKEN: refused with 403 saying how to turn it on', async ({
    launch,
  }) => {
    const prod = await launch({ POLLER_ENABLED: 'false', NODE_ENV: 'production' });
    try {
      const refused = await fetch(`${prod.url}/metrics`);
      expect(refused.status).toBe(403);
      const body = (await refused.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('METRICS_DISABLED');
      expect(body.error.message).toContain('METRICS_TOKEN');
      expect((await getMetrics(prod.url, 'anything')).status).toBe(403);
    } finally {
      await prod.stop();
    }
    const secured = await launch({
      POLLER_ENABLED: 'false',
      NODE_ENV: 'production',
      METRICS_TOKEN,
    });
    try {
      expect((await getMetrics(secured.url)).status).toBe(401);
      expect((await getMetrics(secured.url, METRICS_TOKEN)).status).toBe(200);
    } finally {
      await secured.stop();
    }
  });

  test('cloudrun.yaml sets METRICS_TOKEN, filled by the deploy workflow', () => {
    const service = readFileSync(`${ROOT}/cloudrun.yaml`, 'utf8');
    expect(service).toMatch(/- name: NODE_ENV\s+value: production/);
    expect(service).toMatch(/- name: METRICS_TOKEN\s/);
    const deploy = readFileSync(`${ROOT}/.github/workflows/deploy.yml`, 'utf8');
    expect(deploy).toContain('select(.name == "METRICS_TOKEN") | .value) = strenv(METRICS_TOKEN)');
    expect(deploy).toMatch(/METRICS_TOKEN: \$\{\{ secrets\.METRICS_TOKEN \}\}/);
  });

  test('is public without METRICS_TOKEN outside production', async ({ launch }) => {
    const open = await launch({ POLLER_ENABLED: 'false' });
    try {
      expect((await getMetrics(open.url)).status).toBe(200);
    } finally {
      await open.stop();
    }
  });

  test('lists every family, and they move with a run, a subscription and a webhook', async ({ service }) => {
    const before = (await getMetrics(service.url, METRICS_TOKEN)).text;
    for (const family of [
      'openhands_runner_graphql_operations_total',
      'openhands_runner_graphql_operation_duration_seconds',
      'openhands_runner_openhands_requests_total',
      'openhands_runner_openhands_request_duration_seconds',
      'openhands_runner_runs',
      'openhands_runner_poll_lag_seconds',
      'openhands_runner_webhook_deliveries',
      'openhands_runner_open_subscriptions',
      'openhands_runner_websocket_connections',
      'openhands_runner_subscription_events_total',
      'openhands_runner_database_up',
      'openhands_runner_process_cpu_user_seconds_total',
    ]) {
      expect(before, family).toContain(`# TYPE ${family} `);
    }
    expect(sample(before, 'openhands_runner_runs', { status: 'COMPLETED' })).toBe(0);
    expect(sample(before, 'openhands_runner_database_up')).toBe(1);

    // A subscription is open while we look.
    const client = wsClient(service.url);
    const sub = collectWs(client, 'subscription { runsChanged { seq } }', {});
    await waitFor('the subscription', async () => service.app.live.open === 1);

    const run = await startRun(service.graphqlUrl, {
      compiledPrompt: 'measured run',
      repository: 'acme/widgets',
    });
    const done = await finalRun(service.graphqlUrl, run.id);
    expect(done.status).toBe('COMPLETED');

    const delivery = await postGitHub(
      service,
      pullRequestPayload('opened', { repository: 'acme/unrelated', number: 4242, headRef: 'feature/none' }),
    );
    expect(delivery.status).toBeLessThan(300);

    const after = (await getMetrics(service.url, METRICS_TOKEN)).text;
    const moved = (name: string, labels: Record<string, string> = {}) =>
      sample(after, name, labels) - sample(before, name, labels);

    expect(
      moved('openhands_runner_graphql_operations_total', {
        type: 'mutation',
        field: 'startRun',
        outcome: 'ok',
      }),
    ).toBe(1);
    expect(
      moved('openhands_runner_graphql_operations_total', { type: 'query', field: 'run', outcome: 'ok' }),
    ).toBeGreaterThan(0);
    expect(
      moved('openhands_runner_graphql_operation_duration_seconds_count', {
        type: 'mutation',
        field: 'startRun',
      }),
    ).toBe(1);
    expect(
      moved('openhands_runner_openhands_requests_total', {
        route: 'POST /api/v1/app-conversations',
        outcome: '2xx',
      }),
    ).toBe(1);
    expect(
      moved('openhands_runner_openhands_request_duration_seconds_count', { outcome: '2xx' }),
    ).toBeGreaterThan(1);
    expect(sample(after, 'openhands_runner_runs', { status: 'COMPLETED' })).toBe(1);
    expect(sample(after, 'openhands_runner_runs', { status: 'QUEUED' })).toBe(0);
    expect(sample(after, 'openhands_runner_poll_lag_seconds')).toBeGreaterThanOrEqual(0);
    expect(sample(after, 'openhands_runner_webhook_deliveries', { provider: 'GITHUB' })).toBe(1);
    expect(sample(after, 'openhands_runner_open_subscriptions')).toBe(1);
    expect(sample(after, 'openhands_runner_websocket_connections')).toBe(1);

    sub.stop();
    await client.dispose();
    await waitFor('the subscription to close', async () => service.app.live.open === 0);
    const closed = (await getMetrics(service.url, METRICS_TOKEN)).text;
    expect(sample(closed, 'openhands_runner_open_subscriptions')).toBe(0);
  });

  test('counts refused operations and reports poll lag for an overdue run', async ({ service }) => {
    const before = (await getMetrics(service.url, METRICS_TOKEN)).text;
    await gql(service.graphqlUrl, '{ nope }');
    // An active run that missed its poll by a minute, as after a stalled replica.
    const run = await startRun(service.graphqlUrl, { compiledPrompt: 'overdue [sim:hang]' });
    await waitFor('the run to be running', async () => {
      const row = await service.app.database.prisma.run.findUnique({ where: { id: run.id } });
      return row?.status === 'RUNNING';
    });
    await service.app.poller.stop();
    await service.app.database.prisma.run.update({
      where: { id: run.id },
      data: { nextPollAt: new Date(Date.now() - 60_000), leaseOwner: null, leaseExpiresAt: null },
    });
    const after = (await getMetrics(service.url, METRICS_TOKEN)).text;
    expect(
      sample(after, 'openhands_runner_graphql_operations_total', { outcome: 'rejected' }) -
        sample(before, 'openhands_runner_graphql_operations_total', { outcome: 'rejected' }),
    ).toBe(1);
    expect(sample(after, 'openhands_runner_poll_lag_seconds')).toBeGreaterThanOrEqual(59);
    expect(sample(after, 'openhands_runner_runs', { status: 'RUNNING' })).toBe(1);
  });
});
