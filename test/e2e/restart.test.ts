import { describe, expect } from 'vitest';
import { type ChildService, spawnService } from '../support/child-service.js';
import { API_VERSIONS, fixturesPerApiVersion } from '../support/fixtures.js';
import {
  eventsOf,
  expectSaneTimeline,
  finalRun,
  getRun,
  sql,
  startRun,
  waitFor,
  waitForStatus,
} from '../support/runs.js';
import { type RunningService, startService } from '../support/service.js';

type Lease = { leaseOwner: string | null; leaseExpiresAt: Date | null; expired: boolean };
const leaseOf = async (dbUrl: string, id: string) =>
  (
    await sql<Lease>(
      dbUrl,
      `SELECT "leaseOwner", "leaseExpiresAt", "leaseExpiresAt" < now() AS expired FROM "Run" WHERE id = $1`,
      [id],
    )
  )[0];

const tests = fixturesPerApiVersion({ simulatorOptions: { stepMs: 40 } });

for (const apiVersion of API_VERSIONS) {
  describe(`a service stopped mid-run, and another on the same database (${apiVersion})`, () => {
    const test = tests[apiVersion];
    let first: ChildService | undefined;
    let second: RunningService | undefined;
    const env = { OPENHANDS_API_VERSION: apiVersion };

    test.afterEach(async ({ sim }) => {
      sim.hold(false);
      await first?.kill();
      await second?.stop();
      first = undefined;
      second = undefined;
    });

    test('after a clean stop, the next instance carries the run on to COMPLETED', async ({ db, sim }) => {
      const a = await startService(db.url, sim.url, env, { instanceId: 'clean-a' });
      const run = await startRun(a.graphqlUrl, {
        compiledPrompt: 'Survive a restart [sim:hang] #r1',
        repository: 'acme/widgets',
      });
      await waitForStatus(a.graphqlUrl, run.id, ['RUNNING']);
      await a.stop();
      const stoppedAt = await getRunFromDb(db.url, run.id);
      expect(stoppedAt.status).toBe('RUNNING');
      expect(stoppedAt.leaseOwner).toBeNull(); // a clean stop gives its leases back

      second = await startService(db.url, sim.url, env, { instanceId: 'clean-b' });
      sim.complete('#r1');
      const done = await finalRun(second.graphqlUrl, run.id);
      expect(done.status).toBe('COMPLETED');
      expect(done.pullRequest.url).toMatch(/\/acme\/widgets\/pull\/\d+$/);
      expectSaneTimeline(done);
      expect(sim.conversations().filter((c) => c.prompt.includes('#r1'))).toHaveLength(1);
    });

    test('after a hard kill mid-poll, the next instance waits out the dead leases, then finishes every run once', async ({
      db,
      sim,
    }) => {
      first = await spawnService(
        db.url,
        sim.url,
        { ...env, POLL_LEASE_MS: '2500', MAX_ACTIVE_RUNS: '2' },
        'killed-a',
      );
      // One run in each state at the moment of the kill: RUNNING, STARTING and QUEUED (beyond the cap).
      const running = await startRun(first.graphqlUrl, {
        compiledPrompt: 'Running when killed [sim:hang] #r2',
        repository: 'acme/widgets',
      });
      await waitForStatus(first.graphqlUrl, running.id, ['RUNNING']);
      const starting = await startRun(first.graphqlUrl, {
        compiledPrompt: 'Starting when killed [sim:stuck] #r3',
        repository: 'acme/widgets',
      });
      await waitForStatus(first.graphqlUrl, starting.id, ['STARTING']);
      const queued = await startRun(first.graphqlUrl, {
        compiledPrompt: 'Queued when killed #r4',
        repository: 'acme/widgets',
      });
      expect((await getRun(first.graphqlUrl, queued.id)).status).toBe('QUEUED');

      // Freeze OpenHands so the instance is caught in the middle of a poll, holding the runs' leases.
      // The round that gets frozen may have claimed only the STARTING run (their poll times drift
      // apart under load); then the RUNNING one is not leased, so thaw and freeze again.
      await waitFor("a poll in flight under the RUNNING run's lease", async () => {
        const before = sim.requests.length;
        sim.hold(true);
        const caught = await waitFor(
          'a frozen request',
          async () => {
            const lease = await leaseOf(db.url, running.id);
            return sim.requests.length > before && lease.leaseOwner === 'killed-a' && !lease.expired;
          },
          2_000,
        ).catch(() => false);
        if (!caught) sim.hold(false);
        return caught;
      });
      await first.kill();
      const orphan = await leaseOf(db.url, running.id);
      expect(orphan.leaseOwner).toBe('killed-a');
      expect(orphan.expired).toBe(false);
      sim.hold(false);

      // The next instance, watched from its first poll on.
      second = await startService(
        db.url,
        sim.url,
        { ...env, POLLER_ENABLED: 'false' },
        { instanceId: 'killed-b' },
      );
      const firstTouch = new Map<string, number>();
      for (const version of ['v1', 'v0'] as const) {
        const driver = second.app.openhands.driver(version);
        const poll = driver.poll.bind(driver);
        driver.poll = (runs) => {
          for (const r of runs) if (!firstTouch.has(r.id)) firstTouch.set(r.id, Date.now());
          return poll(runs);
        };
      }
      second.app.poller.start();
      sim.complete('#r2');
      sim.complete('#r3');
      const done = await Promise.all(
        [running, starting, queued].map((r) => finalRun(second!.graphqlUrl, r.id)),
      );
      for (const run of done) {
        expect(run.status, run.compiledPrompt).toBe('COMPLETED');
        expectSaneTimeline(run);
      }
      expect(eventsOf(done[0]).map((e) => e.status)).toContain('RUNNING');
      for (const marker of ['#r2', '#r3', '#r4']) {
        expect(
          sim.conversations().filter((c) => c.prompt.includes(marker)),
          marker,
        ).toHaveLength(1);
      }
      // The new instance left the dead instance's run alone until its lease ran out.
      expect(firstTouch.get(running.id)).toBeGreaterThanOrEqual(
        new Date(orphan.leaseExpiresAt!).getTime() - 50,
      );
      const lease = await leaseOf(db.url, running.id);
      expect(lease.leaseOwner).not.toBe('killed-a');
    });

    // V1 only: a V0 conversation carries nothing the runner chose (no title, no tag) to find it by, so
    // a V0 start interrupted in flight may still leave a second conversation behind.
    test.runIf(apiVersion === 'v1')(
      'after a hard kill with the start request in flight, the next instance finds that conversation instead of making another',
      async ({ db, sim }) => {
        first = await spawnService(db.url, sim.url, { ...env, POLL_LEASE_MS: '1500' }, 'killed-e');
        sim.hold(true);
        const run = await startRun(first.graphqlUrl, {
          compiledPrompt: 'Killed while starting #r5',
          repository: 'acme/widgets',
        });
        await waitFor('the start request in flight', async () =>
          sim.requests.some(
            (r) => r.method === 'POST' && r.path === '/api/v1/app-conversations' && r.status === 0,
          ),
        );
        await first.kill();
        // OpenHands carries out the request although its client is gone: a conversation nobody knows of.
        sim.hold(false);
        await waitFor('the orphan conversation', async () =>
          sim.conversations().some((c) => c.prompt.includes('#r5')),
        );

        second = await startService(db.url, sim.url, env, { instanceId: 'killed-f' });
        const done = await finalRun(second.graphqlUrl, run.id);
        expect(done.status).toBe('COMPLETED');
        expect(sim.conversations().filter((c) => c.prompt.includes('#r5'))).toHaveLength(1);
        expect(eventsOf(done).some((e) => /interrupted start/.test(e.message ?? ''))).toBe(true);
      },
    );
  });
}

async function getRunFromDb(dbUrl: string, id: string) {
  return (
    await sql<{ status: string; leaseOwner: string | null }>(
      dbUrl,
      'SELECT status, "leaseOwner" FROM "Run" WHERE id = $1',
      [id],
    )
  )[0];
}
