import { Webhook } from 'standardwebhooks';
import { afterAll, describe, expect } from 'vitest';
import { createApiToken } from '../../src/auth/token-admin.js';
import { TokenStore } from '../../src/auth/token-store.js';
import { NotificationStore } from '../../src/notifications/store.js';
import { DISABLE_AFTER_MS } from '../../src/notifications/worker.js';
import { test } from '../support/fixtures.js';
import { freePort } from '../support/ops.js';
import { type Received, Receiver } from '../support/receiver.js';
import { CANCEL_RUN, finalRun, gql, sql, startRun, waitFor, waitForStatus } from '../support/runs.js';
import { type RunningService, startService, TEST_TOKEN } from '../support/service.js';

const ENDPOINT = 'id projectId url events enabled disabledReason failingSince previousSecretExpiresAt';
const CREATE = `mutation($input: CreateWebhookEndpointInput!) {
  createWebhookEndpoint(input: $input) { secret endpoint { ${ENDPOINT} } } }`;
const UPDATE = `mutation($input: UpdateWebhookEndpointInput!) { updateWebhookEndpoint(input: $input) { endpoint { ${ENDPOINT} } } }`;
const ROTATE = `mutation($id: ID!, $overlap: Int) { rotateWebhookSecret(id: $id, overlapSeconds: $overlap) { secret endpoint { ${ENDPOINT} } } }`;
const DELETE = 'mutation($id: ID!) { deleteWebhookEndpoint(id: $id) { id deleted } }';
const ENDPOINTS = `query($projectId: String!) { webhookEndpoints(projectId: $projectId) { ${ENDPOINT} } }`;
const DELIVERY =
  'id runId seq type status attempts lastStatusCode lastError lastAttemptAt nextAttemptAt deliveredAt';
const DELIVERIES = `query($id: ID!, $first: Int, $after: String) { webhookDeliveries(endpointId: $id, first: $first, after: $after) {
  totalCount pageInfo { hasNextPage endCursor } edges { node { ${DELIVERY} } } } }`;
const REDELIVER = `mutation($id: ID!) { redeliverWebhook(deliveryId: $id) { delivery { ${DELIVERY} } } }`;

const ALL_TYPES = [
  'RUN_STARTED',
  'RUN_AWAITING_INPUT',
  'RUN_COMPLETED',
  'RUN_FAILED',
  'RUN_CANCELLED',
  'RUN_TIMED_OUT',
  'PULL_REQUEST_CHANGED',
];

interface Payload {
  type: string;
  timestamp: string;
  data: { run: { run_id: string; status: string; pull_request: unknown } };
}

/** Verifies each request with the standardwebhooks package and returns the payloads. */
function verified(requests: Received[], secret: string): Payload[] {
  const webhook = new Webhook(secret);
  return requests.map((r) => webhook.verify(r.body, r.headers as Record<string, string>) as Payload);
}

