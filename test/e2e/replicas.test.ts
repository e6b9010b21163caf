import { describe, expect } from 'vitest';
import type { OpenHandsDriver, UpstreamRun } from '../../src/openhands/driver.js';
import { API_VERSIONS, fixturesPerApiVersion, fixturesWith } from '../support/fixtures.js';
import {
  clientPrompt,
  expectSaneTimeline,
  finalRun,
  sql,
  startRun,
  waitFor,
  waitForStatus,
} from '../support/runs.js';
import type { RunningService } from '../support/service.js';

/**
 * Watches every upstream call (start, poll, stop) of several service instances: which runs each call
 * is about, whether another call about the same run is still in flight anywhere, and whether the
 * calling instance held the run's lease at that moment.
 */
class Referee {
  private readonly inFlight = new Map<string, string>();
  readonly overlaps: string[] = [];
  readonly leaseProblems: string[] = [];
  readonly callsBy = new Map<string, number>();
  readonly runsBy = new Map<string, Set<string>>();

  constructor(private readonly dbUrl: string) {}

  watch(service: RunningService, owner: string): void {
    for (const version of ['v1', 'v0'] as const) {
      const driver = service.app.openhands.driver(version) as OpenHandsDriver;
      const wrap =
        <A extends unknown[], R>(
          name: string,
          fn: (...args: A) => Promise<R>,
          runsOf: (...args: A) => UpstreamRun[],
        ) =>
        async (...args: A): Promise<R> => {
          const ids = runsOf(...args).map((r) => r.id);
          await this.enter(owner, name, ids);
          try {
            // Widen the window in which a second poller could wrongly work the same run.
            await new Promise((r) => setTimeout(r, 25));
            return await fn(...args);
          } finally {
            for (const id of ids) this.inFlight.delete(id);
          }
        };
      driver.start = wrap('start', driver.start.bind(driver), (run) => [run]);
      driver.poll = wrap('poll', driver.poll.bind(driver), (runs) => runs);
      driver.stop = wrap('stop', driver.stop.bind(driver), (run) => [run]);
    }
  }

  private async enter(owner: string, call: string, ids: string[]): Promise<void> {
    for (const id of ids) {
      const other = this.inFlight.get(id);
      if (other) this.overlaps.push(`${owner} ${call} ${id} while ${other} was working it`);
      this.inFlight.set(id, `${owner} ${call}`);
    }
    this.callsBy.set(owner, (this.callsBy.get(owner) ?? 0) + 1);
    const mine = this.runsBy.get(owner) ?? new Set<string>();
    for (const id of ids) mine.add(id);
    this.runsBy.set(owner, mine);
    const rows = await sql<{ id: string; leaseOwner: string | null; valid: boolean }>(
      this.dbUrl,
      `SELECT id, "leaseOwner", "leaseExpiresAt" > now() AS valid FROM "Run" WHERE id = ANY($1)`,
      [ids],
    );
    for (const row of rows) {
      if (row.leaseOwner !== owner || !row.valid) {
        this.leaseProblems.push(
          `${owner} ${call} ${row.id} with lease ${row.leaseOwner} (valid: ${row.valid})`,
        );
      }
    }
  }
}

type Fixtures = ReturnType<typeof fixturesWith>;

/** Two instances on the file's database and simulator, each watched by one referee. */
function withReplicas(fixtures: Fixtures, env: Record<string, string>, names: [string, string]) {
  return fixtures.extend('replicas', { scope: 'file' }, async ({ db, sim, launch }, { onCleanup }) => {
    // A held simulator would keep the instances' polls, and so their stop, waiting.
    onCleanup(() => sim.hold(false));
    const [a, b] = [await launch(env, { instanceId: names[0] }), await launch(env, { instanceId: names[1] })];
    const referee = new Referee(db.url);
    referee.watch(a, names[0]);
    referee.watch(b, names[1]);
    return { a, b, referee };
  });
}

const perVersion = fixturesPerApiVersion();
// File-scoped fixtures must be defined at the top level, not inside a describe.
const sharing = Object.fromEntries(
  API_VERSIONS.map((apiVersion) => [
    apiVersion,
    withReplicas(
      perVersion[apiVersion],
      { OPENHANDS_API_VERSION: apiVersion, POLL_BATCH_SIZE: '3', MAX_ACTIVE_RUNS: '6' },
      ['replica-a', 'replica-b'],
    ),
  ]),
) as Record<(typeof API_VERSIONS)[number], ReturnType<typeof withReplicas>>;
const slowLease = withReplicas(
  fixturesWith({ simulatorOptions: { apiVersion: 'v1' } }),
  { OPENHANDS_API_VERSION: 'v1', POLL_LEASE_MS: '1000', OPENHANDS_TIMEOUT_MS: '20000' },
  ['slow-a', 'slow-b'],
);

