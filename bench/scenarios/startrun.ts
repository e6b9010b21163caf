/**
 * Scenario 1 — startRun throughput and latency over HTTP, against a bare graphql-yoga + pg INSERT
 * baseline measured in the same run (interleaved rounds, so drift on a noisy machine hits both).
 * Also used by scenario 4 (1..n service instances on one database) and scenario 5 (RSS under load).
 */

import { startSimulator } from '../../tools/simulator/index.js';
import { type Child, ROOT, spawnChild } from '../lib/child.js';
import { createDatabase, log, mib, round, type ScratchDatabase, sleep } from '../lib/common.js';
import { type LoadResult, runLoad } from '../lib/load.js';

export const TOKEN = 'bench-token-0123456789abcdef';
const MUTATION = `mutation($input: StartRunInput!) { startRun(input: $input) { created run { id status percent phase } } }`;

export interface StartRunOptions {
  connections: number;
  durationMs: number;
  warmupMs: number;
  rounds: number;
  /** Service instances on one database (scenario 4); the load is spread across them. */
  instances: number[];
  cpuProfDir?: string;
}

export interface Measured {
  /** Server CPU (user+system, all instances) per successful request, over the measured rounds. */
  cpuMsPerRequest: number;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  requests: number;
  rounds: LoadResult[];
}

export interface StartRunResult {
  connections: number;
  durationMs: number;
  baseline: Measured & { rssIdleMiB: number; rssPeakMiB: number };
  service: Array<
    Measured & {
      instances: number;
      rssIdleMiB: number;
      rssPeakMiB: number;
      /** Successful startRun calls per instance (the load generator spreads connections evenly). */
      perInstance: number[];
      runsInDatabase: number;
    }
  >;
}

function combine(rounds: LoadResult[], cpuUs: number): Measured {
  // Median round by throughput; latency percentiles from that round too (not averaged).
  const sorted = [...rounds].sort((a, b) => a.rps - b.rps);
  const mid = sorted[Math.floor(sorted.length / 2)];
  return {
    cpuMsPerRequest: round(
      cpuUs /
        1000 /
        Math.max(
          1,
          rounds.reduce((s, r) => s + r.ok, 0),
        ),
      2,
    ),
    rps: round(mid.rps, 0),
    p50: round(mid.latency.p50, 2),
    p99: round(mid.latency.p99, 2),
    errors: rounds.reduce((s, r) => s + r.errors + Object.values(r.failures).reduce((a, b) => a + b, 0), 0),
    requests: rounds.reduce((s, r) => s + r.requests, 0),
    rounds,
  };
}

async function load(urls: string[], options: StartRunOptions, durationMs: number, tag: string) {
  let n = 0;
  return runLoad({
    urls,
    path: '/graphql',
    connections: options.connections,
    durationMs,
    headers: { authorization: `Bearer ${TOKEN}` },
    body: () => {
      n++;
      return {
        query: MUTATION,
        variables: {
          input: {
            projectId: 'bench',
            compiledPrompt: `Benchmark run ${tag}-${n}: fix the flaky test [sim:hang]`,
            repository: 'acme/web',
            branch: 'main',
            idempotencyKey: `${tag}-${process.pid}-${n}`,
          },
        },
      };
    },
    accept: (body) => !body.includes('"errors"'),
  });
}

/** Samples a child's RSS while `work` runs; returns the peak. */
async function peakRss<T>(
  children: Child[],
  work: Promise<T>,
): Promise<{ value: T; peak: number; cpuUs: number }> {
  const cpu0 = await Promise.all(children.map((c) => c.cpu()));
  let peak = 0;
  let done = false;
  const sampler = (async () => {
    while (!done) {
      const rss = await Promise.all(children.map((c) => c.call<number>({ type: 'rss' }).catch(() => 0)));
      peak = Math.max(
        peak,
        rss.reduce((a, b) => a + b, 0),
      );
      await sleep(250);
    }
  })();
  const value = await work;
  done = true;
  await sampler;
  const cpu1 = await Promise.all(children.map((c) => c.cpu()));
  const cpuUs = cpu1.reduce((s, c, i) => s + c.user + c.system - cpu0[i].user - cpu0[i].system, 0);
  return { value, peak, cpuUs };
}

