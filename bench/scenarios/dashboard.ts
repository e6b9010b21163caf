/**
 * Scenario 6 — the dashboard's runs page with many rows under live changes, in Debian's Chromium.
 *
 * The service (in this process, poller off so nothing but the harness changes runs) gets N runs;
 * the browser opens `/?size=N` so all N rows are on one page, then the harness changes S random
 * runs per second through the service's own RunStore (a transaction + NOTIFY per change, as the
 * poller writes), which reach the page over `runsChanged`. Inside the page a PerformanceObserver
 * collects long tasks (> 50 ms on the main thread) and a requestAnimationFrame loop the frame
 * intervals. The same page sitting idle for the same time is the baseline. After the window the
 * harness checks that every row shows its run's last change (nothing lost).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Page } from 'playwright-core';
import { type App, buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/service.js';
import { ROOT } from '../lib/child.js';
import { createDatabase, log, mapLimit, round, type Summary, sleep, summarize } from '../lib/common.js';
import { serviceEnv } from './startrun.js';

const TOKEN = 'bench-dashboard-token-0123456789';
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export interface DashboardBenchOptions {
  rows: number;
  changesPerSec: number;
  durationMs: number;
}

export interface PageWindow {
  frames: Summary;
  /** Frames longer than 50 ms (what a user sees as a stutter). */
  slowFrames: number;
  longTasks: { count: number; totalMs: number; maxMs: number };
}

export interface DashboardBenchResult {
  options: DashboardBenchOptions;
  firstLoadGzipKiB: number;
  /** Navigation to all N rows in the table. */
  loadMs: number;
  idle: PageWindow;
  live: PageWindow;
  changesSent: number;
  /** Writes the database refused (e.g. no connection in time): not sent, not expected on the page. */
  changesFailed: number;
  changesPerSecAchieved: number;
  /** Rows that showed their run's last change 1 s after the window (should be all changed ones). */
  rowsCurrent: number;
  rowsChanged: number;
}

/**
 * Installed before the page's own script: collects long tasks and frame intervals from then on.
 * A string, not a function: tsx would wrap a function's inner closures in a helper the page lacks.
 */
const PROBES = `(() => {
  const probe = { longTasks: [], frames: [] };
  window.__probe = probe;
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) probe.longTasks.push(entry.duration);
  }).observe({ type: 'longtask', buffered: true });
  let last = performance.now();
  const loop = (now) => {
    probe.frames.push(now - last);
    last = now;
    requestAnimationFrame(loop);
  };
  requestAnimationFrame(loop);
})();`;

async function measureWindow(
  page: Page,
  durationMs: number,
  during?: () => Promise<void>,
): Promise<PageWindow> {
  await page.evaluate(() => {
    const probe = (window as unknown as { __probe: { longTasks: number[]; frames: number[] } }).__probe;
    probe.longTasks.length = 0;
    probe.frames.length = 0;
  });
  await Promise.all([sleep(durationMs), during?.()]);
  const { longTasks, frames } = await page.evaluate(
    () => (window as unknown as { __probe: { longTasks: number[]; frames: number[] } }).__probe,
  );
  return {
    frames: summarize(frames.slice(1)),
    slowFrames: frames.filter((f) => f > 50).length,
    longTasks: {
      count: longTasks.length,
      totalMs: round(longTasks.reduce((a, b) => a + b, 0)),
      maxMs: round(Math.max(0, ...longTasks)),
    },
  };
}

async function seedRuns(url: string, count: number): Promise<string[]> {
  const ids = await mapLimit(
    Array.from({ length: count }, (_, i) => i),
    8,
    async (i) => {
      const res = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
        body: JSON.stringify({
          query: 'mutation($input: StartRunInput!) { startRun(input: $input) { run { id } } }',
          variables: {
            input: { projectId: 'bench', compiledPrompt: `run ${i}`, repository: `acme/repo-${i % 20}` },
          },
        }),
      });
      const body = (await res.json()) as { data?: { startRun: { run: { id: string } } } };
      if (!body.data) throw new Error(`seeding failed: ${JSON.stringify(body)}`);
      return body.data.startRun.run.id;
    },
  );
  return ids;
}

/** Writes in flight at once: enough to keep the pace, few enough for the connection pool. */
const MAX_IN_FLIGHT = 8;

/**
 * S changes per second, spread evenly, each through a RunStore transaction (at most 8 in flight, so
 * a slow machine falls behind the pace rather than timing out); records each run's last phase.
 */
