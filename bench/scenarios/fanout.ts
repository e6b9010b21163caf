/**
 * Scenario 2 — subscription fan-out. S graphql-ws subscribers (one WebSocket each) follow R runs
 * (runProgress, S/R subscribers per run) on one service instance; a publisher child process
 * (bench/servers/publisher.ts) appends progress events through the service's own RunStore
 * (transaction + NOTIFY, as a poller on another replica would) at a steady rate. Latency = client
 * receipt − the moment the publisher's commit returned, on the wall clock both processes share.
 * Memory per idle subscriber = server RSS / heap growth (after GC) from 0 to S idle subscriptions,
 * divided by S, read 1 s after connecting and again once settled.
 *
 * Baseline, same run, same sizes: a bare `ws` server broadcasting the same messages, fed by a
 * PostgreSQL INSERT + NOTIFY per event from the same kind of publisher child
 * (bench/servers/baseline-ws.ts).
 */
import { type Client, createClient } from 'graphql-ws';
import pg from 'pg';
import WebSocket from 'ws';
import { newRunId } from '../../src/runs/ids.js';
import { RunStore } from '../../src/runs/store/index.js';
import { openDatabase } from '../../src/storage/database.js';
import { type Child, type Pauses, ROOT, spawnChild } from '../lib/child.js';
import { createDatabase, log, mapLimit, round, sleep, summarize } from '../lib/common.js';
import { serviceEnv, TOKEN } from './startrun.js';

export interface FanoutOptions {
  subscribers: number;
  runs: number;
  eventsPerSec: number;
  durationMs: number;
  /** Idle time after which memory is read again, once V8 has given back what it no longer uses. */
  settleMs: number;
  /** Publishing at the same rate before the measured window, not measured. */
  warmupMs: number;
  cpuProfDir?: string;
}

export interface FanoutSide {
  subscribers: number;
  connectSeconds: number;
  published: number;
  /** Publisher transactions that failed (e.g. pool wait timeout); not counted in latency. */
  publishErrors: number;
  expected: number;
  delivered: number;
  latency: { p50: number; p95: number; p99: number; max: number };
  rssPerSubscriberKiB: number;
  heapPerSubscriberKiB: number;
  rssIdleMiB: number;
  rssWithSubscribersMiB: number;
  /** Memory per subscriber again after settleMs of idling (absent in results from before it existed). */
  settled?: { rssPerSubscriberKiB: number; heapPerSubscriberKiB: number };
  /** Latency p99 of each 2-s slice of publishing, in order. */
  p99BySlice?: number[];
  /** The server's event-loop delay and GC pauses while publishing. */
  pauses: Pauses;
}

export interface FanoutResult {
  options: FanoutOptions;
  baseline: FanoutSide;
  service: FanoutSide;
}

const SUBSCRIPTION = `subscription($runId: ID!, $afterSeq: Int) {
  runProgress(runId: $runId, afterSeq: $afterSeq) { seq type status percent phase message run { id status percent } }
}`;

/** Milliseconds on a clock the publisher's process shares (performance.now() has its own origin). */
const wallClock = () => performance.timeOrigin + performance.now();

/** The publisher child's answer: the event's seq and when its commit returned (wall clock). */
interface Published {
  seq: number;
  committedAt: number;
  error?: string;
}

async function publishVia(publisher: Child, runId: string): Promise<Published> {
  const reply = await publisher.call<Published>({ type: 'publish', runId });
  if (reply.error) throw new Error(reply.error);
  return reply;
}

interface Receipts {
  /** `${runId}:${seq}` → receipt times (wall clock). */
  got: Map<string, number[]>;
  count: number;
}