for (const apiVersion of API_VERSIONS) {
  describe(`two service instances on one database (${apiVersion})`, () => {
    const test = sharing[apiVersion];

    test('never work the same run at once, start each run once, and share the work', async ({
      db,
      sim,
      replicas: { a, b, referee },
    }) => {
      const prompts = Array.from(
        { length: 10 },
        (_, i) => `replicated ${i} ${i % 3 === 0 ? '[sim:slow]' : ''} #p${i}`,
      );
      // Half the runs are started through each instance.
      const runs = await Promise.all(
        prompts.map((p, i) =>
          startRun((i % 2 ? a : b).graphqlUrl, { compiledPrompt: p, repository: 'acme/widgets' }),
        ),
      );
      const done = await Promise.all(runs.map((r, i) => finalRun((i % 2 ? b : a).graphqlUrl, r.id, 60_000)));
      for (const run of done) {
        expect(run.status, run.compiledPrompt).toBe('COMPLETED');
        expectSaneTimeline(run);
      }
      for (const p of prompts)
        expect(
          sim.conversations().filter((c) => clientPrompt(c) === p),
          p,
        ).toHaveLength(1);

      expect(referee.overlaps).toEqual([]);
      expect(referee.leaseProblems).toEqual([]);
      // Both instances really polled (the check above is not vacuous).
      expect(referee.callsBy.get('replica-a') ?? 0).toBeGreaterThan(0);
      expect(referee.callsBy.get('replica-b') ?? 0).toBeGreaterThan(0);
      // The cap holds across instances: never more than MAX_ACTIVE_RUNS runs upstream at once.
      const spans = await sql<{ started: Date; finished: Date }>(
        db.url,
        `SELECT min(e.at) AS started, r."finishedAt" AS finished FROM "Run" r JOIN "RunEvent" e ON e."runId" = r.id
         WHERE e.status = 'STARTING' GROUP BY r.id`,
      );
      expect(spans).toHaveLength(prompts.length);
      const edges = spans.flatMap((s) => [
        { at: new Date(s.started).getTime(), d: 1 },
        { at: new Date(s.finished).getTime(), d: -1 },
      ]);
      edges.sort((x, y) => x.at - y.at || x.d - y.d);
      let open = 0;
      let peak = 0;
      for (const e of edges) {
        open += e.d;
        peak = Math.max(peak, open);
      }
      expect(peak).toBeGreaterThan(1);
      expect(peak).toBeLessThanOrEqual(6);
    });
  });
}

describe('a poll slower than the lease', () => {
  const test = slowLease;

  test('keeps its lease while the call is in flight, so the other instance does not take the run', async ({
    db,
    sim,
    replicas: { a, referee },
  }) => {
    const run = await startRun(a.graphqlUrl, {
      compiledPrompt: 'Slow upstream [sim:hang] #q1',
      repository: 'acme/widgets',
    });
    await waitForStatus(a.graphqlUrl, run.id, ['RUNNING']);
    // OpenHands stops answering: the instance polling the run now waits well past its 1 s lease.
    const before = sim.requests.length;
    sim.hold(true);
    await waitFor('a poll to be caught', async () => sim.requests.length > before);
    const [{ owner }] = await sql<{ owner: string }>(
      db.url,
      'SELECT "leaseOwner" AS owner FROM "Run" WHERE id = $1',
      [run.id],
    );
    expect(owner).toMatch(/^slow-/);
    const heldSince = Date.now();
    await waitFor('three leases to pass', async () => Date.now() - heldSince > 3000, 10_000);
    const [{ still }] = await sql<{ still: string }>(
      db.url,
      'SELECT "leaseOwner" AS still FROM "Run" WHERE id = $1',
      [run.id],
    );
    expect(still).toBe(owner);
    sim.hold(false);
    sim.complete('#q1');
    const done = await finalRun(a.graphqlUrl, run.id);
    expect(done.status).toBe('COMPLETED');
    expect(referee.overlaps).toEqual([]);
    expect(referee.leaseProblems).toEqual([]);
  });
});
