/**
 * Scenario 3 with agent-server pushes (issue 13, docs/push.md): the same poller benchmark three
 * times in one session — polling only, push on, push on with a share of batches dropped — and
 * the results side by side in bench/runs/<name>.json and bench/runs/<name>.md (default name "push").
 *
 *   npx tsx bench/push.ts --runs=1000 --window-ms=30000 --drain-ms=30000 --loss=0.1 --reconcile-ms=15000
 *
 * The "push on" row is followed by the push ceiling (bench/scenarios/push-ceiling.ts), once per
 * `--ceiling-batches` size; `--name` names the output files (bench/runs/<name>.{json,md}).
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ROOT } from './lib/child.js';
import { type PollerBenchOptions, type PollerBenchResult, pollerBench } from './scenarios/poller.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '1000' },
    'window-ms': { type: 'string', default: '30000' },
    'drain-ms': { type: 'string', default: '30000' },
    'changes-per-sec': { type: 'string', default: '10' },
    loss: { type: 'string', default: '0.1' },
    'reconcile-ms': { type: 'string', default: '15000' },
    'ceiling-connections': { type: 'string', default: '32' },
    'ceiling-ms': { type: 'string', default: '20000' },
    'ceiling-batches': { type: 'string', default: '1,10' },
    name: { type: 'string', default: 'push' },
  },
});

const base: PollerBenchOptions = {
  runs: Number(values.runs),
  apiVersion: 'v1',
  pollIntervalMs: 2000,
  maxRps: 8,
  batchSize: 99,
  instances: 1,
  changesPerSec: Number(values['changes-per-sec']),
  windowMs: Number(values['window-ms']),
  drainMs: Number(values['drain-ms']),
  stepMs: 20,
};
const reconcileMs = Number(values['reconcile-ms']);
const loss = Number(values.loss);

const rows: Array<{ name: string; result: PollerBenchResult }> = [];
rows.push({ name: 'polling only', result: await pollerBench(base) });
const ceiling = {
  connections: Number(values['ceiling-connections']),
  durationMs: Number(values['ceiling-ms']),
  eventsPerBatch: values['ceiling-batches'].split(',').map(Number),
};
rows.push({
  name: 'push on',
  result: await pollerBench({ ...base, push: { lossRate: 0, reconcileMs }, ceiling }),
});
rows.push({
  name: `push on, ${loss * 100}% of batches dropped`,
  result: await pollerBench({ ...base, push: { lossRate: loss, reconcileMs } }),
});

const ratio = (a: number, b: number) => (b > 0 ? `${(a / b).toFixed(2)}×` : 'n/a');
const polling = rows[0].result;
const lines = [
  `Scenario 3 with push: ${base.runs} active V1 runs, one instance, OPENHANDS_MAX_RPS=${base.maxRps}, POLL_INTERVAL_MS=${base.pollIntervalMs}, ` +
    `OPENHANDS_RECONCILE_MS=${reconcileMs}, ${base.changesPerSec} releases/s for ${base.windowMs / 1000} s + ${base.drainMs / 1000} s drain, simulator steps ${base.stepMs} ms.`,
  '',
  '| | first-change freshness p50 / p95 / p99 (ms) | vs polling p95 | completion at a runsChanged subscriber p50 / p95 / p99 (ms) | completion committed p50 / p95 / p99 (ms) | dropped-PR runs: completion p95 / max (n) | finished / released | requests/s (max in any second) | pushes/s | CPU/s | CPU µs per pushed event |',
  '|---|---|---|---|---|---|---|---|---|---|---|',
  ...rows.map(({ name, result: r }) => {
    const p = r.push;
    const seen = r.receipt;
    return `| ${name} | ${r.freshness.p50} / ${r.freshness.p95} / ${r.freshness.p99} | ${ratio(r.freshness.p95, polling.freshness.p95)} | ${
      seen ? `${seen.p50} / ${seen.p95} / ${seen.p99} (n ${seen.n}, lost ${seen.lost})` : 'n/a'
    } | ${
      p ? `${p.completion.p50} / ${p.completion.p95} / ${p.completion.p99}` : 'n/a'
    } | ${p?.completionLost.n ? `${p.completionLost.p95} / ${p.completionLost.max} (${p.completionLost.n})` : p ? '– (0)' : 'n/a'} | ${p ? p.finished : '—'} / ${r.changes} | ${r.requestsPerSec} (${r.maxRequestsInAnySecond}) | ${
      p ? p.pushesPerSec : 0
    } | ${r.serviceCpu} | ${p ? p.cpuUsPerPushedEvent : 'n/a'} |`;
  }),
  '',
  ...rows.flatMap(({ name, result: r }) =>
    (r.ceiling ?? []).map((c) => {
      const failed = Object.entries(c.failures).map(([k, v]) => `${k}: ${v}`);
      return (
        `- Push ceiling (${name}, after its window): ${c.connections} senders in a closed loop, ${c.eventsPerBatch} event(s) per batch, ${c.seconds} s, ` +
        `the instance still polling: ${c.pushesPerSec} batches/s = ${c.eventsPerSec} events/s absorbed (each a committed activity event), latency p50 ${c.latency.p50} ms / ` +
        `p99 ${c.latency.p99} ms, ${c.cpuMsPerPush} ms CPU per batch, ${c.serviceCpu} CPU s/s; refused ${failed.length ? failed.join(', ') : 'none'}, socket errors ${c.errors}.`
      );
    }),
  ),
];
writeFileSync(`${ROOT}/bench/runs/${values.name}.json`, `${JSON.stringify(rows, null, 2)}\n`);
writeFileSync(`${ROOT}/bench/runs/${values.name}.md`, `${lines.join('\n')}\n`);
console.log(lines.join('\n'));