function receive(receipts: Receipts, runId: string, seq: number): void {
  const key = `${runId}:${seq}`;
  const t = wallClock();
  const list = receipts.got.get(key);
  if (list) list.push(t);
  else receipts.got.set(key, [t]);
  receipts.count++;
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 300_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

async function measure(
  server: Child,
  options: FanoutOptions,
  runIds: string[],
  connect: (runId: string, receipts: Receipts) => Promise<() => void>,
  publish: (runId: string) => Promise<Published>,
): Promise<FanoutSide> {
  const receipts: Receipts = { got: new Map(), count: 0 };
  const idle = await server.memory();
  const t0 = performance.now();
  const closers = await mapLimit(
    Array.from({ length: options.subscribers }, (_, i) => runIds[i % runIds.length]),
    200,
    (runId) => connect(runId, receipts),
  );
  await waitFor(
    'subscriptions',
    async () => (await server.call<number>({ type: 'subscriptions' })) >= options.subscribers,
  );
  const connectSeconds = (performance.now() - t0) / 1000;
  await sleep(1000);
  const loaded = await server.memory();
  // V8 keeps the pages a burst of allocation (here: connecting) grew the heap by for a while after a
  // GC; its memory reducer gives them back once the process idles. Both readings are reported.
  await sleep(options.settleMs);
  const settled = await server.memory();
  log(
    `  ${options.subscribers} subscribed in ${round(connectSeconds)} s; publishing ${options.eventsPerSec}/s`,
  );

  // Publishes at the steady rate for `ms`, recording each commit in `commits`.
  let publishErrors = 0;
  let k = 0;
  const publishFor = async (ms: number, commits: Map<string, number>) => {
    const gap = 1000 / options.eventsPerSec;
    const start = performance.now();
    const inflight: Promise<void>[] = [];
    for (let i = 0; performance.now() - start < ms; i++) {
      const due = start + i * gap;
      const now = performance.now();
      if (due > now) await sleep(due - now);
      const runId = runIds[k++ % runIds.length];
      inflight.push(
        publish(runId).then(
          ({ seq, committedAt }) => {
            commits.set(`${runId}:${seq}`, committedAt);
          },
          () => {
            publishErrors++;
          },
        ),
      );
    }
    await Promise.all(inflight);
  };
  // Warm-up at the same rate, not measured (as scenario 1 warms up): first-use costs (JIT, caches)
  // belong to start-up, not to steady delivery. Then the receipts start afresh.
  if (options.warmupMs > 0) {
    await publishFor(options.warmupMs, new Map());
    await sleep(1000);
    publishErrors = 0;
  }
  receipts.got.clear();
  receipts.count = 0;
  await server.call<Pauses>({ type: 'pauses' });
  const commits = new Map<string, number>();
  await publishFor(options.durationMs, commits);
  const pauses = await server.call<Pauses>({ type: 'pauses' });
  const perRun = options.subscribers / runIds.length;
  const expected = commits.size * perRun;
  // Let the last deliveries arrive.
  const until = performance.now() + 10_000;
  while (receipts.count < expected && performance.now() < until) await sleep(100);
  const latencies: number[] = [];
  for (const [key, committed] of commits) {
    for (const t of receipts.got.get(key) ?? []) latencies.push(Math.max(0, t - committed));
  }
  // p99 per 2-s slice of publishing (by commit time): where in the run the slow deliveries were.
  const slices: number[][] = [];
  const publishStart = Math.min(...commits.values());
  for (const [key, committed] of commits) {
    const slice = Math.floor((committed - publishStart) / 2000);
    slices[slice] ??= [];
    for (const t of receipts.got.get(key) ?? []) slices[slice].push(Math.max(0, t - committed));
  }
  const p99BySlice = slices.map((l) => round(summarize(l ?? []).p99, 1));
  for (const close of closers) close();
  const s = summarize(latencies);
  return {
    subscribers: options.subscribers,
    connectSeconds: round(connectSeconds),
    published: commits.size,
    publishErrors,
    expected: Math.round(expected),
    delivered: latencies.length,
    latency: { p50: round(s.p50, 1), p95: round(s.p95, 1), p99: round(s.p99, 1), max: round(s.max, 1) },
    rssPerSubscriberKiB: round((loaded.rss - idle.rss) / 1024 / options.subscribers, 1),
    heapPerSubscriberKiB: round((loaded.heapUsed - idle.heapUsed) / 1024 / options.subscribers, 1),
    rssIdleMiB: round(idle.rss / 1024 / 1024, 1),
    rssWithSubscribersMiB: round(loaded.rss / 1024 / 1024, 1),
    p99BySlice,
    settled: {
      rssPerSubscriberKiB: round((settled.rss - idle.rss) / 1024 / options.subscribers, 1),
      heapPerSubscriberKiB: round((settled.heapUsed - idle.heapUsed) / 1024 / options.subscribers, 1),
    },
    pauses,
  };
}

export async function fanoutBench(options: FanoutOptions): Promise<FanoutResult> {
  const baseDb = await createDatabase();
  const svcDb = await createDatabase();
  const children: Child[] = [];
  const cleanup: Array<() => Promise<unknown>> = [];
  try {
    // --- baseline: bare ws + INSERT/NOTIFY ---
    log(
      `scenario 2: ${options.subscribers} subscribers on ${options.runs} runs, ${options.eventsPerSec} events/s`,
    );
    const baseline = await spawnChild(`${ROOT}/bench/servers/baseline-ws.ts`, {
      env: { DATABASE_URL: baseDb.url },
    });
    children.push(baseline);
    const pool = new pg.Pool({ connectionString: baseDb.url, max: 10 });
    cleanup.push(() => pool.end());
    await pool.query(
      `CREATE TABLE bench_event (run_id text NOT NULL, seq int NOT NULL, type text, status text, percent int, phase text, message text, at timestamptz DEFAULT now(), PRIMARY KEY (run_id, seq))`,
    );
    const baseRuns = Array.from({ length: options.runs }, () => newRunId());
    const basePublisher = await spawnChild(`${ROOT}/bench/servers/publisher.ts`, {
      env: { DATABASE_URL: baseDb.url, BENCH_PUBLISH: 'baseline' },
    });
    children.push(basePublisher);
    const wsUrl = baseline.url.replace(/^http/, 'ws');
    const baselineSide = await measure(
      baseline,
      options,
      baseRuns,
      (runId, receipts) =>
        new Promise((resolve, reject) => {
          const socket = new WebSocket(`${wsUrl}/?run=${runId}`);
          socket.on('message', (data) => {
            const m = JSON.parse(String(data)) as {
              payload: { data: { runProgress: { runId: string; seq: number } } };
            };
            receive(receipts, m.payload.data.runProgress.runId, m.payload.data.runProgress.seq);
          });
          socket.once('open', () => resolve(() => socket.terminate()));
          socket.once('error', reject);
        }),
      (runId) => publishVia(basePublisher, runId),
    );
    await baseline.stop();
    log(`  baseline p99 ${baselineSide.latency.p99} ms, ${baselineSide.rssPerSubscriberKiB} KiB/subscriber`);

    // --- the service ---
    const service = await spawnChild(`${ROOT}/bench/servers/service.ts`, {
      env: serviceEnv(svcDb.url, 'http://127.0.0.1:9', 'fanout', { POLLER_ENABLED: 'false' }),
      cpuProfDir: options.cpuProfDir,
    });
    children.push(service);
    const database = await openDatabase({ url: svcDb.url, dataDir: '', poolSize: 20 });
    cleanup.push(() => database.close());
    const store = new RunStore(database.prisma, true);
    const svcRuns: string[] = [];
    await mapLimit(
      Array.from({ length: options.runs }, (_, i) => i),
      8,
      async (i) => {
        const run = await store.create(
          {
            id: newRunId(),
            projectId: 'bench',
            compiledPrompt: `fan-out ${i}`,
            repository: null,
            branch: null,
            gitProvider: null,
            metadata: null,
            idempotencyKey: null,
            phase: 'Queued',
            createdAt: new Date(),
          },
          { type: 'CREATED', at: new Date() },
        );
        // Running, as if a poller had started it (creation always queues).
        await database.prisma.run.update({
          where: { id: run.id },
          data: { status: 'RUNNING', percent: 30, phase: 'Agent working' },
        });
        svcRuns.push(run.id);
      },
    );
    const svcPublisher = await spawnChild(`${ROOT}/bench/servers/publisher.ts`, {
      env: { DATABASE_URL: svcDb.url, BENCH_PUBLISH: 'service' },
    });
    children.push(svcPublisher);
    const clients: Client[] = [];
    const serviceSide = await measure(
      service,
      options,
      svcRuns,
      (runId, receipts) =>
        new Promise((resolve, reject) => {
          const client = createClient({
            url: `${service.url.replace(/^http/, 'ws')}/graphql`,
            webSocketImpl: WebSocket,
            connectionParams: { authorization: `Bearer ${TOKEN}` },
            lazy: true,
            retryAttempts: 0,
            keepAlive: 0,
          });
          clients.push(client);
          let resolved = false;
          const off = client.subscribe<{ runProgress: { seq: number; run: { id: string } } }>(
            { query: SUBSCRIPTION, variables: { runId, afterSeq: 1 } },
            {
              next: (r) => {
                const e = r.data?.runProgress;
                if (e) receive(receipts, e.run.id, e.seq);
              },
              error: (e) => {
                if (!resolved) reject(e instanceof Error ? e : new Error(JSON.stringify(e)));
              },
              complete: () => {},
            },
          );
          client.on('connected', () => {
            resolved = true;
            resolve(() => {
              off();
              void client.dispose();
            });
          });
        }),
      (runId) => publishVia(svcPublisher, runId),
    );
    log(`  service p99 ${serviceSide.latency.p99} ms, ${serviceSide.rssPerSubscriberKiB} KiB/subscriber`);
    await service.stop();
    return { options, baseline: baselineSide, service: serviceSide };
  } finally {
    await Promise.all(children.map((c) => c.stop().catch(() => {})));
    for (const c of cleanup.reverse()) await c().catch(() => {});
    await baseDb.drop().catch(() => {});
    await svcDb.drop().catch(() => {});
  }
}