async function changeRuns(
  app: App,
  ids: string[],
  perSec: number,
  durationMs: number,
  last: Map<string, string>,
) {
  const total = Math.round((perSec * durationMs) / 1000);
  const started = performance.now();
  const inFlight = new Set<Promise<unknown>>();
  let failed = 0;
  for (let i = 0; i < total; i++) {
    const wait = started + (i * 1000) / perSec - performance.now();
    if (wait > 0) await sleep(wait);
    while (inFlight.size >= MAX_IN_FLIGHT) await Promise.race(inFlight);
    const id = ids[Math.floor(Math.random() * ids.length)];
    const phase = `tick ${i}`;
    const write = app.store
      .transition(id, (run) => ({
        phase,
        percent: Math.min(99, run.percent + 1),
        event: { type: 'PROGRESS', message: phase },
      }))
      .then(
        () => last.set(id, phase),
        () => failed++,
      )
      .finally(() => inFlight.delete(write));
    inFlight.add(write);
  }
  await Promise.all(inFlight);
  return { sent: total - failed, failed, seconds: (performance.now() - started) / 1000 };
}

export async function dashboardBench(options: DashboardBenchOptions): Promise<DashboardBenchResult> {
  const db = await createDatabase();
  const buildDir = mkdtempSync(join(tmpdir(), 'ohr-bench-dashboard-'));
  const out = execFileSync(
    process.execPath,
    [join(ROOT, 'scripts/build-dashboard.mjs'), '--out', join(buildDir, 'dist')],
    {
      encoding: 'utf8',
    },
  );
  const firstLoadGzipKiB = Number(/first load ([\d.]+) KiB/.exec(out)?.[1] ?? Number.NaN);
  const config = loadConfig({
    ...serviceEnv(db.url, 'http://127.0.0.1:9', 'dashboard-bench'),
    API_TOKENS: TOKEN,
    POLLER_ENABLED: 'false',
    MAX_PAGE_SIZE: String(Math.max(100, options.rows)),
    // About 22 fields a row: 1,000 rows are past the default cost limit of 20,000.
    GRAPHQL_MAX_COST: String(Math.max(20_000, options.rows * 50)),
    RATE_LIMIT_QUERIES_PER_MINUTE: '0',
  });
  const app = await buildApp(config, { dashboardDir: join(buildDir, 'dist') });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-dev-shm-usage'],
  });
  try {
    const { url } = await app.start(0, '127.0.0.1');
    log(`dashboard: seeding ${options.rows} runs`);
    const ids = await seedRuns(url, options.rows);
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    await context.addInitScript((token) => sessionStorage.setItem('openhands-runner.token', token), TOKEN);
    await context.addInitScript(PROBES);
    const page = await context.newPage();
    const loadStarted = performance.now();
    await page.goto(`${url}/?size=${options.rows}`);
    await page.waitForFunction(
      (n) => document.querySelectorAll('tr[data-run-id]').length === n || document.querySelector('.error'),
      options.rows,
      { timeout: 120_000 },
    );
    const refused = await page
      .locator('.error')
      .textContent({ timeout: 1 })
      .catch(() => null);
    if (refused) throw new Error(`the runs page answered: ${refused}`);
    const loadMs = round(performance.now() - loadStarted);
    // The live subscription is open before measuring.
    await page.getByText('Live updates: connected').waitFor({ timeout: 30_000 });
    log(`dashboard: ${options.rows} rows in ${loadMs} ms; idle window`);
    const idle = await measureWindow(page, options.durationMs);
    log(`dashboard: live window, ${options.changesPerSec} changes/s`);
    const last = new Map<string, string>();
    let changes = { sent: 0, failed: 0, seconds: 0 };
    const live = await measureWindow(page, options.durationMs, async () => {
      changes = await changeRuns(app, ids, options.changesPerSec, options.durationMs, last);
    });
    await sleep(1000);
    const shown = await page.evaluate(() =>
      Object.fromEntries(
        [...document.querySelectorAll('tr[data-run-id]')].map((tr) => [
          tr.getAttribute('data-run-id'),
          tr.querySelector('td[data-label="Phase"]')?.textContent ?? '',
        ]),
      ),
    );
    const rowsCurrent = [...last].filter(([id, phase]) => shown[id] === phase).length;
    return {
      options,
      firstLoadGzipKiB,
      loadMs,
      idle,
      live,
      changesSent: changes.sent,
      changesFailed: changes.failed,
      changesPerSecAchieved: round(changes.sent / changes.seconds),
      rowsCurrent,
      rowsChanged: last.size,
    };
  } finally {
    await browser.close();
    await app.stop();
    await db.drop();
    rmSync(buildDir, { recursive: true, force: true });
  }
}
