/**
 * Scenario 3 — poller scale and upstream cost (and, with instances > 1, scenario 4's freshness half).
 *
 * N conversations are created directly in the simulator (prompt `[sim:hang]`: they reach "running"
 * and then sit idle, like agents waiting on a model), and N RUNNING runs pointing at them are
 * inserted into the database, so the runner follows N active runs without first spending
 * N × (1 / OPENHANDS_MAX_RPS) seconds starting them. During the window the harness releases idle
 * conversations at a steady rate (`sim.complete(id)`): each then plays its script to the end.
 *
 * Freshness of one change = (time the run row first changed after it, from a trigger that records
 * clock_timestamp() on every change of status / upstreamStatus / upstreamEventCount)
 *   − (timestamp of the first upstream event after the release, read back from the simulator).
 * Changes the runner had not reflected when the measurement ended are "censored": they count as
 * at least (end − change) and are reported separately.
 *
 * Completion as a client sees it (V1): a `runsChanged` subscriber (graphql-ws) on the last instance —
 * another replica than the one that receives pushes when there are several — from the upstream event
 * that carries the pull request URL to the subscriber's first message with the run COMPLETED. Not
 * every row change reaches clients (a poll that only advances the reading position publishes
 * nothing), so this is measured on the change every client waits for. `lost`: runs committed COMPLETED
 * before the end that the subscriber had not received 30 s later (must be 0). The wait ends as soon as
 * every one has arrived; it is long so that a slow delivery on a loaded machine (the smoke test runs
 * beside the whole suite on two cores) is not counted as a lost one.
 *
 * Upstream cost comes from the simulator's request log (every runner request, arrival time), DB load
 * from pg_stat_database deltas; double-polls from a trigger on lease claims: a claim that takes a
 * run whose previous owner's lease had not expired and had not been released.
 */
import { createClient } from 'graphql-ws';
import pg from 'pg';
import WebSocket from 'ws';
import { newRunId } from '../../src/runs/ids.js';
import { startSimulator } from '../../tools/simulator/index.js';
import { type Child, ROOT, spawnChild } from '../lib/child.js';
import {
  createDatabase,
  dbDelta,
  dbStats,
  log,
  mapLimit,
  maxInWindow,
  round,
  sleep,
  summarize,
} from '../lib/common.js';
import { type PushCeilingResult, pushCeiling } from './push-ceiling.js';
import { serviceEnv, TOKEN } from './startrun.js';

export interface PollerBenchOptions {
  runs: number;
  apiVersion: 'v1' | 'v0';
  pollIntervalMs: number;
  /** Total request budget; split evenly across instances. */
  maxRps: number;
  batchSize: number;
  instances: number;
  /** Releases (upstream changes) per second during the window. */
  changesPerSec: number;
  windowMs: number;
  /** Polling continues this long after the last release before measuring stops. */
  drainMs: number;
  stepMs: number;
  cpuProfDir?: string;
  /**
   * Agent-server pushes (docs/push.md): the simulator pushes every V1 conversation's events to the
   * first instance (buffer 1, flush 50 ms), dropping `lossRate` of the batches.
   */
  push?: { lossRate: number; reconcileMs: number };
  /** After the window, with push on: how many pushes the first instance absorbs (push-ceiling.ts), once per batch size. */
  ceiling?: { connections: number; durationMs: number; eventsPerBatch: number[] };
}

/** With push on: what was pushed, and how fast runs reached their final state. */
export interface PushBenchResult {
  batchesSent: number;
  batchesLost: number;
  /** Push attempts the runner did not answer 2xx (each retried after 1 s, up to 3 times). */
  failedAttempts: number;
  eventsPushed: number;
  pushesPerSec: number;
  /** Service CPU microseconds per pushed event (all CPU of the window, polling included). */
  cpuUsPerPushedEvent: number;
  /** Released runs that reached a final state before measuring stopped. */
  finished: number;
  /** The upstream event with the pull request URL → the run COMPLETED (ms). */
  completion: { p50: number; p95: number; p99: number; max: number; n: number };
  /** The same, for runs whose pull-request event was in a dropped batch (healed by reconciliation). */
  completionLost: { p50: number; p95: number; p99: number; max: number; n: number };
}

