import { Webhook } from 'standardwebhooks';
import { afterAll, describe, expect } from 'vitest';
import { NOTIFICATION_TYPES } from '../../src/notifications/types.js';
import { test } from '../support/fixtures.js';
import { type Received, Receiver } from '../support/receiver.js';
import { CANCEL_RUN, gql, sql, waitFor, waitForStatus } from '../support/runs.js';
import { type RunningService, startService, TEST_TOKEN } from '../support/service.js';

const START = `mutation($input: StartRunInput!) {
  startRun(input: $input) { created notifySecret notifyEndpointId run { id status } } }`;
const CREATE = `mutation($input: CreateWebhookEndpointInput!) {
  createWebhookEndpoint(input: $input) { secret endpoint { id } } }`;
const ENDPOINTS = 'query($projectId: String!) { webhookEndpoints(projectId: $projectId) { id url } }';
const ENDPOINT = `mutation($id: ID!) { updateWebhookEndpoint(input: { id: $id }) { endpoint { runId url events } } }`;
const DELIVERIES = `query($id: ID!) { webhookDeliveries(endpointId: $id, first: 50) {
  edges { node { runId type status attempts } } } }`;

function typesFor(requests: Received[], secret: string, runId: string): string[] {
  const webhook = new Webhook(secret);
  return requests
    .map((r) => webhook.verify(r.body, r.headers as Record<string, string>) as { type: string; data: any })
    .filter((p) => p.data.run.run_id === runId)
    .map((p) => p.type);
}

test.override({ simulatorOptions: { stepMs: 40 } });

