/**
 * Activity events are stored once per upstream event, whatever happens: a service killed with SIGKILL
 * in the middle of a poll, its successor re-reading every event (cursor lost), and two replicas sharing
 * the work on one database.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../tools/simulator/index.js';
import { spawnService } from '../support/child-service.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { finalRun, sql, startRun, waitFor } from '../support/runs.js';
import { type RunningService, startService } from '../support/service.js';

/** [sim:no-pr] plays five tool calls: git status, view, grep, npm test, finish. */
const ACTIONS_PER_RUN = 5;

async function activity(dbUrl: string, runId: string) {
  return sql<{ type: string; upstreamId: string; message: string }>(
    dbUrl,
    `SELECT type, "upstreamId", message FROM "RunEvent" WHERE "runId" = $1 AND "upstreamId" IS NOT NULL ORDER BY seq`,
    [runId],
  );
}

async function expectEachOnce(dbUrl: string, runId: string): Promise<void> {
  const rows = await activity(dbUrl, runId);
  expect(new Set(rows.map((r) => r.upstreamId)).size).toBe(rows.length);
  expect(rows.filter((r) => r.type === 'AGENT_ACTION')).toHaveLength(ACTIONS_PER_RUN);
}

for (const apiVersion of ['v1', 'v0'] as const) {
  describe(`activity events stored once (${apiVersion})`, () => {
    let db: TestDatabase;
    let sim: Simulator;
    const services: RunningService[] = [];
    const env = { OPENHANDS_API_VERSION: apiVersion, POLL_LEASE_MS: '1500' };

    beforeAll(async () => {
      db = await createTestDatabase();
      sim = await startSimulator({ apiVersion, stepMs: 60, rateLimit: false, maxConversations: 100 });
    });
    afterAll(async () => {
      sim?.hold(false);
      await Promise.all(services.map((s) => s.stop()));
      await sim?.stop();
      await db?.drop();
    });

    it('across a kill -9 mid-poll and a successor that re-reads every event', async () => {
      const first = await spawnService(db.url, sim.url, env, `kill-${apiVersion}`);
      const run = await startRun(first.graphqlUrl, {
        compiledPrompt: 'Look around [sim:no-pr] [sim:slow] #k1',
        repository: 'acme/widgets',
      });
      await waitFor('some activity stored', async () => (await activity(db.url, run.id)).length >= 2);
      const before = sim.requests.length;
      sim.hold(true);
      await waitFor('a request in flight', async () => sim.requests.length > before);
      await first.kill();
      sim.hold(false);
      // As if the cursor write had been lost: the successor reads every event again.
      await sql(db.url, `UPDATE "Run" SET "eventCursor" = NULL WHERE id = $1`, [run.id]);
      const second = await startService(db.url, sim.url, env, { instanceId: `after-kill-${apiVersion}` });
      services.push(second);
      const done = await finalRun(second.graphqlUrl, run.id, 40_000);
      expect(done.status).toBe('COMPLETED');
      await expectEachOnce(db.url, run.id);
    });

    it('with two replicas polling one database, cursors reset mid-run', async () => {
      const a = await startService(db.url, sim.url, env, { instanceId: `a-${apiVersion}` });
      const b = await startService(db.url, sim.url, env, { instanceId: `b-${apiVersion}` });
      services.push(a, b);
      const runs = await Promise.all(
        [0, 1, 2, 3].map((i) =>
          startRun((i % 2 ? a : b).graphqlUrl, {
            compiledPrompt: `Replicated [sim:no-pr] [sim:slow] #d${i}`,
            repository: 'acme/widgets',
          }),
        ),
      );
      const ids = runs.map((r) => r.id);
      await waitFor('activity on every run', async () => {
        for (const id of ids) if ((await activity(db.url, id)).length < 2) return false;
        return true;
      });
      await sql(db.url, `UPDATE "Run" SET "eventCursor" = NULL WHERE id = ANY($1)`, [ids]);
      for (const [i, id] of ids.entries()) {
        expect((await finalRun((i % 2 ? b : a).graphqlUrl, id, 40_000)).status).toBe('COMPLETED');
        await expectEachOnce(db.url, id);
      }
    });
  });
}