export interface PollerBenchResult {
  options: PollerBenchOptions;
  setupSeconds: number;
  measuredSeconds: number;
  changes: number;
  reflected: number;
  censored: number;
  freshness: { p50: number; p95: number; p99: number; max: number };
  /** V1: the pull-request event upstream → a runsChanged subscriber receives the run COMPLETED (ms). */
  receipt?: { p50: number; p95: number; p99: number; max: number; n: number; lost: number };
  targetMs: number;
  requests: number;
  requestsPerSec: number;
  maxRequestsInAnySecond: number;
  budget: number;
  requestsPerRunMinute: number;
  requestsByRoute: Record<string, number>;
  db: ReturnType<typeof dbDelta>;
  /** CPU seconds per wall second, all instances together. */
  serviceCpu: number;
  claims: number;
  claimsPerInstance: Record<string, number>;
  doublePolls: number;
  earlyRepolls: number;
  push?: PushBenchResult;
  ceiling?: PushCeilingResult[];
}

const HISTORY_SQL = `
CREATE TABLE bench_history (run_id text NOT NULL, status text, upstream text, steps int, at timestamptz NOT NULL);
CREATE TABLE bench_claims (run_id text NOT NULL, owner text NOT NULL, overlap boolean NOT NULL, at timestamptz NOT NULL);
CREATE FUNCTION bench_track() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW."leaseOwner" IS NOT NULL AND NEW."leaseOwner" IS DISTINCT FROM OLD."leaseOwner" THEN
    INSERT INTO bench_claims VALUES (NEW.id, NEW."leaseOwner",
      OLD."leaseOwner" IS NOT NULL AND OLD."leaseExpiresAt" > now(), clock_timestamp());
  END IF;
  IF NEW.status IS DISTINCT FROM OLD.status OR NEW."upstreamStatus" IS DISTINCT FROM OLD."upstreamStatus"
     OR NEW."upstreamEventCount" IS DISTINCT FROM OLD."upstreamEventCount"
     OR NEW."lastProgressAt" IS DISTINCT FROM OLD."lastProgressAt" THEN
    INSERT INTO bench_history VALUES (NEW.id, NEW.status, NEW."upstreamStatus", NEW."upstreamEventCount", clock_timestamp());
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER bench_track AFTER UPDATE ON "Run" FOR EACH ROW EXECUTE FUNCTION bench_track();`;

interface Upstream {
  runId: string;
  conversationId: string;
  taskId?: string;
  sandboxId?: string;
  /** The driver's reading position, as a runner that had already followed the run would hold it. */
  cursor?: string;
}

async function json(url: string, init?: RequestInit): Promise<unknown> {
  // Harness requests (setup and read-back only) retry network errors: a loaded machine resets sockets.
  for (let attempt = 1; ; attempt++) {
    try {
      const response = await fetch(url, { ...init, headers: { 'content-type': 'application/json' } });
      if (!response.ok) throw new Error(`${init?.method ?? 'GET'} ${url} → ${response.status}`);
      return await response.json();
    } catch (error) {
      if (attempt >= 5 || (error as Error).message.includes('→')) throw error;
      await sleep(200 * attempt);
    }
  }
}

