/**
 * Runs the benchmark scenarios and writes a results table (markdown + JSON).
 *
 *   npm run bench                       # everything, full sizes → bench/RESULTS.md, bench/results.json
 *   npm run bench -- --only=1,5         # some scenarios
 *   npm run bench -- --only=8           # against PostGraphile (opt-in: needs the postgraphile devDependency,
 *                                       # or BENCH_PEER_MODULES=<folder with its own npm install>)
 *   npm run bench:smoke                 # tiny sizes, results in the temp folder (what the test runs)
 *
 * Every size is a flag or a BENCH_* variable (e.g. --poller-runs=2000 or BENCH_POLLER_RUNS=2000);
 * see `sizes()` below. Needs PostgreSQL at 127.0.0.1:5432 (BENCH_DATABASE_URL / TEST_DATABASE_URL).
 * All traffic stays on 127.0.0.1.
 */
import { execSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, freemem, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { ROOT } from './lib/child.js';
import { adminUrl, flag, log, ratio, round, setting } from './lib/common.js';
import { type DashboardBenchResult, dashboardBench } from './scenarios/dashboard.js';
import { type FanoutResult, fanoutBench } from './scenarios/fanout.js';
import { type NotificationBenchResult, notificationBench } from './scenarios/notifications.js';
import { type PeerResult, peerBench } from './scenarios/peer.js';
import { type PollerBenchResult, pollerBench } from './scenarios/poller.js';
import { type StartRunResult, startRunBench } from './scenarios/startrun.js';
import { type StartupResult, startupBench } from './scenarios/startup.js';

const smoke = flag('smoke');

function sizes() {
  const s = (name: string, full: number, tiny: number) => setting(name, smoke ? tiny : full);
  return {
    http: {
      connections: s('connections', 50, 4),
      durationMs: s('duration-ms', 15_000, 1_000),
      warmupMs: s('warmup-ms', 3_000, 200),
      rounds: s('rounds', 3, 1),
    },
    fanout: {
      subscribers: s('subscribers', 10_000, 20),
      runs: s('fanout-runs', 1_000, 4),
      eventsPerSec: s('events-per-sec', 200, 20),
      durationMs: s('fanout-duration-ms', 20_000, 1_000),
      settleMs: s('fanout-settle-ms', 15_000, 300),
      warmupMs: s('fanout-warmup-ms', 3_000, 200),
    },
    poller: {
      runs: s('poller-runs', 10_000, 30),
      pollIntervalMs: s('poll-interval-ms', 2_000, 500),
      maxRps: s('max-rps', 8, 8),
      batchSize: s('batch-size', 99, 99),
      changesPerSec: s('changes-per-sec', 10, 5),
      windowMs: s('window-ms', 60_000, 1_500),
      drainMs: s('drain-ms', 30_000, 1_500),
      stepMs: s('step-ms', 20, 20),
      versions: setting('versions', 'v1,v0').split(',') as Array<'v1' | 'v0'>,
    },
    scaleout: {
      instances: setting('instances', smoke ? '1,2' : '1,2,3')
        .split(',')
        .map(Number),
      runs: s('scaleout-runs', 10_000, 30),
    },
    startup: { repeats: s('startup-repeats', 3, 1), embedded: s('startup-embedded', 1, 0) === 1 },
    peer: { listRuns: s('list-runs', 10_000, 200) },
    notifications: {
      deliveries: s('notify-deliveries', 3_000, 40),
      concurrency: s('notify-concurrency', 16, 4),
      rounds: s('notify-rounds', 3, 1),
      connections: s('notify-connections', 16, 2),
      durationMs: s('notify-duration-ms', 20_000, 500),
      warmupMs: s('notify-warmup-ms', 3_000, 200),
    },
    dashboard: {
      rows: s('dashboard-rows', 1_000, 50),
      changesPerSec: s('dashboard-changes-per-sec', 50, 20),
      durationMs: s('dashboard-duration-ms', 15_000, 1_000),
    },
  };
}

function machine() {
  const sh = (cmd: string) => {
    try {
      return execSync(cmd, { encoding: 'utf8' }).trim();
    } catch {
      return 'n/a';
    }
  };
  return {
    date: new Date().toISOString(),
    nproc: sh('nproc'),
    cpu: cpus()[0]?.model ?? 'n/a',
    memory: `${round(totalmem() / 2 ** 30, 1)} GiB total, ${round(freemem() / 2 ** 30, 1)} GiB free at start`,
    freeG: sh('free -g | sed -n 2p'),
    node: process.version,
    loadavg: loadavg()
      .map((l) => l.toFixed(2))
      .join(' '),
  };
}

async function postgresVersion(): Promise<string> {
  const client = new pg.Client({ connectionString: adminUrl() });
  await client.connect();
  const { rows } = await client.query<{ server_version: string }>('SHOW server_version');
  await client.end();
  return rows[0].server_version;
}

export interface Results {
  smoke: boolean;
  machine: ReturnType<typeof machine> & { postgres: string };
  sizes: ReturnType<typeof sizes>;
  startRun?: StartRunResult;
  fanout?: FanoutResult;
  poller?: PollerBenchResult[];
  scaleout?: { startRun: StartRunResult; poller: PollerBenchResult[] };
  startup?: StartupResult;
  notifications?: NotificationBenchResult;
  dashboard?: DashboardBenchResult;
  peer?: PeerResult;
  seconds: number;
}

const yes = (ok: boolean) => (ok ? '**met**' : '**missed**');

function markdown(r: Results): string {
  const out: string[] = [];
  const m = r.machine;
  out.push(
    `Run ${m.date}${r.smoke ? ' (SMOKE sizes — not a measurement)' : ''}, ${round(r.seconds / 60, 1)} min.`,
  );
  out.push('');
  out.push(
    `Machine: ${m.nproc} cores (${m.cpu}), ${m.memory}; \`free -g\`: \`${m.freeG}\`; Node ${m.node}; PostgreSQL ${m.postgres}; load average at start ${m.loadavg}.`,
  );
  out.push('');
  if (r.startRun) {
    const s = r.startRun;
    const b = s.baseline;
    const svc = s.service[0];
    out.push(`### 1. startRun throughput and latency`);
    out.push('');
    out.push(
      `${s.connections} concurrent keep-alive connections, closed loop, ${r.sizes.http.rounds} interleaved rounds of ${s.durationMs / 1000} s each (median round shown); each request a startRun with a unique idempotencyKey.`,
    );
    out.push('');
    out.push(
      '| server | req/s | p50 ms | p99 ms | errors | server CPU ms per request | throughput vs baseline | p99 vs baseline | CPU per request vs baseline |',
    );
    out.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
    out.push(
      `| baseline: bare graphql-yoga + one pg INSERT | ${b.rps} | ${b.p50} | ${b.p99} | ${b.errors} | ${b.cpuMsPerRequest} | 1.00× | 1.00× | 1.00× |`,
    );
    out.push(
      `| openhands-runner (1 instance) | ${svc.rps} | ${svc.p50} | ${svc.p99} | ${svc.errors} | ${svc.cpuMsPerRequest} | ${ratio(svc.rps, b.rps)} | ${ratio(svc.p99, b.p99)} | ${ratio(svc.cpuMsPerRequest, b.cpuMsPerRequest)} |`,
    );
    out.push('');
    out.push(
      `Target ≥ 0.70× throughput: ${yes(svc.rps / b.rps >= 0.7)} (${ratio(svc.rps, b.rps)}); p99 ≤ 2× baseline: ${yes(svc.p99 / b.p99 <= 2)} (${ratio(svc.p99, b.p99)}).`,
    );
    out.push('');
  }
  if (r.fanout) {
    const f = r.fanout;
    out.push(`### 2. Subscription fan-out`);
    out.push('');
    out.push(
      `${f.options.subscribers} subscribers (one WebSocket each) on ${f.options.runs} runs, ${f.options.eventsPerSec} events/s for ${f.options.durationMs / 1000} s after ${(f.options.warmupMs ?? 0) / 1000} s of warm-up at the same rate; latency from the publisher's commit to client receipt.`,
    );
    out.push('');
    out.push(
      '| server | connect s | delivered/expected | p50 ms | p95 ms | p99 ms | max ms | RSS KiB/subscriber (1 s / settled) | heap KiB/subscriber (1 s / settled) | p99 vs baseline | settled RSS vs baseline |',
    );
    out.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const [name, side] of [
      ['baseline: bare `ws` broadcast (INSERT + NOTIFY → LISTEN)', f.baseline],
      ['openhands-runner graphql-ws runProgress', f.service],
    ] as const) {
      out.push(
        `| ${name} | ${side.connectSeconds} | ${side.delivered}/${side.expected} | ${side.latency.p50} | ${side.latency.p95} | ${side.latency.p99} | ${side.latency.max} | ${side.rssPerSubscriberKiB} / ${side.settled?.rssPerSubscriberKiB ?? '–'} | ${side.heapPerSubscriberKiB} / ${side.settled?.heapPerSubscriberKiB ?? '–'} | ${ratio(side.latency.p99, f.baseline.latency.p99)} | ${side.settled ? ratio(side.settled.rssPerSubscriberKiB, f.baseline.settled?.rssPerSubscriberKiB ?? Number.NaN) : '–'} |`,
      );
    }
    out.push('');
    out.push(
      `Server pauses while publishing (event-loop delay p99 / max; GC count, total, longest): ${[
        ['baseline', f.baseline],
        ['service', f.service],
      ]
        .filter(([, side]) => (side as FanoutResult['service']).pauses)
        .map(([name, side]) => {
          const p = (side as FanoutResult['service']).pauses;
          return `${name} ${round(p.loopP99Ms, 1)} / ${round(p.loopMaxMs, 1)} ms; ${p.gcCount} GCs, ${round(p.gcTotalMs)} ms, longest ${round(p.gcMaxMs, 1)} ms`;
        })
        .join(' · ')}.`,
    );
    out.push('');
    if (f.service.p99BySlice) {
      out.push(
        `p99 ms per 2 s of publishing: baseline ${f.baseline.p99BySlice?.join(', ')}; service ${f.service.p99BySlice.join(', ')}.`,
      );
      out.push('');
    }
    out.push(
      `Target p99 ≤ 100 ms at ${f.options.eventsPerSec} events/s: ${yes(f.service.latency.p99 <= 100 && f.service.delivered >= f.service.expected)} (${f.service.latency.p99} ms); heap ≤ 16 KiB per idle subscriber (issue 15; settled, ${f.options.settleMs / 1000} s idle): ${yes((f.service.settled?.heapPerSubscriberKiB ?? Number.POSITIVE_INFINITY) <= 16)} (${f.service.settled?.heapPerSubscriberKiB} KiB heap, ${f.service.settled?.rssPerSubscriberKiB} KiB RSS; 1 s after connecting: ${f.service.rssPerSubscriberKiB} KiB RSS).`,
    );
    out.push('');
  }
  const pollerTable = (rows: PollerBenchResult[], title: string) => {
    out.push(title);
    out.push('');
    out.push(
      '| API | instances | runs | poll interval | changes (reflected / censored) | freshness p50 ms | p95 ms | completion at a runsChanged subscriber p95 ms (lost) | p95 vs interval | target ≤ 2× | req/s (budget) | max req in any 1 s | req per run-minute | DB commits/s | rows updated/s | service CPU | claims per instance | double-polls |',
    );
    out.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---|---:|');
    for (const p of rows) {
      const o = p.options;
      const censoredNote = p.censored ? ` (${p.censored} censored)` : '';
      out.push(
        `| ${o.apiVersion} | ${o.instances} | ${o.runs} | ${o.pollIntervalMs} ms | ${p.changes} (${p.reflected} / ${p.censored}) | ${p.freshness.p50} | ${p.freshness.p95}${p.censored > p.changes * 0.05 ? ' (≥, censored)' : ''} | ${p.receipt ? `${p.receipt.p95} (${p.receipt.lost})` : 'n/a'} | ${ratio(p.freshness.p95, o.pollIntervalMs)} | ${o.apiVersion === 'v1' ? yes(p.freshness.p95 <= p.targetMs && p.censored === 0) : 'n/a'}${censoredNote ? '' : ''} | ${p.requestsPerSec} (${p.budget}) | ${p.maxRequestsInAnySecond} (${ratio(p.maxRequestsInAnySecond, p.budget)}) | ${p.requestsPerRunMinute} | ${p.db.commitsPerSec} | ${p.db.rowsUpdatedPerSec} | ${p.serviceCpu} | ${Object.values(p.claimsPerInstance).join(' / ') || '0'} | ${p.doublePolls} (early re-polls ${p.earlyRepolls}) |`,
      );
    }
    out.push('');
    for (const p of rows) {
      out.push(
        `- ${p.options.apiVersion} × ${p.options.instances}: requests by route ${Object.entries(
          p.requestsByRoute,
        )
          .map(([k, v]) => `\`${k}\` ${v}`)
          .join(
            ', ',
          )}; setup ${p.setupSeconds} s, measured ${p.measuredSeconds} s; DB rows read/s ${p.db.rowsReadPerSec}, inserted/s ${p.db.rowsInsertedPerSec}, blocks/s ${p.db.blocksPerSec}.`,
      );
    }
    out.push('');
  };
  if (r.poller?.length) pollerTable(r.poller, '### 3. Poller scale and upstream cost');
  if (r.scaleout) {
    const s = r.scaleout.startRun;
    out.push('### 4. Scale-out (n instances, one database)');
    out.push('');
    out.push(
      '| instances | startRun req/s | p99 ms | server CPU ms per request (all instances) | vs 1 instance | vs baseline (bare yoga, 1 process) | startRun calls per instance |',
    );
    out.push('|---:|---:|---:|---:|---:|---:|---|');
    const one = s.service[0];
    for (const svc of s.service) {
      out.push(
        `| ${svc.instances} | ${svc.rps} | ${svc.p99} | ${svc.cpuMsPerRequest} | ${ratio(svc.rps, one.rps)} | ${ratio(svc.rps, s.baseline.rps)} | ${svc.perInstance.join(' / ')} |`,
      );
    }
    out.push('');
    out.push(
      `Baseline in this run: ${s.baseline.rps} req/s, p99 ${s.baseline.p99} ms, ${s.baseline.cpuMsPerRequest} ms CPU per request. All instances share the same 2 cores (and the load generator and PostgreSQL), so more instances cannot add CPU here; the row shows that the work divides evenly and nothing breaks.`,
    );
    out.push('');
    pollerTable(r.scaleout.poller, 'Freshness and division of the polling work:');
  }
  if (r.startup) {
    const st = r.startup;
    out.push('### 5. Start-up and footprint');
    out.push('');
    out.push(
      `Median of ${st.repeats}; ready = spawn() → first 200 from GET /ready (baseline: spawn → listening).`,
    );
    out.push('');
    out.push('| case | ready ms | vs baseline | RSS idle MiB | vs baseline |');
    out.push('|---|---:|---:|---:|---:|');
    out.push(`| ${st.baseline.name} | ${st.baseline.readyMs} | 1.00× | ${st.baseline.rssIdleMiB} | 1.00× |`);
    for (const c of st.cases) {
      out.push(
        `| ${c.name} | ${c.readyMs} | ${ratio(c.readyMs, st.baseline.readyMs)} | ${c.rssIdleMiB} | ${ratio(c.rssIdleMiB, st.baseline.rssIdleMiB)} |`,
      );
    }
    if (r.startRun) {
      const b = r.startRun.baseline;
      const svc = r.startRun.service[0];
      out.push(
        `| RSS under scenario 1 load (peak): service | | | ${svc.rssPeakMiB} | ${ratio(svc.rssPeakMiB, b.rssPeakMiB)} (baseline peak ${b.rssPeakMiB}) |`,
      );
    }
    out.push('');
  }
  if (r.notifications) notificationsTable(out, r.notifications);
  if (r.dashboard) dashboardSection(out, r.dashboard);
  if (r.peer) peerMarkdown(r.peer, r.sizes.http.rounds, out);
  return out.join('\n');
}

function notificationsTable(out: string[], n: NotificationBenchResult): void {
  const o = n.options;
  out.push('### 6. Run notifications: delivery rate and the cost per startRun');
  out.push('');
  out.push(
    `Deliveries: ${o.deliveries} queued at once (distinct runs, ${o.concurrency} in parallel: NOTIFY_CONCURRENCY), to a receiver in its own process answering 200 at once; median of ${o.rounds} interleaved rounds. Baseline: a bare Node loop POSTing the same body and headers, ${o.concurrency} in parallel, one connection each (as the service), no database.`,
  );
  out.push('');
  out.push(
    '| sender | deliveries/s (queued → all recorded) | at the receiver /s | sender CPU ms per delivery | received | rate vs baseline | CPU vs baseline |',
  );
  out.push('|---|---:|---:|---:|---:|---:|---:|');
  for (const [name, side] of [
    ['baseline: bare http.request loop', n.baseline],
    ['openhands-runner (1 instance): lease, sign, POST, record', n.service],
  ] as const) {
    out.push(
      `| ${name} | ${side.perSecond} | ${side.receiverPerSecond} | ${side.cpuMsPerDelivery} | ${side.received} | ${ratio(side.perSecond, n.baseline.perSecond)} | ${ratio(side.cpuMsPerDelivery, n.baseline.cpuMsPerDelivery)} |`,
    );
  }
  out.push('');
  const m = n.startRun;
  out.push(
    `startRun on the same instance: ${o.connections} connections, closed loop for ${o.durationMs / 1000} s after ${o.warmupMs / 1000} s of warm-up, consecutive requests taking the three kinds in turn (so load and drift hit each alike): ${m.rps} req/s in all, ${m.cpuMsPerRequest} ms server CPU per request.`,
  );
  out.push('');
  out.push(
    '| startRun | requests | mean ms | p50 ms | p99 ms | errors | mean vs none | added ms (mean) | p99 vs none |',
  );
  out.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  const none = m.variants[0];
  for (const v of m.variants) {
    out.push(
      `| ${v.name} | ${v.requests} | ${v.mean} | ${v.p50} | ${v.p99} | ${v.errors} | ${ratio(v.mean, none.mean)} | ${round(v.mean - none.mean, 2)} | ${ratio(v.p99, none.p99)} |`,
    );
  }
  out.push('');
}

function dashboardSection(out: string[], d: DashboardBenchResult): void {
  const o = d.options;
  out.push('### 7. Dashboard runs page under live changes (Chromium)');
  out.push('');
  out.push(
    `${o.rows} rows on one page (\`/?size=${o.rows}\`), ${o.changesPerSec} run changes/s for ${o.durationMs / 1000} s through the service's RunStore → \`runsChanged\` → rows, batched per animation frame. Baseline: the same page idle for the same time. First load ${d.firstLoadGzipKiB} KiB of JavaScript gzipped; ${o.rows} rows shown ${d.loadMs} ms after navigation.`,
  );
  out.push('');
  out.push(
    '| window | frames | frame p50 ms | p95 ms | p99 ms | max ms | frames > 50 ms | long tasks | long-task total ms | longest ms |',
  );
  out.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const [name, w] of [
    ['idle (baseline)', d.idle],
    [`${o.changesPerSec} changes/s`, d.live],
  ] as const) {
    out.push(
      `| ${name} | ${w.frames.n} | ${round(w.frames.p50)} | ${round(w.frames.p95)} | ${round(w.frames.p99)} | ${round(w.frames.max)} | ${w.slowFrames} | ${w.longTasks.count} | ${w.longTasks.totalMs} | ${w.longTasks.maxMs} |`,
    );
  }
  out.push('');
  out.push(
    `Changes sent: ${d.changesSent} (${d.changesPerSecAchieved}/s achieved; ${d.changesFailed} refused by the database); rows showing their run's last change 1 s later: ${d.rowsCurrent} of ${d.rowsChanged} changed rows. Budget ≤ 150 KiB gzipped: ${yes(d.firstLoadGzipKiB <= 150)}; responsive (frame p95 under live load ≤ 50 ms, i.e. no stutter a user sees): ${yes(d.live.frames.p95 <= 50)}.`,
  );
  out.push('');
}

