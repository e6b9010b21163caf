/**
 * Scenario 6 — run notifications (signed outbound webhooks, docs/notifications.md).
 *
 * A. Deliveries per second one instance sustains to a loopback receiver (its own process, answering
 *    200 at once): N outbox rows of distinct runs are queued in one INSERT and timed until all are
 *    recorded DELIVERED. Baseline, interleaved: a bare Node loop POSTing the same body with the same
 *    headers and parallelism to the same receiver (no database, no signing, no lease).
 * B. The added cost per startRun: one closed-loop load whose consecutive requests alternate between
 *    a project with no endpoint, a project with an endpoint subscribed to every event, and a per-run
 *    notifyUrl (same instance, same moments), latency per variant.
 */
import http from 'node:http';
import pg from 'pg';
import { generateSecret } from '../../src/notifications/secrets.js';
import { signatureHeaders } from '../../src/notifications/signing.js';
import { NOTIFICATION_TYPES } from '../../src/notifications/types.js';
import { startSimulator } from '../../tools/simulator/index.js';
import { type Child, ROOT, spawnChild } from '../lib/child.js';
import { createDatabase, log, round, sleep, summarize } from '../lib/common.js';
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
  requests: number;
  mean: number;
  p50: number;
  p99: number;
  errors: number;
}

export interface NotificationBenchResult {
  options: NotificationBenchOptions;
  baseline: DeliveryRate;
  service: DeliveryRate;
  /** One mixed load: requests take the variants in turn. */
  startRun: { rps: number; cpuMsPerRequest: number; variants: StartRunVariant[] };
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

interface Variant {
  name: string;
  key: string;
  notifyUrl?: string;
}

/**
 * Closed-loop startRun load in which consecutive requests take the variants in turn: every
 * variant sees the same moments of the run (the machine's drift, the growing tables) alike.
 */
async function mixedLoad(
  url: string,
  variants: Variant[],
  connections: number,
  durationMs: number,
  tag: string,
) {
  const latencies = variants.map(() => [] as number[]);
  const errors = variants.map(() => 0);
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const deadline = performance.now() + durationMs;
  let n = 0;
  const one = (index: number) =>
    new Promise<void>((resolve) => {
      const v = variants[index];
      const payload = JSON.stringify({
        query: START,
        variables: {
          input: {
            projectId: `bench-${v.key}`,
            compiledPrompt: `Benchmark run ${tag}-${n}: fix the flaky test [sim:hang]`,
            repository: 'acme/web',
            idempotencyKey: `${tag}-${process.pid}-${n}`,
            ...(v.notifyUrl ? { notifyUrl: v.notifyUrl } : {}),
          },
        },
      });
      const t0 = performance.now();
      const req = http.request(
        new URL('/graphql', url),
        {
          method: 'POST',
          agent,
          headers: {
            authorization: `Bearer ${TOKEN}`,
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(payload),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            if (res.statusCode === 200 && !text.includes('"errors"'))
              latencies[index].push(performance.now() - t0);
            else errors[index]++;
            resolve();
          });
        },
      );
      req.on('error', () => {
        errors[index]++;
        resolve();
      });
      req.end(payload);
    });
  const loop = async () => {
    while (performance.now() < deadline) await one(n++ % variants.length);
  };
  await Promise.all(Array.from({ length: connections }, loop));
  agent.destroy();
  return { latencies, errors };
}

async function measureStartRuns(service: Child, receiver: Child, options: NotificationBenchOptions) {
  await gql(
    service.url,
    `mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { endpoint { id } } }`,
    { input: { projectId: 'bench-hooked', url: `${receiver.url}/project`, events: [...NOTIFICATION_TYPES] } },
  );
  const variants: Variant[] = [
    { name: 'no endpoint', key: 'quiet' },
    { name: 'project endpoint subscribed to every event', key: 'hooked' },
    { name: 'per-run notifyUrl', key: 'own', notifyUrl: `${receiver.url}/run` },
  ];
  await mixedLoad(service.url, variants, options.connections, options.warmupMs, 'warm');
  const cpu0 = await service.cpu();
  const measured = await mixedLoad(service.url, variants, options.connections, options.durationMs, 'mixed');
  const cpu1 = await service.cpu();
  const requests = measured.latencies.reduce((s, l) => s + l.length, 0);
  const cpuMsPerRequest = (cpu1.user + cpu1.system - cpu0.user - cpu0.system) / 1000 / Math.max(1, requests);
  log(
    `  startRun mixed: ${round((requests * 1000) / options.durationMs, 0)} req/s, ${round(cpuMsPerRequest, 2)} ms CPU each`,
  );
  return {
    rps: round((requests * 1000) / options.durationMs, 0),
    cpuMsPerRequest: round(cpuMsPerRequest, 3),
    variants: variants.map((v, i): StartRunVariant => {
      const l = summarize(measured.latencies[i]);
      return {
        name: v.name,
        requests: l.n,
        mean: round(l.mean, 2),
        p50: round(l.p50, 2),
        p99: round(l.p99, 2),
        errors: measured.errors[i],
      };
    }),
  };
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