/** Creates `n` idle ([sim:hang]) conversations in the simulator, straight over its HTTP API. */
async function createConversations(simUrl: string, version: 'v1' | 'v0', n: number): Promise<Upstream[]> {
  const indexes = Array.from({ length: n }, (_, i) => i);
  if (version === 'v0') {
    return mapLimit(indexes, 32, async (i) => {
      const runId = newRunId();
      const body = await json(`${simUrl}/api/conversations`, {
        method: 'POST',
        body: JSON.stringify({
          initial_user_msg: `[sim:hang] bench ${i}`,
          repository: 'acme/web',
          git_provider: 'github',
          selected_branch: 'main',
        }),
      });
      return { runId, conversationId: (body as { conversation_id: string }).conversation_id };
    });
  }
  const tasks = await mapLimit(indexes, 32, async (i) => {
    const runId = newRunId();
    const task = (await json(`${simUrl}/api/v1/app-conversations`, {
      method: 'POST',
      body: JSON.stringify({
        initial_message: { role: 'user', content: [{ type: 'text', text: `[sim:hang] bench ${i}` }] },
        selected_repository: 'acme/web',
        selected_branch: 'main',
        git_provider: 'github',
        title: `Run ${runId}`,
      }),
    })) as { id: string };
    return { runId, taskId: task.id };
  });
  const out: Upstream[] = [];
  let pending = tasks;
  while (pending.length) {
    const next: typeof tasks = [];
    for (let i = 0; i < pending.length; i += 99) {
      const group = pending.slice(i, i + 99);
      const query = group.map((t) => `ids=${t.taskId}`).join('&');
      const read = (await json(`${simUrl}/api/v1/app-conversations/start-tasks?${query}`)) as Array<{
        status: string;
        app_conversation_id: string | null;
        sandbox_id: string | null;
      } | null>;
      group.forEach((t, j) => {
        const task = read[j];
        if (task?.status === 'READY' && task.app_conversation_id)
          out.push({
            ...t,
            conversationId: task.app_conversation_id,
            sandboxId: task.sandbox_id ?? undefined,
          });
        else next.push(t);
      });
    }
    pending = next;
    if (pending.length) await sleep(100);
  }
  return out;
}

/**
 * Steady state: the runner has followed these runs before, so its (driver-private) event cursor is
 * at the end of each conversation's events. Without this, the first poll of every run reads its
 * events (10,000 requests, 21 minutes at 8/s) before any steady-state measurement could start.
 */
async function seedCursors(
  simUrl: string,
  version: 'v1' | 'v0',
  runs: Upstream[],
  events: Map<string, number>,
) {
  if (version === 'v0') {
    for (const r of runs)
      r.cursor = JSON.stringify({ next: events.get(r.conversationId) ?? 0, agentState: 'running' });
    return;
  }
  const now = Date.now();
  for (let i = 0; i < runs.length; i += 99) {
    const group = runs.slice(i, i + 99);
    const read = (await json(
      `${simUrl}/api/v1/app-conversations?${group.map((r) => `ids=${r.conversationId}`).join('&')}`,
    )) as Array<{ updated_at: string; sandbox_status: string; execution_status: string | null } | null>;
    group.forEach((r, j) => {
      const c = read[j];
      if (!c) return;
      r.cursor = JSON.stringify({
        page: null,
        seen: events.get(r.conversationId) ?? 0,
        seenState: `${c.updated_at} ${c.sandbox_status ?? ''} ${c.execution_status ?? ''}`,
        readAt: now,
      });
    });
  }
}

async function insertRuns(client: pg.Client, version: 'v1' | 'v0', runs: Upstream[], intervalMs: number) {
  for (let i = 0; i < runs.length; i += 1000) {
    const group = runs.slice(i, i + 1000);
    await client.query(
      `INSERT INTO "Run" (id, "projectId", "compiledPrompt", repository, branch, "gitProvider", status, percent, phase,
         "apiVersion", "startTaskId", "conversationId", "sandboxId", "eventCursor", "lastSeq", "nextPollAt", "updatedAt", "startedAt", "lastProgressAt")
       SELECT r.id, 'bench', r.prompt, 'acme/web', 'main', 'GITHUB', 'RUNNING', 30, 'Agent working',
         $1, r.task, r.conv, r.sandbox, r.cursor, 0, now() + r.delay * interval '1 millisecond', now(), now(), now()
       FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int[], $8::text[])
         AS r(id, prompt, task, conv, sandbox, delay, cursor)`,
      [
        version,
        group.map((r) => r.runId),
        group.map((_, j) => `[sim:hang] bench ${i + j}`),
        group.map((r) => r.taskId ?? null),
        group.map((r) => r.conversationId),
        group.map((r) => r.sandboxId ?? null),
        group.map(() => Math.floor(Math.random() * intervalMs)),
        group.map((r) => r.cursor ?? null),
      ],
    );
  }
}

/** V1: the event that carries the pull request URL (what completes the run), if any. */
async function pullRequestEvent(simUrl: string, id: string): Promise<{ id: string; at: number } | null> {
  const body = (await json(
    `${simUrl}/api/v1/conversation/${id}/events/search?sort_order=TIMESTAMP&limit=100`,
  )) as { items: Array<{ id: string; timestamp: string } & Record<string, unknown>> };
  const event = body.items.find((e) => e.source !== 'user' && JSON.stringify(e).includes('/pull/'));
  return event ? { id: event.id, at: Date.parse(event.timestamp) } : null;
}

