/**
 * Scenario 6 — run notifications (signed outbound webhooks, docs/notifications.md).
 *
 * A. Deliveries per second one instance sustains to a loopback receiver (its own process, answering
 *    200 at once): N outbox rows of distinct runs are queued in one INSERT and timed until all are
 *    recorded DELIVERED. Baseline, interleaved: a bare Node loop POSTing the same body with the same
 *    headers and parallelism to the same receiver (no database, no signing, no lease).
 * B. The added cost per startRun: the same startRun, in interleaved rounds, for a project with no
 *    endpoint, a project with an endpoint subscribed to every event, and with a per-run notifyUrl.
 */
import http from 'node:http';
import pg from 'pg';
import { generateSecret } from '../../src/notifications/secrets.js';
import { signatureHeaders } from '../../src/notifications/signing.js';
import { NOTIFICATION_TYPES } from '../../src/notifications/types.js';
import { startSimulator } from '../../tools/simulator/index.js';
import { type Child, ROOT, spawnChild } from '../lib/child.js';
import { createDatabase, log, round, sleep } from '../lib/common.js';
import { type LoadResult, runLoad } from '../lib/load.js';
import { serviceEnv, TOKEN } from './startrun.js';

export interface NotificationBenchOptions {
  deliveries: number;
  /** NOTIFY_CONCURRENCY of the service and the baseline's parallel senders. */
  concurrency: number;
  rounds: number;
  connections: number;
  durationMs: number;
  warmupMs: number;
}

export interface DeliveryRate {
  /** Deliveries per second from queueing to the last one recorded (the service) or sent (baseline). */
  perSecond: number;
  /** Deliveries per second between the receiver's first and last request. */
  receiverPerSecond: number;
  cpuMsPerDelivery: number;
  received: number;
}

export interface StartRunVariant {
  name: string;
  rps: number;
  p50: number;
  p99: number;
  cpuMsPerRequest: number;
  errors: number;
}

