import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { expectSaneTimeline, finalRun, getRun, startRun } from '../support/runs.js';
import { startService } from '../support/service.js';

describe('embedded PostgreSQL (PGlite) when DATABASE_URL is unset', () => {
  let sim: Simulator;
  let dataDir: string;

  beforeAll(async () => {
    sim = await startSimulator({ apiVersion: 'v1', stepMs: 30, rateLimit: false });
    dataDir = await mkdtemp(join(tmpdir(), 'ohr-embedded-'));
  });
  afterAll(async () => {
    await sim?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('starts on an empty data folder, takes a run to COMPLETED, and keeps it across a restart', async () => {
    const first = await startService(undefined, sim.url, { OPENHANDS_API_VERSION: 'auto' }, { dataDir });
    let runId: string;
    try {
      expect(first.app.database.kind).toBe('embedded');
      expect(first.app.database.appliedMigrations.length).toBeGreaterThan(0);
      expect((await readdir(dataDir)).length).toBeGreaterThan(0);

      const run = await startRun(first.graphqlUrl, {
        compiledPrompt: 'Embedded run #e1',
        repository: 'acme/widgets',
      });
      runId = run.id;
      const done = await finalRun(first.graphqlUrl, run.id);
      expect(done.status).toBe('COMPLETED');
      expect(done.pullRequest.url).toMatch(/^https:\/\/github\.com\/acme\/widgets\/pull\/\d+$/);
      expectSaneTimeline(done);
    } finally {
      await first.stop();
    }

    const second = await startService(undefined, sim.url, { OPENHANDS_API_VERSION: 'auto' }, { dataDir });
    try {
      expect(second.app.database.appliedMigrations).toEqual([]);
      const again = await getRun(second.graphqlUrl, runId);
      expect(again).toMatchObject({ id: runId, status: 'COMPLETED', percent: 100 });
      // And it still works: a second run through the reopened database.
      const next = await startRun(second.graphqlUrl, { compiledPrompt: 'Embedded run #e2' });
      expect((await finalRun(second.graphqlUrl, next.id)).status).toBe('COMPLETED');
    } finally {
      await second.stop();
    }
    expect(sim.conversations().filter((c) => c.prompt.startsWith('Embedded run'))).toHaveLength(2);
  });
});
