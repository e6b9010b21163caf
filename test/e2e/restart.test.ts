import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { type ChildService, spawnService } from '../support/child-service.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
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

for (const apiVersion of ['v1', 'v0'] as const) {
  describe(`a service stopped mid-run, and another on the same database (${apiVersion})`, () => {
    let db: TestDatabase;
    let sim: Simulator;
    let first: ChildService | undefined;
    let second: RunningService | undefined;
    const env = { OPENHANDS_API_VERSION: apiVersion };

    beforeAll(async () => {
      db = await createTestDatabase();
      sim = await startSimulator({ apiVersion, stepMs: 40, rateLimit: false, maxConversations: 100 });
    });
    afterEach(async () => {
      sim.hold(false);
      await first?.kill();
      await second?.stop();
      first = undefined;
      second = undefined;
    });
    afterAll(async () => {
      await sim?.stop();
      await db?.drop();
    });

    it('after a clean stop, the next instance carries the run on to COMPLETED', async () => {
      const a = await startService(db.url, sim.url, env, { instanceId: 'clean-a' });
      const run = await startRun(a.graphqlUrl, { compiledPrompt: 'Survive a restart [sim:slow] #r1', repository: 'acme/widgets' });
      await waitForStatus(a.graphqlUrl, run.id, ['RUNNING']);
      await a.stop();
      const stoppedAt = await getRunFromDb(db.url, run.id);
      expect(stoppedAt.status).toBe('RUNNING');
      expect(stoppedAt.leaseOwner).toBeNull(); // a clean stop gives its leases back

      second = await startService(db.url, sim.url, env, { instanceId: 'clean-b' });
      const done = await finalRun(second.graphqlUrl, run.id);
      expect(done.status).toBe('COMPLETED');
      expect(done.pullRequest.url).toMatch(/\/acme\/widgets\/pull\/\d+$/);
      expectSaneTimeline(done);
      expect(sim.conversations().filter((c) => c.prompt.includes('#r1'))).toHaveLength(1);
    });

    it('after a hard kill mid-poll, the next instance waits out the dead lease, then finishes the run', async () => {
      first = await spawnService(db.url, sim.url, { ...env, POLL_LEASE_MS: '4000' }, 'killed-a');
      const run = await startRun(first.graphqlUrl, { compiledPrompt: 'Survive a kill [sim:slow] #r2', repository: 'acme/widgets' });
      await waitForStatus(first.graphqlUrl, run.id, ['RUNNING']);

      // Freeze OpenHands so the instance is caught in the middle of a poll, holding the run's lease.
      const before = sim.requests.length;
      sim.hold(true);
      await waitFor('a poll in flight under the lease', async () => {
        const lease = await leaseOf(db.url, run.id);
        return sim.requests.length > before && lease.leaseOwner === 'killed-a' && !lease.expired;
      });
      await first.kill();
      const orphan = await leaseOf(db.url, run.id);
      expect(orphan.leaseOwner).toBe('killed-a');
      expect(orphan.expired).toBe(false);
      const heldRequests = sim.requests.length;
      sim.hold(false);

      second = await startService(db.url, sim.url, env, { instanceId: 'killed-b' });
      const done = await finalRun(second.graphqlUrl, run.id);
      expect(done.status).toBe('COMPLETED');
      expectSaneTimeline(done);
      expect(eventsOf(done).map((e) => e.status)).toContain('RUNNING');
      expect(sim.conversations().filter((c) => c.prompt.includes('#r2'))).toHaveLength(1);
      // The new instance left the run alone until the dead instance's lease ran out.
      const afterKill = sim.requests.slice(heldRequests);
      expect(afterKill.length).toBeGreaterThan(0);
      expect(afterKill[0].at).toBeGreaterThanOrEqual(new Date(orphan.leaseExpiresAt!).getTime() - 50);
      const lease = await leaseOf(db.url, run.id);
      expect(lease.leaseOwner).not.toBe('killed-a');
    });

    it('after a hard kill, queued and starting runs are started once and finished by the next instance', async () => {
      first = await spawnService(db.url, sim.url, { ...env, POLL_LEASE_MS: '1000', MAX_ACTIVE_RUNS: '1' }, 'killed-c');
      const a = await startRun(first.graphqlUrl, { compiledPrompt: 'Starting when killed [sim:slow-start] #r3', repository: 'acme/widgets' });
      const b = await startRun(first.graphqlUrl, { compiledPrompt: 'Queued when killed #r4', repository: 'acme/widgets' });
      await waitForStatus(first.graphqlUrl, a.id, ['STARTING']);
      expect((await getRun(first.graphqlUrl, b.id)).status).toBe('QUEUED');
      await first.kill();

      second = await startService(db.url, sim.url, env, { instanceId: 'killed-d' });
      const [doneA, doneB] = await Promise.all([finalRun(second.graphqlUrl, a.id), finalRun(second.graphqlUrl, b.id)]);
      expect(doneA.status).toBe('COMPLETED');
      expect(doneB.status).toBe('COMPLETED');
      expect(sim.conversations().filter((c) => c.prompt.includes('#r3'))).toHaveLength(1);
      expect(sim.conversations().filter((c) => c.prompt.includes('#r4'))).toHaveLength(1);
    });
  });
}

async function getRunFromDb(dbUrl: string, id: string) {
  return (await sql<{ status: string; leaseOwner: string | null }>(dbUrl, 'SELECT status, "leaseOwner" FROM "Run" WHERE id = $1', [id]))[0];
}