function peerMarkdown(p: PeerResult, rounds: number, out: string[]): void {
  const v = p.versions;
  out.push('### 8. Against PostGraphile on the same database (issue 15)');
  out.push('');
  out.push(
    `PostGraphile ${v.postgraphile} (grafast ${v.grafast}, @dataplan/pg ${v['@dataplan/pg']}, Amber preset, no auth) and openhands-runner (bearer auth, limits, metrics, logging at info to /dev/null) on one database; ${p.listRuns} runs in the listed project. ${p.connections} connections, closed loop, ${rounds} interleaved rounds of ${p.durationMs / 1000} s per operation and side (who goes first alternates); median round shown. Every answer is checked: no \`errors\`, and the expected data (QUEUED run, ${p.listRuns} total and 20 nodes, the right run).`,
  );
  out.push('');
  out.push(
    '| operation | ours req/s | PostGraphile req/s | throughput ours ÷ PG | ours p99 ms | PG p99 ms | p99 ours ÷ PG | ours CPU ms/req | PG CPU ms/req | failures (ours / PG) | target (≥ 1.0×, p99 ≤ PG) |',
  );
  out.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|');
  for (const o of p.operations) {
    const pg = o.peer;
    const met = pg ? yes(o.ours.rps >= pg.rps && o.ours.p99 <= pg.p99) : 'for the record';
    out.push(
      `| ${o.name} | ${o.ours.rps} | ${pg?.rps ?? '–'} | ${pg ? ratio(o.ours.rps, pg.rps) : '–'} | ${o.ours.p99} | ${pg?.p99 ?? '–'} | ${pg ? ratio(o.ours.p99, pg.p99) : '–'} | ${o.ours.cpuMsPerRequest} | ${pg?.cpuMsPerRequest ?? '–'} | ${o.ours.failures} / ${pg?.failures ?? '–'} | ${met} |`,
    );
  }
  out.push('');
  if (p.operations.some((o) => o.floor)) {
    out.push(
      'The fixed stack alone, same run: bare graphql-yoga over Prisma with the same statements and no auth, limits, metrics or logging (`bench/servers/yoga-prisma.ts`).',
    );
    out.push('');
    out.push(
      '| operation | yoga + Prisma req/s | ÷ PG | p99 ms | CPU ms/req | CPU ÷ PG | ours CPU ÷ yoga + Prisma |',
    );
    out.push('|---|---:|---:|---:|---:|---:|---:|');
    for (const o of p.operations) {
      const f = o.floor;
      if (!f) continue;
      const pg = o.peer;
      out.push(
        `| ${o.name} | ${f.rps} | ${pg ? ratio(f.rps, pg.rps) : '–'} | ${f.p99} | ${f.cpuMsPerRequest} | ${pg ? ratio(f.cpuMsPerRequest, pg.cpuMsPerRequest) : '–'} | ${ratio(o.ours.cpuMsPerRequest, f.cpuMsPerRequest)} |`,
      );
    }
    out.push('');
  }
  out.push(
    `Rounds (req/s): ${p.operations
      .map(
        (o) =>
          `${o.name}: ours ${o.ours.rounds.map((r) => r.rps).join(', ')}${o.peer ? `; PG ${o.peer.rounds.map((r) => r.rps).join(', ')}` : ''}${o.floor ? `; yoga + Prisma ${o.floor.rounds.map((r) => r.rps).join(', ')}` : ''}`,
      )
      .join(' · ')}.`,
  );
  out.push('');
  const st = p.startup;
  out.push(
    `Start-up (fork → ready, on the migrated database; ours includes migrations check, bus and poller start; PG includes introspection and schema build): ours ${st.ours.readyMs} ms, PG ${st.peer.readyMs} ms (${ratio(st.ours.readyMs, st.peer.readyMs)}). Idle RSS after start: ours ${st.ours.rssIdleMiB} MiB, PG ${st.peer.rssIdleMiB} MiB (${ratio(st.ours.rssIdleMiB, st.peer.rssIdleMiB)}).`,
  );
  out.push('');
}