/** Timestamp (ms) of the first event the conversation emitted at or after `after`. */
async function firstEventAfter(
  simUrl: string,
  version: 'v1' | 'v0',
  id: string,
  after: number,
): Promise<number | null> {
  const times: string[] = [];
  if (version === 'v1') {
    const body = (await json(
      `${simUrl}/api/v1/conversation/${id}/events/search?sort_order=TIMESTAMP&limit=100`,
    )) as { items: Array<{ timestamp: string }> };
    times.push(...body.items.map((e) => e.timestamp));
  } else {
    const body = (await json(`${simUrl}/api/conversations/${id}/events?start_id=0&limit=100`)) as {
      events: Array<{ timestamp: string }>;
    };
    times.push(...body.events.map((e) => e.timestamp));
  }
  const ms = times.map((t) => Date.parse(t)).filter((t) => t >= after);
  return ms.length ? Math.min(...ms) : null;
}

export async function pollerBench(options: PollerBenchOptions): Promise<PollerBenchResult> {
  const { runs: n, apiVersion, instances } = options;
  const setupStarted = Date.now();
  const db = await createDatabase();
  // The push URL is filled in once the first instance listens (the pusher reads it at each send).
  const lostEvents = new Set<string>();
  const push = options.push
    ? {
        url: '',
        secret: PUSH_SECRET,
        bufferSize: 1,
        flushDelayMs: 50,
        retries: 3,
        retryDelayMs: 1000,
        lossRate: 0,
        onLost: (_: string, events: Array<{ id: string }>) => {
          for (const e of events) lostEvents.add(e.id);
        },
      }
    : undefined;
  const sim = await startSimulator({
    apiVersion,
    stepMs: options.stepMs,
    rateLimit: false,
    maxConversations: n + 100,
    ...(push ? { push } : {}),
  });
  const children: Child[] = [];
  const client = new pg.Client({ connectionString: db.url });
  try {
    // Budget split across instances so the total never exceeds maxRps (one client IP upstream).
    const shares = Array.from({ length: instances }, (_, i) =>
      Math.max(1, Math.floor(options.maxRps / instances) + (i < options.maxRps % instances ? 1 : 0)),
    );
    for (let i = 0; i < instances; i++) {
      children.push(
        await spawnChild(`${ROOT}/bench/servers/service.ts`, {
          env: serviceEnv(db.url, sim.url, `poller-${i + 1}`, {
            OPENHANDS_API_VERSION: apiVersion,
            POLL_INTERVAL_MS: String(options.pollIntervalMs),
            POLL_BATCH_SIZE: String(options.batchSize),
            OPENHANDS_MAX_RPS: String(shares[i]),
            MAX_ACTIVE_RUNS: String(n + 1000),
            RUN_STALL_TIMEOUT_MS: String(6 * 3600_000),
            RUN_MAX_DURATION_MS: String(24 * 3600_000),
            ...(options.push
              ? {
                  OPENHANDS_WEBHOOK_SECRET: PUSH_SECRET,
                  OPENHANDS_RECONCILE_MS: String(options.push.reconcileMs),
                }
              : {}),
          }),
          cpuProfDir: i === 0 ? options.cpuProfDir : undefined,
        }),
      );
    }
    if (push) push.url = `${children[0].url}/openhands`;
    log(
      `scenario 3 (${apiVersion}, ${instances} instance(s), budget ${shares.join('+')}/s${push ? `, push, loss ${options.push?.lossRate}` : ''}): creating ${n} conversations`,
    );
    const upstream = await createConversations(sim.url, apiVersion, n);
    // V0 needs its start phases to pass before it reads "running"; V1 waited for READY above.
    await sleep(options.stepMs * 10);
    const eventCounts = new Map(sim.conversations().map((c) => [c.id, c.eventCount]));
    await seedCursors(sim.url, apiVersion, upstream, eventCounts);
    await client.connect();
    await client.query(HISTORY_SQL);
    await insertRuns(client, apiVersion, upstream, options.pollIntervalMs);
    if (sim.pusher) {
      // The sandboxes' start-up pushes (for conversations no run followed yet) are set-up, not load:
      // let them land before measuring.
      const draining = Date.now();
      await sim.pusher.drain();
      log(`  start-up pushes settled after ${round((Date.now() - draining) / 1000)} s more`);
    }
    const subscriber = await subscribeRunsChanged(children[children.length - 1].url);
    const setupSeconds = (Date.now() - setupStarted) / 1000;
    log(`  ${n} runs inserted after ${round(setupSeconds)} s; warming up for one interval`);
    await sleep(options.pollIntervalMs);

    // --- measurement ---
    if (push) push.lossRate = options.push?.lossRate ?? 0;
    const pushed0 = { ...(sim.pusher?.stats ?? {}) };
    const firstRequest = sim.requests.length;
    const stats0 = await dbStats(db.url, db.name);
    const cpu0 = await Promise.all(children.map((c) => c.cpu()));
    const t0 = Date.now();
    const order = [...upstream].sort(() => Math.random() - 0.5);
    const released = new Map<string, { up: Upstream; at: number }>();
    const gap = 1000 / options.changesPerSec;
    let next = 0;
    while (Date.now() - t0 < options.windowMs && next < order.length) {
      const due = t0 + next * gap;
      if (due > Date.now()) await sleep(due - Date.now());
      const up = order[next++];
      const at = Date.now();
      sim.complete(up.conversationId);
      released.set(up.runId, { up, at });
    }
    await sleep(options.drainMs);
    const t1 = Date.now();
    const lastRequest = sim.requests.length;
    const stats1 = await dbStats(db.url, db.name);
    const cpu1 = await Promise.all(children.map((c) => c.cpu()));
    const seconds = (t1 - t0) / 1000;
    log(`  measured ${round(seconds)} s; ${released.size} changes; stopping instances`);
    const pushed1 = { ...(sim.pusher?.stats ?? {}) };
    // Completions committed before the end may still be on their way to the subscriber.
    const committedBefore = [...(await completedAt(client, [...released.keys()]))]
      .filter(([, at]) => at < t1)
      .map(([id]) => id);
    const graceUntil = Date.now() + RECEIPT_GRACE_MS;
    while (Date.now() < graceUntil && committedBefore.some((id) => !subscriber.completed.has(id)))
      await sleep(50);
    subscriber.close();
    const finals = await client.query<{ id: string; status: string }>(
      `SELECT id, status::text FROM "Run" WHERE id = ANY($1) AND status IN ('COMPLETED','FAILED','CANCELLED','TIMED_OUT')`,
      [[...released.keys()]],
    );
    let ceiling: PushCeilingResult[] | undefined;
    const idle = upstream.filter((u) => !released.has(u.runId)).map((u) => u.conversationId);
    if (options.push && options.ceiling && idle.length > 0) {
      const { connections, durationMs } = options.ceiling;
      ceiling = [];
      for (const eventsPerBatch of options.ceiling.eventsPerBatch) {
        log(
          `  push ceiling: ${connections} senders, ${eventsPerBatch} event(s) per batch, ${durationMs / 1000} s`,
        );
        const result = await pushCeiling(children[0], PUSH_SECRET, idle, {
          connections,
          durationMs,
          eventsPerBatch,
        });
        log(`  ${result.pushesPerSec} batches/s, ${result.cpuMsPerPush} ms CPU each`);
        ceiling.push(result);
      }
    }
    await Promise.all(children.map((c) => c.stop()));

    // --- analysis ---
    const window = sim.requests.slice(firstRequest, lastRequest);
    const byRoute: Record<string, number> = {};
    for (const r of window) {
      const route = `${r.method} ${r.path.replace(/[0-9a-f]{32}/g, '{id}')}`;
      byRoute[route] = (byRoute[route] ?? 0) + 1;
    }
    const changeAt = new Map<string, number>();
    await mapLimit([...released.values()], 16, async ({ up, at }) => {
      const t = await firstEventAfter(sim.url, apiVersion, up.conversationId, at);
      if (t !== null) changeAt.set(up.runId, t);
    });
    const { rows } = await client.query<{ run_id: string; at: Date }>(
      `SELECT run_id, at FROM bench_history WHERE run_id = ANY($1) ORDER BY at`,
      [[...released.keys()]],
    );
    const history = new Map<string, number[]>();
    for (const row of rows) history.set(row.run_id, [...(history.get(row.run_id) ?? []), row.at.getTime()]);
    const freshness: number[] = [];
    let censored = 0;
    for (const [runId, change] of changeAt) {
      const seen = history.get(runId)?.find((t) => t >= change);
      if (seen === undefined) {
        censored++;
        freshness.push(t1 - change);
      } else freshness.push(seen - change);
    }
    const receipt =
      apiVersion === 'v1'
        ? await completionReceipts(sim.url, client, released, subscriber.completed, t1)
        : undefined;
    const pushResult = push
      ? await pushSummary(sim.url, client, released, lostEvents, {
          sent: (pushed1.batchesSent ?? 0) - (pushed0.batchesSent ?? 0),
          lost: (pushed1.batchesLost ?? 0) - (pushed0.batchesLost ?? 0),
          failed: (pushed1.failedAttempts ?? 0) - (pushed0.failedAttempts ?? 0),
          events: (pushed1.eventsSent ?? 0) - (pushed0.eventsSent ?? 0),
          finished: finals.rowCount ?? 0,
          seconds,
          cpuUs: cpu1.reduce((s, c, i) => s + c.user + c.system - cpu0[i].user - cpu0[i].system, 0),
        })
      : undefined;
    const claims = await client.query<{ owner: string; n: number; overlaps: number }>(
      `SELECT owner, count(*)::int AS n, count(*) FILTER (WHERE overlap)::int AS overlaps
       FROM bench_claims WHERE at >= to_timestamp($1 / 1000.0) AND at <= to_timestamp($2 / 1000.0) GROUP BY owner ORDER BY owner`,
      [t0, t1],
    );
    const early = await client.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM (
         SELECT owner, at, lag(owner) OVER w AS prev_owner, lag(at) OVER w AS prev_at FROM bench_claims WINDOW w AS (PARTITION BY run_id ORDER BY at)
       ) c WHERE prev_owner IS NOT NULL AND prev_owner <> owner AND at - prev_at < $1 * interval '1 millisecond'`,
      [options.pollIntervalMs / 2],
    );
    const cpuUs = cpu1.reduce((s, c, i) => s + c.user + c.system - cpu0[i].user - cpu0[i].system, 0);
    const summary = summarize(freshness);
    const claimsPerInstance = Object.fromEntries(claims.rows.map((r) => [r.owner, r.n]));
    return {
      options,
      setupSeconds: round(setupSeconds),
      measuredSeconds: round(seconds),
      changes: changeAt.size,
      reflected: changeAt.size - censored,
      censored,
      freshness: {
        p50: round(summary.p50, 0),
        p95: round(summary.p95, 0),
        p99: round(summary.p99, 0),
        max: round(summary.max, 0),
      },
      ...(receipt ? { receipt } : {}),
      targetMs: 2 * options.pollIntervalMs,
      requests: window.length,
      requestsPerSec: round(window.length / seconds, 2),
      maxRequestsInAnySecond: maxInWindow(window.map((r) => r.at)),
      budget: shares.reduce((a, b) => a + b, 0),
      requestsPerRunMinute: round(window.length / n / (seconds / 60), 3),
      requestsByRoute: byRoute,
      db: dbDelta(stats0, stats1, seconds),
      serviceCpu: round(cpuUs / 1e6 / seconds, 2),
      claims: claims.rows.reduce((s, r) => s + r.n, 0),
      claimsPerInstance,
      doublePolls: claims.rows.reduce((s, r) => s + r.overlaps, 0),
      earlyRepolls: early.rows[0].n,
      ...(pushResult ? { push: pushResult } : {}),
      ...(ceiling ? { ceiling } : {}),
    };
  } finally {
    await Promise.all(children.map((c) => c.stop().catch(() => {})));
    await client.end().catch(() => {});
    await sim.stop();
    await db.drop().catch(() => {});
  }
}

const PUSH_SECRET = 'bench-push-secret';

/** How long a completion committed before the end may take to reach the subscriber before it counts as lost. */
const RECEIPT_GRACE_MS = 30_000;

/** One graphql-ws client following every run (runsChanged): when it first saw each run COMPLETED. */
async function subscribeRunsChanged(
  serviceUrl: string,
): Promise<{ completed: Map<string, number>; close(): void }> {
  const completed = new Map<string, number>();
  const client = createClient({
    url: `${serviceUrl.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${TOKEN}` },
    retryAttempts: 0,
  });
  const off = client.subscribe<{ runsChanged: { run: { id: string; status: string } } }>(
    { query: 'subscription { runsChanged { seq run { id status } } }' },
    {
      next: (message) => {
        const run = message.data?.runsChanged.run;
        if (run?.status === 'COMPLETED' && !completed.has(run.id)) completed.set(run.id, Date.now());
      },
      error: (error) => log(`  runsChanged subscriber failed: ${JSON.stringify(error)}`),
      complete: () => {},
    },
  );
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error('runsChanged subscriber: no connection within 10 s')),
      10_000,
    );
    client.on('connected', () => {
      clearTimeout(timer);
      resolve();
    });
    client.on('closed', () => {
      clearTimeout(timer);
      reject(new Error('runsChanged subscriber: connection closed'));
    });
  });
  return {
    completed,
    close: () => {
      off();
      void client.dispose();
    },
  };
}

/** The pull-request event upstream → the subscriber's COMPLETED, per released run that completed. */
async function completionReceipts(
  simUrl: string,
  client: pg.Client,
  released: Map<string, { up: Upstream; at: number }>,
  heard: Map<string, number>,
  end: number,
): Promise<NonNullable<PollerBenchResult['receipt']>> {
  const committed = await completedAt(client, [...released.keys()]);
  const ms: number[] = [];
  let lost = 0;
  await mapLimit([...committed], 16, async ([run_id, at]) => {
    const receivedAt = heard.get(run_id);
    if (receivedAt === undefined) {
      if (at < end) lost++;
      return;
    }
    const pr = await pullRequestEvent(simUrl, released.get(run_id)!.up.conversationId);
    if (pr) ms.push(Math.max(0, receivedAt - pr.at));
  });
  return { ...percentiles(ms), lost };
}

/** p50 / p95 / p99 / max in whole milliseconds, and how many values. */
function percentiles(values: number[]) {
  const s = summarize(values);
  return {
    p50: round(s.p50, 0),
    p95: round(s.p95, 0),
    p99: round(s.p99, 0),
    max: round(s.max, 0),
    n: values.length,
  };
}

/** When each of these runs was first committed COMPLETED (from the bench_history trigger). */
async function completedAt(client: pg.Client, runIds: string[]): Promise<Map<string, number>> {
  const { rows } = await client.query<{ run_id: string; at: Date }>(
    `SELECT run_id, min(at) AS at FROM bench_history WHERE run_id = ANY($1) AND status = 'COMPLETED' GROUP BY run_id`,
    [runIds],
  );
  return new Map(rows.map((r) => [r.run_id, r.at.getTime()]));
}

/** Completion freshness with push on: the pull-request event upstream → the run COMPLETED. */
async function pushSummary(
  simUrl: string,
  client: pg.Client,
  released: Map<string, { up: Upstream; at: number }>,
  lostEvents: Set<string>,
  counts: {
    sent: number;
    lost: number;
    failed: number;
    events: number;
    finished: number;
    seconds: number;
    cpuUs: number;
  },
): Promise<PushBenchResult> {
  const committed = await completedAt(client, [...released.keys()]);
  const all: number[] = [];
  const lost: number[] = [];
  await mapLimit([...released.values()], 16, async ({ up }) => {
    const pr = await pullRequestEvent(simUrl, up.conversationId);
    const done = committed.get(up.runId);
    if (!pr || done === undefined) return;
    const ms = Math.max(0, done - pr.at);
    all.push(ms);
    if (lostEvents.has(pr.id)) lost.push(ms);
  });
  return {
    batchesSent: counts.sent,
    batchesLost: counts.lost,
    failedAttempts: counts.failed,
    eventsPushed: counts.events,
    pushesPerSec: round(counts.sent / counts.seconds, 1),
    cpuUsPerPushedEvent: counts.events ? round(counts.cpuUs / counts.events, 0) : 0,
    finished: counts.finished,
    completion: percentiles(all),
    completionLost: percentiles(lost),
  };
}
