/**
 * Scenario 5 — start-up and footprint. `src/main.ts` (what `npm start` runs) is spawned with tsx
 * and GET /ready is polled every 5 ms: time from spawn() to the first 200. Then the idle resident
 * memory (VmRSS from /proc after 2 s idle). Cases: embedded PGlite (fresh data dir, so migrations
 * run; and again on the same dir), PostgreSQL (fresh database; and again). Baseline in the same run:
 * the bare graphql-yoga + pg server of scenario 1, from spawn() to listening.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, spawnChild } from '../lib/child.js';
import { createDatabase, log, round, sleep } from '../lib/common.js';
import { TOKEN } from './startrun.js';

export interface StartupCase {
  name: string;
  readyMs: number;
  rssIdleMiB: number;
}

export interface StartupResult {
  repeats: number;
  baseline: StartupCase;
  cases: StartupCase[];
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb * 1024;
}

async function startMain(env: Record<string, string | undefined>): Promise<{ readyMs: number; rss: number }> {
  const port = await freePort();
  const started = performance.now();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      API_TOKENS: TOKEN,
      LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = once(child, 'exit');
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`src/main.ts exited with ${child.exitCode}`);
      if (performance.now() - started > 120_000) throw new Error('src/main.ts was not ready within 120 s');
      const ok = await fetch(`http://127.0.0.1:${port}/ready`)
        .then((r) => r.status === 200)
        .catch(() => false);
      if (ok) break;
      await sleep(5);
    }
    const readyMs = performance.now() - started;
    await sleep(2000);
    return { readyMs, rss: rssOf(child.pid!) };
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

export async function startupBench(repeats: number, embedded = true): Promise<StartupResult> {
  log(`scenario 5: start-up, ${repeats} repeats per case`);
  const cases: Array<{ name: string; ready: number[]; rss: number[] }> = [
    { name: 'embedded (PGlite), first start: migrations', ready: [], rss: [] },
    { name: 'embedded (PGlite), restart', ready: [], rss: [] },
    { name: 'PostgreSQL, first start: migrations', ready: [], rss: [] },
    { name: 'PostgreSQL, restart', ready: [], rss: [] },
  ];
  const baseline = { ready: [] as number[], rss: [] as number[] };
  for (let r = 0; r < repeats; r++) {
    const dataDir = mkdtempSync(join(tmpdir(), 'ohr-bench-'));
    const db = await createDatabase();
    try {
      const env = { OPENHANDS_BASE_URL: 'http://127.0.0.1:9', OPENHANDS_API_VERSION: 'v1' };
      const plan = [
        [0, { ...env, DATABASE_URL: '', DATA_DIR: dataDir }],
        [1, { ...env, DATABASE_URL: '', DATA_DIR: dataDir }],
        [2, { ...env, DATABASE_URL: db.url }],
        [3, { ...env, DATABASE_URL: db.url }],
      ] as const;
      for (const [i, e] of embedded ? plan : plan.slice(2)) {
        const m = await startMain(e);
        cases[i].ready.push(m.readyMs);
        cases[i].rss.push(m.rss);
      }
      const base = await spawnChild(`${ROOT}/bench/servers/baseline-yoga.ts`, {
        env: { DATABASE_URL: db.url },
      });
      baseline.ready.push(base.readyMs);
      await sleep(2000);
      baseline.rss.push(rssOf(base.child.pid!));
      await base.stop();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
      await db.drop().catch(() => {});
    }
  }
  const pick = (c: { ready: number[]; rss: number[] }) => ({
    readyMs: round(median(c.ready), 0),
    rssIdleMiB: round(median(c.rss) / 1024 / 1024, 1),
  });
  return {
    repeats,
    baseline: { name: 'bare graphql-yoga + pg (baseline)', ...pick(baseline) },
    cases: cases.filter((c) => c.ready.length).map((c) => ({ name: c.name, ...pick(c) })),
  };
}
