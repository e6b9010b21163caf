/**
 * Shared helpers for the benchmarks: sizes from env/CLI, statistics, scratch databases, ratios.
 * Everything here talks to 127.0.0.1 only.
 */
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../../test/support/database.js';

/** `--name=value` flags win over `BENCH_NAME` environment variables, which win over the default. */
export function setting(name: string, fallback: number): number;
export function setting(name: string, fallback: string): string;
export function setting(name: string, fallback: number | string): number | string {
  const flag = process.argv.find((a) => a.startsWith(`--${name}=`));
  const raw = flag
    ? flag.slice(name.length + 3)
    : process.env[`BENCH_${name.toUpperCase().replaceAll('-', '_')}`];
  if (raw === undefined || raw === '') return fallback;
  if (typeof fallback === 'number') {
    const n = Number(raw);
    if (!Number.isFinite(n)) throw new Error(`--${name} must be a number, got "${raw}"`);
    return n;
  }
  return raw;
}

export function flag(name: string): boolean {
  return process.argv.includes(`--${name}`) || process.env[`BENCH_${name.toUpperCase()}`] === '1';
}

export function adminUrl(): string {
  return (
    process.env.BENCH_DATABASE_URL ??
    process.env.TEST_DATABASE_URL ??
    'postgresql://postgres@127.0.0.1:5432/postgres'
  );
}

export type ScratchDatabase = TestDatabase;

/** A fresh, empty database on the local PostgreSQL (the tests' helper), dropped by `drop()`. */
export function createDatabase(): Promise<ScratchDatabase> {
  return createTestDatabase('ohr_bench', adminUrl());
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index];
}

export interface Summary {
  n: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

export function summarize(values: number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  const sum = sorted.reduce((s, v) => s + v, 0);
  return {
    n: sorted.length,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: sorted.length ? sorted[sorted.length - 1] : Number.NaN,
    mean: sorted.length ? sum / sorted.length : Number.NaN,
  };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function round(value: number, digits = 1): number {
  if (!Number.isFinite(value)) return value;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** "1.23×" — the measured value divided by its same-run baseline. */
export function ratio(value: number, baseline: number): string {
  if (!Number.isFinite(value) || !Number.isFinite(baseline) || baseline === 0) return 'n/a';
  return `${(value / baseline).toFixed(2)}×`;
}

export const mib = (bytes: number) => round(bytes / 1024 / 1024, 1);

/** Runs `work` over `items` with at most `limit` in flight. */
export async function mapLimit<T, R>(
  items: T[],
  limit: number,
  work: (item: T, i: number) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await work(items[i], i);
      }
    }),
  );
  return out;
}

/** Database activity counters of one database (pg_stat_database), for deltas over a window. */
export interface DbStats {
  xactCommit: number;
  tupReturned: number;
  tupFetched: number;
  tupInserted: number;
  tupUpdated: number;
  blksHit: number;
  blksRead: number;
}

export async function dbStats(url: string, name: string): Promise<DbStats> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    // Statistics are cached per transaction and flushed by backends lazily: ask for a fresh snapshot.
    await client.query('SELECT pg_stat_clear_snapshot()');
    const { rows } = await client.query(
      `SELECT xact_commit, tup_returned, tup_fetched, tup_inserted, tup_updated, blks_hit, blks_read
       FROM pg_stat_database WHERE datname = $1`,
      [name],
    );
    const r = rows[0];
    return {
      xactCommit: Number(r.xact_commit),
      tupReturned: Number(r.tup_returned),
      tupFetched: Number(r.tup_fetched),
      tupInserted: Number(r.tup_inserted),
      tupUpdated: Number(r.tup_updated),
      blksHit: Number(r.blks_hit),
      blksRead: Number(r.blks_read),
    };
  } finally {
    await client.end();
  }
}

export function dbDelta(before: DbStats, after: DbStats, seconds: number) {
  const per = (k: keyof DbStats) => round((after[k] - before[k]) / seconds, 1);
  return {
    commitsPerSec: per('xactCommit'),
    rowsReadPerSec: per('tupFetched'),
    rowsScannedPerSec: per('tupReturned'),
    rowsInsertedPerSec: per('tupInserted'),
    rowsUpdatedPerSec: per('tupUpdated'),
    blocksPerSec: round((after.blksHit - before.blksHit + after.blksRead - before.blksRead) / seconds, 0),
  };
}

/** Largest number of timestamps within any `windowMs`-long sliding window. */
export function maxInWindow(times: number[], windowMs = 1000): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  let start = 0;
  for (let end = 0; end < sorted.length; end++) {
    while (sorted[end] - sorted[start] >= windowMs) start++;
    best = Math.max(best, end - start + 1);
  }
  return best;
}

export function log(...parts: unknown[]): void {
  if (process.env.BENCH_QUIET === '1') return;
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${parts.join(' ')}\n`);
}

/** Scenario 2's baseline NOTIFY channel (bench/servers/baseline-ws.ts and publisher.ts). */
export const BASELINE_CHANNEL = 'bench_ws_events';
