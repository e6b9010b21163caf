/**
 * The benchmarks with tiny sizes, end to end (bench/run.ts --smoke), so the scripts cannot rot.
 * Asserts that every scenario ran and produced well-formed results — not speed.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'ohr-bench-smoke-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const finite = (n: unknown) => typeof n === 'number' && Number.isFinite(n);

describe('benchmarks (smoke sizes)', () => {
  it('run every scenario and write a well-formed report', { timeout: 600_000 }, async () => {
    const md = join(dir, 'results.md');
    const json = join(dir, 'results.json');
    await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'bench/run.ts', '--smoke', `--out=${md}`, `--json=${json}`],
      {
        cwd: ROOT,
        env: { ...process.env, BENCH_QUIET: '1' },
        timeout: 580_000,
        maxBuffer: 16 * 1024 * 1024,
      },
    );
    const r = JSON.parse(readFileSync(json, 'utf8'));
    expect(r.smoke).toBe(true);
    expect(r.machine.nproc).toMatch(/^\d+$/);

    // 1: both servers answered startRun without errors.
    for (const side of [r.startRun.baseline, r.startRun.service[0]]) {
      expect(side.requests).toBeGreaterThan(0);
      expect(side.errors).toBe(0);
      expect(finite(side.rps) && finite(side.p99) && finite(side.cpuMsPerRequest)).toBe(true);
    }
    // 2: every published event reached every subscriber of its run, on both servers.
    for (const side of [r.fanout.baseline, r.fanout.service]) {
      expect(side.published).toBeGreaterThan(0);
      expect(side.publishErrors).toBe(0);
      expect(side.delivered).toBe(side.expected);
      expect(finite(side.latency.p99) && finite(side.rssPerSubscriberKiB)).toBe(true);
      expect(finite(side.settled.rssPerSubscriberKiB) && finite(side.pauses.loopMaxMs)).toBe(true);
    }
    // 3 and 4: changes were released and measured; requests counted; never a double-poll.
    for (const p of [...r.poller, ...r.scaleout.poller]) {
      expect(p.changes).toBeGreaterThan(0);
      expect(p.reflected + p.censored).toBe(p.changes);
      expect(p.requests).toBeGreaterThan(0);
      expect(finite(p.freshness.p95) && finite(p.requestsPerRunMinute) && finite(p.db.commitsPerSec)).toBe(
        true,
      );
      expect(p.doublePolls).toBe(0);
      // V1: every completion committed well before the end reached the runsChanged subscriber.
      if (p.options.apiVersion === 'v1') {
        expect(p.receipt.lost).toBe(0);
        if (p.receipt.n > 0) expect(finite(p.receipt.p95)).toBe(true);
      } else expect(p.receipt).toBeUndefined();
    }
    expect(r.poller.map((p: { options: { apiVersion: string } }) => p.options.apiVersion).sort()).toEqual([
      'v0',
      'v1',
    ]);
    expect(r.scaleout.startRun.service.map((s: { instances: number }) => s.instances)).toEqual([1, 2]);
    // 5: start-up times and footprints.
    expect(r.startup.cases.length).toBeGreaterThan(0);
    for (const c of [r.startup.baseline, ...r.startup.cases])
      expect(c.readyMs > 0 && c.rssIdleMiB > 0).toBe(true);
    // 7: the dashboard page loaded every row, measured frames in both windows, and lost no change.
    const d = r.dashboard;
    expect(d.firstLoadGzipKiB).toBeGreaterThan(0);
    expect(d.idle.frames.n > 0 && d.live.frames.n > 0).toBe(true);
    expect(d.changesSent).toBeGreaterThan(0);
    expect(d.rowsCurrent).toBe(d.rowsChanged);

    // 6: every queued notification reached the receiver from both senders; the three startRun variants ran.
    for (const side of [r.notifications.baseline, r.notifications.service]) {
      expect(side.received).toBe(r.notifications.options.deliveries * r.notifications.options.rounds);
      expect(finite(side.perSecond) && finite(side.cpuMsPerDelivery)).toBe(true);
    }
    expect(r.notifications.startRun.variants).toHaveLength(3);
    for (const v of r.notifications.startRun.variants)
      expect(v.errors === 0 && v.requests > 0 && finite(v.mean) && finite(v.p99)).toBe(true);

    const text = readFileSync(md, 'utf8');
    for (const heading of ['### 1.', '### 2.', '### 3.', '### 4.', '### 5.', '### 6.'])
      expect(text).toContain(heading);
    expect(text).toMatch(/\d+\.\d\d×/);
  });
});