/**
 * Replaces the generated block of `path` for this set of scenarios (`key`), keeping hand-written
 * text and the blocks of other scenario sets (so `--only=3` then `--only=1,2` both end up there).
 */
function writeReport(path: string, body: string, key: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const BEGIN = `<!-- bench:begin only=${key} (generated by bench/run.ts; text outside these markers is kept) -->`;
  const END = `<!-- bench:end only=${key} -->`;
  const block = `${BEGIN}\n${body}\n${END}`;
  if (existsSync(path)) {
    const text = readFileSync(path, 'utf8');
    const a = text.indexOf(BEGIN);
    const b = text.indexOf(END);
    if (a >= 0 && b > a) {
      writeFileSync(path, text.slice(0, a) + block + text.slice(b + END.length));
      return;
    }
    writeFileSync(path, `${text.trimEnd()}\n\n${block}\n`);
    return;
  }
  writeFileSync(path, `# Benchmark results\n\n${block}\n`);
}

export async function main(): Promise<Results> {
  const fromJson = setting('from-json', '');
  if (fromJson) {
    // Re-render a report from an earlier run's JSON (no measuring).
    const earlier = JSON.parse(readFileSync(fromJson, 'utf8')) as Results;
    const key = [
      earlier.startRun && '1',
      earlier.fanout && '2',
      earlier.poller && '3',
      earlier.scaleout && '4',
      earlier.startup && '5',
      earlier.notifications && '6',
      earlier.dashboard && '7',
      earlier.peer && '8',
    ]
      .filter(Boolean)
      .join(',');
    writeReport(setting('out', join(ROOT, 'bench/RESULTS.md')), markdown(earlier), key);
    return earlier;
  }
  const started = Date.now();
  const only = new Set(
    setting('only', '1,2,3,4,5,6,7')
      .split(',')
      .map((s) => s.trim()),
  );
  const z = sizes();
  const results: Results = {
    smoke,
    machine: { ...machine(), postgres: await postgresVersion() },
    sizes: z,
    seconds: 0,
  };
  const cpuProfDir = setting('cpu-prof-dir', '') || undefined;
  // Scenario 1 is the single-instance row of scenario 4's throughput run: measured once when both run.
  let startRun: StartRunResult | undefined;
  if (only.has('1') || only.has('5') || only.has('4')) {
    const instances = only.has('4') ? z.scaleout.instances : [1];
    startRun = await startRunBench({ ...z.http, instances, cpuProfDir });
    if (only.has('1') || only.has('5'))
      results.startRun = { ...startRun, service: startRun.service.filter((s) => s.instances === 1) };
  }
  if (only.has('2')) results.fanout = await fanoutBench({ ...z.fanout, cpuProfDir });
  if (only.has('3')) {
    results.poller = [];
    for (const apiVersion of z.poller.versions) {
      results.poller.push(await pollerBench({ ...z.poller, apiVersion, instances: 1, cpuProfDir }));
    }
  }
  if (only.has('4')) {
    const poller: PollerBenchResult[] = [];
    for (const instances of z.scaleout.instances) {
      // The single-instance V1 row of scenario 3 is reused when it has the same size.
      const same = results.poller?.find(
        (p) =>
          p.options.apiVersion === 'v1' &&
          p.options.instances === instances &&
          p.options.runs === z.scaleout.runs,
      );
      poller.push(
        same ?? (await pollerBench({ ...z.poller, runs: z.scaleout.runs, apiVersion: 'v1', instances })),
      );
    }
    results.scaleout = { startRun: startRun!, poller };
  }
  if (only.has('5')) results.startup = await startupBench(z.startup.repeats, z.startup.embedded);
  if (only.has('6')) results.notifications = await notificationBench(z.notifications);
  if (only.has('7')) results.dashboard = await dashboardBench(z.dashboard);
  if (only.has('8')) results.peer = await peerBench({ ...z.http, ...z.peer, cpuProfDir });
  results.seconds = (Date.now() - started) / 1000;
  // Smoke runs never touch the committed results.
  const out = setting('out', smoke ? join(tmpdir(), 'ohr-bench-smoke.md') : join(ROOT, 'bench/RESULTS.md'));
  const json = setting(
    'json',
    smoke ? join(tmpdir(), 'ohr-bench-smoke.json') : join(ROOT, 'bench/results.json'),
  );
  writeReport(out, markdown(results), [...only].sort().join(','));
  writeFileSync(json, `${JSON.stringify(results, null, 2)}\n`);
  log(`wrote ${out} and ${json} after ${round(results.seconds)} s`);
  return results;
}

await main();