describe('a per-run notifyUrl on startRun', () => {
  let service: RunningService;
  const receivers: Receiver[] = [];
  const env = { NOTIFY_ALLOW_HTTP: 'true', NOTIFY_ALLOW_PRIVATE: 'true', NOTIFY_POLL_INTERVAL_MS: '50' };

  async function receiver(): Promise<Receiver> {
    const started = await new Receiver().start();
    receivers.push(started);
    return started;
  }

  async function start(input: Record<string, unknown>) {
    const res = await gql(service.graphqlUrl, START, { input });
    expect(res.errors).toBeUndefined();
    return res.data!.startRun as {
      created: boolean;
      notifySecret: string | null;
      notifyEndpointId: string | null;
      run: { id: string };
    };
  }

  const rest = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${service.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, any> };
  };

  test.beforeAll(async ({ db, sim }) => {
    service = await startService(db.url, sim.url, env, { app: { notifyRetryScale: 0.01 } });
  });
  afterAll(async () => {
    await service?.stop();
    for (const r of receivers) await r.stop();
  });

  test('sends that run’s notifications there, signed with a secret of its own returned once', async () => {
    const hook = await receiver();
    const started = await start({
      projectId: 'solo',
      compiledPrompt: 'Hang [sim:hang]',
      notifyUrl: hook.url(),
    });
    expect(started.created).toBe(true);
    expect(started.notifySecret).toMatch(/^whsec_/);
    expect(started.notifyEndpointId).toMatch(/^whe_/);
    const runId = started.run.id;
    await waitForStatus(service.graphqlUrl, runId, ['RUNNING']);
    await gql(service.graphqlUrl, CANCEL_RUN, { id: runId });
    await waitFor('two notifications', async () => hook.received.length >= 2);
    expect(typesFor(hook.received, started.notifySecret!, runId)).toEqual(['RUN_STARTED', 'RUN_CANCELLED']);

    // Not a project endpoint: the project's list stays empty; the log is readable by the endpoint id.
    const listed = await gql(service.graphqlUrl, ENDPOINTS, { projectId: 'solo' });
    expect(listed.data!.webhookEndpoints).toEqual([]);
    const own = await gql(service.graphqlUrl, ENDPOINT, { id: started.notifyEndpointId });
    expect(own.data!.updateWebhookEndpoint.endpoint).toEqual({
      runId,
      url: hook.url(),
      events: [...NOTIFICATION_TYPES],
    });
    const log = await waitFor('the log', async () => {
      const res = await gql(service.graphqlUrl, DELIVERIES, { id: started.notifyEndpointId });
      const nodes = res.data!.webhookDeliveries.edges.map((e: { node: unknown }) => e.node);
      return nodes.every((n: { status: string }) => n.status === 'DELIVERED') ? nodes : undefined;
    });
    expect(log).toHaveLength(2);

    // Another run of the project does not go to this run's URL; a run without notifyUrl gets no secret.
    const other = await start({ projectId: 'solo', compiledPrompt: 'Hang [sim:hang]' });
    expect(other.notifySecret).toBeNull();
    expect(other.notifyEndpointId).toBeNull();
    await waitForStatus(service.graphqlUrl, other.run.id, ['RUNNING']);
    await gql(service.graphqlUrl, CANCEL_RUN, { id: other.run.id });
    await waitForStatus(service.graphqlUrl, other.run.id, ['CANCELLED']);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(hook.received).toHaveLength(2);
  });

  test('goes there as well as to the project’s endpoints, each signed with its own secret', async () => {
    const project = await receiver();
    const own = await receiver();
    const created = await gql(service.graphqlUrl, CREATE, {
      input: { projectId: 'both', url: project.url(), events: ['RUN_CANCELLED'] },
    });
    const projectSecret = created.data!.createWebhookEndpoint.secret as string;
    const started = await start({
      projectId: 'both',
      compiledPrompt: 'Hang [sim:hang]',
      notifyUrl: own.url(),
    });
    await waitForStatus(service.graphqlUrl, started.run.id, ['RUNNING']);
    await gql(service.graphqlUrl, CANCEL_RUN, { id: started.run.id });
    await waitFor('both receivers', async () => project.received.length >= 1 && own.received.length >= 2);
    expect(typesFor(project.received, projectSecret, started.run.id)).toEqual(['RUN_CANCELLED']);
    expect(typesFor(own.received, started.notifySecret!, started.run.id)).toEqual([
      'RUN_STARTED',
      'RUN_CANCELLED',
    ]);
    expect(() => typesFor(own.received, projectSecret, started.run.id)).toThrow();
  });

  test('an idempotent replay returns the same secret and makes no second destination, even concurrently', async ({
    db,
  }) => {
    const hook = await receiver();
    const input = {
      projectId: 'replay',
      compiledPrompt: 'Hang [sim:hang]',
      notifyUrl: hook.url(),
      idempotencyKey: 'once',
    };
    const results = await Promise.all([start(input), start(input), start(input)]);
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(results.map((r) => r.run.id)).size).toBe(1);
    expect(new Set(results.map((r) => r.notifySecret)).size).toBe(1);
    expect(new Set(results.map((r) => r.notifyEndpointId)).size).toBe(1);
    const later = await start({ ...input, notifyUrl: `${hook.url()}/elsewhere` });
    expect(later).toMatchObject({ created: false, notifySecret: results[0].notifySecret });
    const rows = await sql(db.url, 'SELECT id, url FROM "WebhookEndpoint" WHERE "runId" = $1', [
      results[0].run.id,
    ]);
    expect(rows).toEqual([{ id: results[0].notifyEndpointId, url: hook.url() }]);
    await waitFor('RUN_STARTED', async () => hook.received.length >= 1);
    await gql(service.graphqlUrl, CANCEL_RUN, { id: results[0].run.id });
    await waitFor('RUN_CANCELLED', async () => hook.received.length >= 2);
    expect(typesFor(hook.received, results[0].notifySecret!, results[0].run.id)).toEqual([
      'RUN_STARTED',
      'RUN_CANCELLED',
    ]);
  });

  test('over REST as notify_url: notify_secret in the answer, the same on a replay, in /openapi.json', async () => {
    const hook = await receiver();
    const body = {
      project_id: 'rest-notify',
      compiled_prompt: 'Hang [sim:hang]',
      notify_url: hook.url(),
      idempotency_key: 'rest-once',
    };
    const first = await rest('POST', '/runs', body);
    expect(first.status).toBe(201);
    expect(first.body.notify_secret).toMatch(/^whsec_/);
    expect(first.body.notify_endpoint_id).toMatch(/^whe_/);
    const again = await rest('POST', '/runs', body);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    const plain = await rest('POST', '/runs', {
      project_id: 'rest-notify',
      compiled_prompt: 'Hang [sim:hang]',
    });
    expect(plain.body).not.toHaveProperty('notify_secret');
    const bad = await rest('POST', '/runs', { ...body, idempotency_key: 'bad', notify_url: 'not a url' });
    expect(bad.status).toBe(422);
    expect(bad.body.error).toMatchObject({ code: 'BAD_USER_INPUT', field: 'notify_url' });
    expect(bad.body.error.message).toMatch(/^notify_url is not a valid absolute URL/);

    await waitFor('RUN_STARTED', async () => hook.received.length >= 1);
    expect(typesFor(hook.received, first.body.notify_secret, first.body.run_id)).toEqual(['RUN_STARTED']);
    for (const id of [first.body.run_id, plain.body.run_id])
      await gql(service.graphqlUrl, CANCEL_RUN, { id });

    const openapi = (await (await fetch(`${service.url}/openapi.json`)).json()) as any;
    const text = JSON.stringify(openapi);
    expect(text).toContain('"notify_url"');
    expect(text).toContain('"notify_secret"');
  });
});

describe('notifyUrl without the opt-ins', () => {
  let service: RunningService;

  test.beforeAll(async ({ db, sim }) => {
    service = await startService(db.url, sim.url, {});
  });
  afterAll(async () => {
    await service?.stop();
  });

  test('refuses http:// and private addresses as for endpoints, and creates no run', async ({ db }) => {
    for (const [notifyUrl, message] of [
      ['http://93.184.216.34/hook', /notifyUrl must be https:\/\/.*NOTIFY_ALLOW_HTTP/],
      ['https://127.0.0.1/hook', /NOTIFY_ALLOW_PRIVATE/],
      ['https://localhost:8443/hook', /NOTIFY_ALLOW_PRIVATE/],
      ['https://169.254.169.254/latest/meta-data', /NOTIFY_ALLOW_PRIVATE/],
      ['https://[::ffff:10.0.0.1]/', /NOTIFY_ALLOW_PRIVATE/],
    ] as const) {
      const res = await gql(service.graphqlUrl, START, {
        input: { projectId: 'strict', compiledPrompt: 'Hello', notifyUrl },
      });
      expect(res.errors?.[0].extensions?.code, notifyUrl).toBe('BAD_USER_INPUT');
      expect(res.errors?.[0].message, notifyUrl).toMatch(message);
    }
    const rows = await sql(db.url, `SELECT count(*)::int AS n FROM "Run" WHERE "projectId" = 'strict'`);
    expect(rows).toEqual([{ n: 0 }]);
  });
});