/** One sample of the service's /metrics text (0 when the series is absent). */
async function metricValue(service: RunningService, series: string): Promise<number> {
  const text = (await service.app.metrics.render()).body;
  const line = text.split('\n').find((l) => l.startsWith(`openhands_runner_${series} `));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

test.override({ simulatorOptions: { stepMs: 40 } });

describe('run notifications (signed outbound webhooks)', () => {
  let a: RunningService;
  let b: RunningService;
  const receivers: Receiver[] = [];

  const env = {
    NOTIFY_ALLOW_HTTP: 'true',
    NOTIFY_ALLOW_PRIVATE: 'true',
    NOTIFY_SECRET_KEY: 'test-notify-key-0123456789abcdef',
    NOTIFY_POLL_INTERVAL_MS: '50',
    RUN_STALL_TIMEOUT_MS: '2000',
  };

  async function receiver(port?: number): Promise<Receiver> {
    const started = await new Receiver().start(port);
    receivers.push(started);
    return started;
  }

  async function createEndpoint(projectId: string, url: string, events: string[], via = a) {
    const res = await gql(via.graphqlUrl, CREATE, { input: { projectId, url, events } });
    expect(res.errors).toBeUndefined();
    return res.data!.createWebhookEndpoint as { secret: string; endpoint: { id: string } };
  }

  async function deliveries(endpointId: string): Promise<Array<Record<string, any>>> {
    const res = await gql(a.graphqlUrl, DELIVERIES, { id: endpointId, first: 100 });
    expect(res.errors).toBeUndefined();
    return res.data!.webhookDeliveries.edges.map((e: { node: unknown }) => e.node);
  }

  /** notification_attempts_total{labels}: each replica counts its own, so summed over both. */
  const attempts = async (labels: string) =>
    (await metricValue(a, `notification_attempts_total{${labels}}`)) +
    (await metricValue(b, `notification_attempts_total{${labels}}`));

  test.beforeAll(async ({ db, sim }) => {
    // Two replicas on one database; retries 100x faster than in production.
    const app = { notifyRetryScale: 0.01 };
    a = await startService(db.url, sim.url, env, { instanceId: 'replica-a', app });
    b = await startService(db.url, sim.url, env, { instanceId: 'replica-b', app });
  });
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    for (const r of receivers) await r.stop();
  });

  test('delivers every event type once per change, signed, across two replicas', async ({ db, sim }) => {
    const hook = await receiver();
    const { secret, endpoint } = await createEndpoint('events', hook.url(), ALL_TYPES);
    const start = (via: RunningService, prompt: string) =>
      startRun(via.graphqlUrl, { projectId: 'events', compiledPrompt: prompt, repository: 'acme/widgets' });

    const completed = await start(a, 'Fix the bug completed-run');
    const failed = await start(b, 'Break [sim:fail]');
    const asks = await start(a, 'Ask first [sim:ask] asking-run');
    const hangs = await start(b, 'Hang [sim:hang] timing-out-run');
    const cancelled = await start(a, 'Hang [sim:hang] cancelled-run');

    await waitForStatus(a.graphqlUrl, asks.id, ['AWAITING_INPUT']);
    sim.complete('asking-run');
    await waitForStatus(b.graphqlUrl, cancelled.id, ['RUNNING']);
    expect((await gql(b.graphqlUrl, CANCEL_RUN, { id: cancelled.id })).errors).toBeUndefined();
    for (const run of [completed, failed, asks, hangs, cancelled]) await finalRun(a.graphqlUrl, run.id);

    const expected: Record<string, string[]> = {
      [completed.id]: ['RUN_STARTED', 'RUN_COMPLETED', 'PULL_REQUEST_CHANGED'],
      [failed.id]: ['RUN_STARTED', 'RUN_FAILED'],
      [asks.id]: ['RUN_STARTED', 'RUN_AWAITING_INPUT', 'RUN_COMPLETED', 'PULL_REQUEST_CHANGED'],
      [hangs.id]: ['RUN_STARTED', 'RUN_TIMED_OUT'],
      [cancelled.id]: ['RUN_STARTED', 'RUN_CANCELLED'],
    };
    const total = Object.values(expected).flat().length;
    await waitFor('every notification', async () => hook.received.length >= total);
    await new Promise((resolve) => setTimeout(resolve, 500)); // any duplicate would arrive now

    const payloads = verified(hook.received, secret);
    expect(hook.received).toHaveLength(total);
    const ids = hook.received.map((r) => r.headers['webhook-id']);
    expect(new Set(ids).size).toBe(total);
    for (const [runId, types] of Object.entries(expected)) {
      const got = payloads.filter((p) => p.data.run.run_id === runId).map((p) => p.type);
      // Delivered in seq order per run; RUN_COMPLETED and PULL_REQUEST_CHANGED share a seq.
      expect(got.sort(), runId).toEqual([...types].sort());
    }
    const done = payloads.find((p) => p.data.run.run_id === completed.id && p.type === 'RUN_COMPLETED')!;
    expect(done.data.run).toMatchObject({ status: 'COMPLETED', pull_request: { provider: 'GITHUB' } });
    expect(done.timestamp).toMatch(/Z$/);

    const log = await deliveries(endpoint.id);
    expect(log).toHaveLength(total);
    expect(log.every((d) => d.status === 'DELIVERED' && d.attempts === 1 && d.lastStatusCode === 200)).toBe(
      true,
    );
    expect(log.map((d) => d.id).sort()).toEqual([...ids].sort());
    // Per endpoint and run, received in seq order.
    const seqOf = new Map(log.map((d) => [d.id, { runId: d.runId as string, seq: d.seq as number }]));
    for (const runId of Object.keys(expected)) {
      const seqs = ids
        .map((id) => seqOf.get(String(id))!)
        .filter((d) => d.runId === runId)
        .map((d) => d.seq);
      expect(seqs, runId).toEqual([...seqs].sort((x, y) => x - y));
    }

    // Stored encrypted: the secret is not in the database.
    const [row] = await sql<{ secret: string }>(
      db.url,
      'SELECT secret FROM "WebhookEndpoint" WHERE id = $1',
      [endpoint.id],
    );
    expect(row.secret).toMatch(/^enc:v1:/);
    expect(row.secret).not.toContain(secret.slice(6, 20));

    const metrics = (await a.app.metrics.render()).body;
    expect(metrics).toMatch(/openhands_runner_notification_deliveries\{status="DELIVERED"\} \d+/);
    expect(metrics).toMatch(/openhands_runner_notification_oldest_pending_seconds \d/);
  });

  test('retries a 500 with growing waits, then delivers the same message', async () => {
    const hook = await receiver();
    hook.answers = [500, 500];
    const { secret, endpoint } = await createEndpoint('retries', hook.url(), ['RUN_STARTED']);
    const run = await startRun(a.graphqlUrl, { projectId: 'retries', compiledPrompt: 'Hang [sim:hang]' });
    await waitFor('three attempts', async () => hook.received.length >= 3);
    const [first, second, third] = hook.received;
    expect([first.answered, second.answered, third.answered]).toEqual([500, 500, 200]);
    expect(new Set(hook.received.map((r) => r.headers['webhook-id'])).size).toBe(1);
    expect(new Set(hook.received.map((r) => r.body)).size).toBe(1);
    verified(hook.received, secret);
    // ~50 ms then ~300 ms (5 s and 30 s scaled by 0.01, ±20%).
    expect(second.at - first.at).toBeGreaterThanOrEqual(35);
    expect(third.at - second.at).toBeGreaterThanOrEqual(230);
    expect(third.at - second.at).toBeGreaterThan(second.at - first.at);
    const [delivery] = await waitFor('the delivery recorded', async () => {
      const log = await deliveries(endpoint.id);
      return log[0]?.status === 'DELIVERED' ? log : undefined;
    });
    expect(delivery).toMatchObject({ attempts: 3, lastStatusCode: 200, type: 'RUN_STARTED', runId: run.id });
    // Attempts are counted by the replica that made them: summed over both, at least these three.
    expect(await attempts('outcome="retry",result="5xx"')).toBeGreaterThanOrEqual(2);
    expect(await attempts('outcome="delivered",result="2xx"')).toBeGreaterThanOrEqual(1);
    await gql(a.graphqlUrl, CANCEL_RUN, { id: run.id });
  });

  test('honours Retry-After on 429', async () => {
    const hook = await receiver();
    hook.answers = [429];
    hook.retryAfter = '1';
    await createEndpoint('throttled', hook.url(), ['RUN_STARTED']);
    const run = await startRun(a.graphqlUrl, { projectId: 'throttled', compiledPrompt: 'Hang [sim:hang]' });
    await waitFor('two attempts', async () => hook.received.length >= 2);
    expect(hook.received[1].at - hook.received[0].at).toBeGreaterThanOrEqual(950);
    await gql(a.graphqlUrl, CANCEL_RUN, { id: run.id });
  });

  test('retries while the receiver is down, then delivers once it is up', async () => {
    const port = await freePort();
    const { secret, endpoint } = await createEndpoint('down', `http://127.0.0.1:${port}/hook`, [
      'RUN_STARTED',
    ]);
    const run = await startRun(a.graphqlUrl, { projectId: 'down', compiledPrompt: 'Hang [sim:hang]' });
    const failing = await waitFor('two failed attempts', async () => {
      const [d] = await deliveries(endpoint.id);
      return d && d.attempts >= 2 ? d : undefined;
    });
    expect(failing).toMatchObject({ status: 'PENDING', lastStatusCode: null });
    expect(failing.lastError).toMatch(/ECONNREFUSED/);
    const [listed] = (await gql(a.graphqlUrl, ENDPOINTS, { projectId: 'down' })).data!.webhookEndpoints;
    expect(listed.failingSince).toBeTruthy();
    // Queue depth and the oldest pending age while it waits (the gauges read the outbox).
    expect(await metricValue(a, 'notification_deliveries{status="PENDING"}')).toBeGreaterThanOrEqual(1);
    expect(await metricValue(b, 'notification_oldest_pending_seconds')).toBeGreaterThan(0);
    expect(await attempts('outcome="retry",result="network"')).toBeGreaterThanOrEqual(2);

    const hook = await receiver(port);
    await waitFor('the delivery', async () => hook.received.length >= 1, 10_000);
    expect(verified(hook.received, secret)[0]).toMatchObject({
      type: 'RUN_STARTED',
      data: { run: { run_id: run.id } },
    });
    await waitFor('failingSince cleared', async () => {
      const [e] = (await gql(a.graphqlUrl, ENDPOINTS, { projectId: 'down' })).data!.webhookEndpoints;
      return e.failingSince === null;
    });
    await gql(a.graphqlUrl, CANCEL_RUN, { id: run.id });
  });

  test('disables an endpoint that answers 410; re-enabled, a delivery can be sent again', async () => {
    const hook = await receiver();
    hook.answers = [410];
    const { endpoint } = await createEndpoint('gone', hook.url(), ['RUN_STARTED', 'RUN_CANCELLED']);
    const run = await startRun(a.graphqlUrl, { projectId: 'gone', compiledPrompt: 'Hang [sim:hang]' });
    const disabled = await waitFor('the endpoint disabled', async () => {
      const [e] = (await gql(a.graphqlUrl, ENDPOINTS, { projectId: 'gone' })).data!.webhookEndpoints;
      return e.enabled ? undefined : e;
    });
    expect(disabled.disabledReason).toMatch(/410/);
    await gql(a.graphqlUrl, CANCEL_RUN, { id: run.id });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const log = await deliveries(endpoint.id);
    // Nothing is queued for a disabled endpoint (no RUN_CANCELLED row).
    expect(log).toHaveLength(1);
    expect(log[0]).toMatchObject({ type: 'RUN_STARTED', status: 'FAILED', lastStatusCode: 410, attempts: 1 });

    const refused = await gql(a.graphqlUrl, REDELIVER, { id: log[0].id });
    expect(refused.errors?.[0].extensions?.code).toBe('CONFLICT');
    const enabled = await gql(a.graphqlUrl, UPDATE, { input: { id: endpoint.id, enabled: true } });
    expect(enabled.data!.updateWebhookEndpoint.endpoint).toMatchObject({
      enabled: true,
      disabledReason: null,
    });
    const again = await gql(a.graphqlUrl, REDELIVER, { id: log[0].id });
    expect(again.data!.redeliverWebhook.delivery).toMatchObject({ status: 'PENDING', attempts: 0 });
    await waitFor('the redelivery', async () => hook.received.length >= 2);
    expect(hook.received[1].headers['webhook-id']).toBe(hook.received[0].headers['webhook-id']);
  });

  test('disables an endpoint that has failed for days (DISABLE_AFTER_MS), not one failing for less', async () => {
    // The replicas run with the production DISABLE_AFTER_MS (5 days): the endpoints' failing clocks
    // are back-dated through the store instead of waiting.
    expect(DISABLE_AFTER_MS).toBe(5 * 86_400_000);
    const hook = await receiver();
    hook.answers = [500, 500, 500, 500];
    const store = new NotificationStore(a.app.database.prisma);
    const old = await createEndpoint('failing-long', hook.url('/old'), ['RUN_STARTED']);
    const recent = await createEndpoint('failing-long', hook.url('/recent'), ['RUN_STARTED']);
    const now = Date.now();
    await store.setFailingSince(old.endpoint.id, new Date(now - DISABLE_AFTER_MS - 86_400_000));
    await store.setFailingSince(recent.endpoint.id, new Date(now - DISABLE_AFTER_MS + 3_600_000));

    const run = await startRun(a.graphqlUrl, {
      projectId: 'failing-long',
      compiledPrompt: 'Hang [sim:hang]',
    });
    const disabled = await waitFor('the long-failing endpoint disabled', async () => {
      const found = await store.findEndpoint(old.endpoint.id);
      return found?.enabled ? undefined : found;
    });
    expect(disabled!.disabledReason).toMatch(/every delivery has failed since .* \(6 days\)/);
    const [failed] = await deliveries(old.endpoint.id);
    expect(failed).toMatchObject({ status: 'FAILED', lastStatusCode: 500, attempts: 1 });
    // The 500 was a retry; disabling failed what the endpoint still had pending, saying why.
    expect(failed.lastError).toMatch(/^endpoint disabled: every delivery has failed since .*6 days/);

    // The one failing for 5 days less an hour keeps retrying and delivers once the receiver recovers.
    const delivered = await waitFor('the other endpoint delivered', async () => {
      const [d] = await deliveries(recent.endpoint.id);
      return d?.status === 'DELIVERED' ? d : undefined;
    });
    expect(delivered.attempts).toBeGreaterThan(1);
    const kept = await store.findEndpoint(recent.endpoint.id);
    expect(kept).toMatchObject({ enabled: true, disabledReason: null, failingSince: null });
    expect(hook.to('/old')).toHaveLength(1);
    await gql(a.graphqlUrl, CANCEL_RUN, { id: run.id });
  });

  test('signs with both secrets during a rotation overlap, and only the new one after', async () => {
    const hook = await receiver();
    const created = await createEndpoint('rotate', hook.url(), ['RUN_STARTED', 'RUN_CANCELLED']);
    const rotated = await gql(a.graphqlUrl, ROTATE, { id: created.endpoint.id, overlap: 3600 });
    expect(rotated.errors).toBeUndefined();
    const second = rotated.data!.rotateWebhookSecret.secret as string;
    expect(second).toMatch(/^whsec_/);
    expect(second).not.toBe(created.secret);
    expect(rotated.data!.rotateWebhookSecret.endpoint.previousSecretExpiresAt).toBeTruthy();

    const run = await startRun(a.graphqlUrl, { projectId: 'rotate', compiledPrompt: 'Hang [sim:hang]' });
    await waitFor('RUN_STARTED', async () => hook.received.length >= 1);
    const [started] = hook.received;
    expect(String(started.headers['webhook-signature']).split(' ')).toHaveLength(2);
    expect(verified([started], created.secret)[0].type).toBe('RUN_STARTED');
    expect(verified([started], second)[0].type).toBe('RUN_STARTED');

    const third = (await gql(a.graphqlUrl, ROTATE, { id: created.endpoint.id, overlap: 0 })).data!
      .rotateWebhookSecret.secret as string;
    await gql(a.graphqlUrl, CANCEL_RUN, { id: run.id });
    await waitFor('RUN_CANCELLED', async () => hook.received.length >= 2);
    const cancelled = hook.received[1];
    expect(verified([cancelled], third)[0].type).toBe('RUN_CANCELLED');
    expect(() => verified([cancelled], second)).toThrow();
  });

  test('lets a project-scoped token manage only its project', async () => {
    const hook = await receiver();
    const other = await createEndpoint('not-yours', hook.url(), ['RUN_FAILED']);
    const { token } = await createApiToken(new TokenStore(a.app.database.prisma), {
      name: 'scoped-hooks',
      projects: ['mine'],
    });
    const as = (query: string, variables: Record<string, unknown>) =>
      gql(a.graphqlUrl, query, variables, token);

    const forbidden = await as(CREATE, {
      input: { projectId: 'not-yours', url: hook.url(), events: ['RUN_FAILED'] },
    });
    expect(forbidden.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    expect((await as(ENDPOINTS, { projectId: 'not-yours' })).data!.webhookEndpoints).toEqual([]);
    for (const [query, variables] of [
      [UPDATE, { input: { id: other.endpoint.id, enabled: false } }],
      [DELETE, { id: other.endpoint.id }],
      [ROTATE, { id: other.endpoint.id }],
      [DELIVERIES, { id: other.endpoint.id }],
    ] as const) {
      expect((await as(query, variables)).errors?.[0].extensions?.code).toBe('NOT_FOUND');
    }
    const mine = await as(CREATE, { input: { projectId: 'mine', url: hook.url(), events: ['RUN_FAILED'] } });
    expect(mine.errors).toBeUndefined();
    const deleted = await as(DELETE, { id: mine.data!.createWebhookEndpoint.endpoint.id });
    expect(deleted.data!.deleteWebhookEndpoint.deleted).toBe(true);
  });

  test('manages endpoints over REST too', async () => {
    const hook = await receiver();
    const rest = async (method: string, path: string, body?: unknown) => {
      const response = await fetch(`${a.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: response.status, body: (await response.json()) as Record<string, any> };
    };
    const created = await rest('POST', '/webhook-endpoints', {
      project_id: 'rest',
      url: hook.url(),
      events: ['RUN_STARTED', 'RUN_CANCELLED'],
    });
    expect(created.status).toBe(201);
    expect(created.body.secret).toMatch(/^whsec_/);
    const id = created.body.endpoint.id as string;
    expect(
      (await rest('POST', '/webhook-endpoints', { project_id: 'rest', url: hook.url(), events: ['NOPE'] }))
        .status,
    ).toBe(422);
    expect((await rest('GET', '/webhook-endpoints?project_id=rest')).body.endpoints).toHaveLength(1);
    const rotated = await rest('POST', `/webhook-endpoints/${id}/rotate-secret`, { overlap_seconds: 60 });
    expect(rotated.status).toBe(200);
    expect(rotated.body.endpoint.previous_secret_expires_at).toBeTruthy();
    const run = await startRun(a.graphqlUrl, { projectId: 'rest', compiledPrompt: 'Hang [sim:hang]' });
    await waitFor('a delivery', async () => hook.received.length >= 1);
    verified(hook.received, rotated.body.secret);
    const log = await waitFor('the log', async () => {
      const page = await rest('GET', `/webhook-endpoints/${id}/deliveries?limit=10`);
      return page.body.deliveries?.[0]?.status === 'DELIVERED' ? page.body : undefined;
    });
    expect(log.deliveries[0]).toMatchObject({
      run_id: run.id,
      type: 'RUN_STARTED',
      attempts: 1,
      last_status_code: 200,
    });
    const redelivered = await rest('POST', `/webhook-deliveries/${log.deliveries[0].id}/redeliver`);
    expect(redelivered.body.status).toBe('PENDING');
    const patched = await rest('PATCH', `/webhook-endpoints/${id}`, { enabled: false });
    expect(patched.body).toMatchObject({ enabled: false, disabled_reason: 'disabled by a client' });
    expect((await rest('DELETE', `/webhook-endpoints/${id}`)).body).toEqual({ id, deleted: true });
    expect((await rest('GET', `/webhook-endpoints/${id}/deliveries`)).status).toBe(404);
    await gql(a.graphqlUrl, CANCEL_RUN, { id: run.id });
  });
});