export async function startRunBench(options: StartRunOptions): Promise<StartRunResult> {
  const baseDb = await createDatabase();
  const sim = await startSimulator({ apiVersion: 'v1', stepMs: 150, rateLimit: false });
  const databases: ScratchDatabase[] = [baseDb];
  const children: Child[] = [];
  try {
    const baseline = await spawnChild(`${ROOT}/bench/servers/baseline-yoga.ts`, {
      env: { DATABASE_URL: baseDb.url },
      // Profiled too, so the two profiles can be compared package by package.
      cpuProfDir: options.cpuProfDir ? `${options.cpuProfDir}/baseline` : undefined,
    });
    children.push(baseline);
    const baselineIdle = (await baseline.memory()).rss;

    const maxInstances = Math.max(...options.instances);
    const serviceDbs: ScratchDatabase[] = [];
    const result: StartRunResult = {
      connections: options.connections,
      durationMs: options.durationMs,
      baseline: undefined as never,
      service: [],
    };
    const baselineRounds: LoadResult[] = [];
    let baselinePeak = 0;
    let baselineCpu = 0;
    log(
      `scenario 1: ${options.connections} connections, ${options.rounds} rounds of ${options.durationMs} ms`,
    );
    await load([baseline.url], options, options.warmupMs, 'warm-base');

    for (const count of options.instances) {
      const db = await createDatabase();
      databases.push(db);
      serviceDbs.push(db);
      const group: Child[] = [];
      for (let i = 0; i < count; i++) {
        group.push(
          await spawnChild(`${ROOT}/bench/servers/service.ts`, {
            env: serviceEnv(db.url, sim.url, `bench-${count}-${i}`),
            cpuProfDir: count === 1 ? options.cpuProfDir : undefined,
          }),
        );
      }
      children.push(...group);
      const idle = (await Promise.all(group.map((c) => c.memory()))).reduce((s, m) => s + m.rss, 0);
      const urls = group.map((c) => c.url);
      await load(urls, options, options.warmupMs, `warm-${count}`);
      const rounds: LoadResult[] = [];
      let peak = 0;
      let cpuUs = 0;
      const perInstance = new Array(count).fill(0);
      for (let r = 0; r < options.rounds; r++) {
        // Interleaved with the baseline (only once per round for the single-instance case).
        if (count === options.instances[0]) {
          const b = await peakRss([baseline], load([baseline.url], options, options.durationMs, `base-${r}`));
          baselineRounds.push(b.value);
          baselinePeak = Math.max(baselinePeak, b.peak);
          baselineCpu += b.cpuUs;
          log(
            `  baseline round ${r + 1}: ${round(b.value.rps, 0)} req/s p99 ${round(b.value.latency.p99, 1)} ms`,
          );
        }
        const s = await peakRss(group, load(urls, options, options.durationMs, `svc${count}-${r}`));
        rounds.push(s.value);
        peak = Math.max(peak, s.peak);
        cpuUs += s.cpuUs;
        log(
          `  service×${count} round ${r + 1}: ${round(s.value.rps, 0)} req/s p99 ${round(s.value.latency.p99, 1)} ms`,
        );
      }
      const pg = await import('pg');
      const client = new pg.default.Client({ connectionString: db.url });
      await client.connect();
      const { rows } = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM "Run"`);
      await client.end();
      for (const r of rounds) {
        for (const [i, v] of r.okPerUrl.entries()) perInstance[i] += v;
      }
      result.service.push({
        instances: count,
        ...combine(rounds, cpuUs),
        rssIdleMiB: mib(idle),
        rssPeakMiB: mib(peak),
        perInstance: perInstance.map((v) => Math.round(v)),
        runsInDatabase: rows[0].n,
      });
      await Promise.all(group.map((c) => c.stop()));
      if (count === maxInstances) break;
    }
    result.baseline = {
      ...combine(baselineRounds, baselineCpu),
      rssIdleMiB: mib(baselineIdle),
      rssPeakMiB: mib(baselinePeak),
    };
    return result;
  } finally {
    await Promise.all(children.map((c) => c.stop().catch(() => {})));
    await sim.stop();
    for (const db of databases) await db.drop().catch(() => {});
  }
}

export function serviceEnv(
  databaseUrl: string,
  simUrl: string,
  instanceId: string,
  extra: Record<string, string> = {},
) {
  return {
    DATABASE_URL: databaseUrl,
    OPENHANDS_BASE_URL: simUrl,
    OPENHANDS_API_VERSION: 'v1',
    API_TOKENS: TOKEN,
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'silent',
    BENCH_INSTANCE_ID: instanceId,
    // One token drives all the load: the per-token abuse limits (mutations per minute, open
    // subscriptions, queries) would otherwise be what is measured. The baselines have no such limits either.
    RATE_LIMIT_MUTATIONS_PER_MINUTE: '0',
    RATE_LIMIT_QUERIES_PER_MINUTE: '0',
    MAX_SUBSCRIPTIONS_PER_TOKEN: '0',
    MAX_CONNECTIONS_PER_TOKEN: '0',
    ...extra,
  };
}