export interface NotificationBenchResult {
  options: NotificationBenchOptions;
  baseline: DeliveryRate;
  service: DeliveryRate;
  startRun: StartRunVariant[];
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** A body of the size a real notification has (the REST run object). */
function samplePayload(): string {
  const run = {
    run_id: 'run_0193a0b8c1d2e3f4a5b6c7d8e9',
    project_id: 'bench',
    status: 'COMPLETED',
    percent: 100,
    phase: 'Completed',
    repository: 'acme/web',
    branch: 'main',
    git_provider: 'GITHUB',
    conversation_id: 'c0ffee00c0ffee00c0ffee00c0ffee00',
    pull_request: {
      provider: 'GITHUB',
      number: 812,
      url: 'https://github.com/acme/web/pull/812',
      state: 'OPEN',
    },
    metadata: { ticket: 'ENG-812', requested_by: 'platform' },
    error: null,
    created_at: '2026-12-01T00:00:00.000Z',
    updated_at: '2026-12-01T00:04:12.345Z',
    finished_at: '2026-12-01T00:04:12.345Z',
  };
  return JSON.stringify({ type: 'RUN_COMPLETED', timestamp: '2026-12-01T00:04:12.345Z', data: { run } });
}

async function received(receiver: Child) {
  return receiver.call<{ count: number; first: number; last: number }>({ type: 'received' });
}

/** The bare sender: `concurrency` loops, one new connection per POST (as the service: agent: false). */
async function bareSend(url: string, total: number, concurrency: number, body: string): Promise<void> {
  const headers = {
    ...signatureHeaders('msg_bench', Math.floor(Date.now() / 1000), body, [generateSecret()]),
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(body)),
    'user-agent': 'bench',
  };
  let sent = 0;
  const loop = async () => {
    while (sent < total) {
      sent++;
      await new Promise<void>((resolve) => {
        const req = http.request(url, { method: 'POST', headers, agent: false }, (res) => {
          res.resume();
          res.on('end', resolve);
          res.on('error', resolve);
        });
        req.on('error', () => resolve());
        req.end(body);
      });
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
}

async function measureBaseline(receiver: Child, options: NotificationBenchOptions, body: string) {
  await receiver.call({ type: 'reset' });
  const cpu0 = process.cpuUsage();
  const t0 = Date.now();
  await bareSend(`${receiver.url}/bare`, options.deliveries, options.concurrency, body);
  const elapsed = Date.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const r = await received(receiver);
  return {
    perSecond: (options.deliveries * 1000) / elapsed,
    receiverPerSecond: ((r.count - 1) * 1000) / Math.max(1, r.last - r.first),
    cpuMsPerDelivery: (cpu.user + cpu.system) / 1000 / options.deliveries,
    received: r.count,
  };
}

async function measureService(
  db: pg.Client,
  service: Child,
  receiver: Child,
  options: NotificationBenchOptions,
  body: string,
  tag: string,
) {
  await receiver.call({ type: 'reset' });
  const cpu0 = await service.cpu();
  const t0 = Date.now();
  // Distinct runs, so the per-run ordering rule never holds one back behind another.
  await db.query(
    `INSERT INTO "NotificationDelivery" ("id", "endpointId", "runId", "seq", "type", "payload")
     SELECT 'msg_' || $1 || '_' || i, 'whe_bench', $1 || '-' || i, 2, 'RUN_COMPLETED', $2
     FROM generate_series(1, $3::int) AS i`,
    [tag, body, options.deliveries],
  );
  for (;;) {
    const { rows } = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM "NotificationDelivery" WHERE status = 'DELIVERED' AND "runId" LIKE $1`,
      [`${tag}-%`],
    );
    if (rows[0].n >= options.deliveries) break;
    await sleep(100);
  }
  const elapsed = Date.now() - t0;
  const cpu1 = await service.cpu();
  const r = await received(receiver);
  return {
    perSecond: (options.deliveries * 1000) / elapsed,
    receiverPerSecond: ((r.count - 1) * 1000) / Math.max(1, r.last - r.first),
    cpuMsPerDelivery: (cpu1.user + cpu1.system - cpu0.user - cpu0.system) / 1000 / options.deliveries,
    received: r.count,
  };
}

function medianRate(rounds: DeliveryRate[]): DeliveryRate {
  return {
    perSecond: round(median(rounds.map((r) => r.perSecond)), 0),
    receiverPerSecond: round(median(rounds.map((r) => r.receiverPerSecond)), 0),
    cpuMsPerDelivery: round(median(rounds.map((r) => r.cpuMsPerDelivery)), 3),
    received: rounds.reduce((s, r) => s + r.received, 0),
  };
}

async function gql(url: string, query: string, variables: Record<string, unknown>) {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  const answer = (await response.json()) as { data?: Record<string, any>; errors?: unknown[] };
  if (answer.errors) throw new Error(`bench GraphQL failed: ${JSON.stringify(answer.errors)}`);
  return answer.data!;
}

const START = `mutation($input: StartRunInput!) { startRun(input: $input) { created notifySecret run { id status } } }`;

function startLoad(
  url: string,
  options: NotificationBenchOptions,
  durationMs: number,
  variant: string,
  notifyUrl?: string,
) {
  let n = 0;
  return runLoad({
    urls: [url],
    path: '/graphql',
    connections: options.connections,
    durationMs,
    headers: { authorization: `Bearer ${TOKEN}` },
    body: () => {
      n++;
      return {
        query: START,
        variables: {
          input: {
            projectId: `bench-${variant}`,
            compiledPrompt: `Benchmark run ${variant}-${n}: fix the flaky test [sim:hang]`,
            repository: 'acme/web',
            idempotencyKey: `${variant}-${process.pid}-${Date.now()}-${n}`,
            ...(notifyUrl ? { notifyUrl } : {}),
          },
        },
      };
    },
    accept: (body) => !body.includes('"errors"'),
  });
}

async function measureStartRuns(service: Child, receiver: Child, options: NotificationBenchOptions) {
  await gql(
    service.url,
    `mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { endpoint { id } } }`,
    { input: { projectId: 'bench-hooked', url: `${receiver.url}/project`, events: [...NOTIFICATION_TYPES] } },
  );
  const variants = [
    { name: 'no endpoint', key: 'quiet' },
    { name: 'project endpoint subscribed to every event', key: 'hooked' },
    { name: 'per-run notifyUrl', key: 'own', notifyUrl: `${receiver.url}/run` },
  ];
  for (const v of variants) await startLoad(service.url, options, options.warmupMs, `${v.key}w`, v.notifyUrl);
  const rounds = new Map<string, Array<{ load: LoadResult; cpuUs: number }>>();
  for (let r = 0; r < options.rounds; r++) {
    // Interleaved, in a rotating order, so drift and the growing tables hit every variant alike.
    for (const v of [...variants.slice(r % 3), ...variants.slice(0, r % 3)]) {
      const cpu0 = await service.cpu();
      const load = await startLoad(service.url, options, options.durationMs, `${v.key}${r}`, v.notifyUrl);
      const cpu1 = await service.cpu();
      const cpuUs = cpu1.user + cpu1.system - cpu0.user - cpu0.system;
      rounds.set(v.key, [...(rounds.get(v.key) ?? []), { load, cpuUs }]);
      log(
        `  startRun ${v.name} round ${r + 1}: ${round(load.rps, 0)} req/s p99 ${round(load.latency.p99, 1)} ms`,
      );
    }
  }
  return variants.map((v): StartRunVariant => {
    const all = rounds.get(v.key)!;
    const mid = [...all].sort((a, b) => a.load.rps - b.load.rps)[Math.floor(all.length / 2)];
    const ok = all.reduce((s, x) => s + x.load.ok, 0);
    return {
      name: v.name,
      rps: round(mid.load.rps, 0),
      p50: round(mid.load.latency.p50, 2),
      p99: round(mid.load.latency.p99, 2),
      cpuMsPerRequest: round(all.reduce((s, x) => s + x.cpuUs, 0) / 1000 / Math.max(1, ok), 3),
      errors: all.reduce(
        (s, x) => s + x.load.errors + Object.values(x.load.failures).reduce((a, b) => a + b, 0),
        0,
      ),
    };
  });
}

export async function notificationBench(options: NotificationBenchOptions): Promise<NotificationBenchResult> {
  const database = await createDatabase();
  const sim = await startSimulator({ apiVersion: 'v1', stepMs: 150, rateLimit: false });
  const children: Child[] = [];
  const db = new pg.Client({ connectionString: database.url });
  try {
    const receiver = await spawnChild(`${ROOT}/bench/servers/receiver.ts`);
    children.push(receiver);
    const service = await spawnChild(`${ROOT}/bench/servers/service.ts`, {
      env: serviceEnv(database.url, sim.url, 'bench-notify', {
        NOTIFY_ALLOW_HTTP: 'true',
        NOTIFY_ALLOW_PRIVATE: 'true',
        NOTIFY_CONCURRENCY: String(options.concurrency),
        NOTIFY_POLL_INTERVAL_MS: '100',
      }),
    });
    children.push(service);
    await db.connect();
    await db.query(
      `INSERT INTO "WebhookEndpoint" ("id", "projectId", "url", "events", "secret", "updatedAt")
       VALUES ('whe_bench', 'bench-outbox', $1, $2, $3, now())`,
      [`${receiver.url}/hook`, [...NOTIFICATION_TYPES], generateSecret()],
    );
    const body = samplePayload();
    log(
      `scenario 6: ${options.deliveries} deliveries × ${options.rounds} rounds, concurrency ${options.concurrency}`,
    );
    const baseline: DeliveryRate[] = [];
    const measured: DeliveryRate[] = [];
    for (let r = 0; r < options.rounds; r++) {
      baseline.push(await measureBaseline(receiver, options, body));
      measured.push(await measureService(db, service, receiver, options, body, `r${r}`));
      log(
        `  deliveries round ${r + 1}: service ${round(measured[r].perSecond, 0)}/s, bare loop ${round(baseline[r].perSecond, 0)}/s`,
      );
    }
    const startRun = await measureStartRuns(service, receiver, options);
    return { options, baseline: medianRate(baseline), service: medianRate(measured), startRun };
  } finally {
    await db.end().catch(() => {});
    await Promise.all(children.map((c) => c.stop().catch(() => {})));
    await sim.stop();
    await database.drop().catch(() => {});
  }
}
