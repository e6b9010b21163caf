import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { LOCK_FILE } from '../../src/storage/data-dir-lock.js';
import { DataDirInUseError, openDatabase } from '../../src/storage/database.js';
import { test } from '../support/fixtures.js';
import { tokensCli } from '../support/ops.js';
import { expectSaneTimeline, finalRun, getRun, startRun } from '../support/runs.js';
import { startService } from '../support/service.js';

// Only the simulator fixture: the service's database here is the embedded one in DATA_DIR.
test.override({ simulatorOptions: { apiVersion: 'v1' } });

describe('embedded PostgreSQL (PGlite) when DATABASE_URL is unset', () => {
  let dataDir: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'ohr-embedded-'));
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  test('starts on an empty data folder, takes a run to COMPLETED, and keeps it across a restart', async ({
    sim,
  }) => {
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
  describe('one process at a time', () => {
    test('a second process (the tokens tool) is told who has DATA_DIR, and gets it once the service stops', async ({
      sim,
    }) => {
      const dir = await mkdtemp(join(tmpdir(), 'ohr-locked-'));
      try {
        const service = await startService(undefined, sim.url, { POLLER_ENABLED: 'false' }, { dataDir: dir });
        let stopped = false;
        try {
          const refused = await tokensCli(['list'], undefined, { DATA_DIR: dir });
          expect(refused.code).toBe(1);
          expect(refused.stderr.trim()).toBe(
            `DATA_DIR ${dir} is in use by process ${process.pid}; stop the service or point DATABASE_URL at PostgreSQL`,
          );
          // In this process too: a second open of the same folder is refused, not corrupted.
          await expect(openDatabase({ dataDir: dir })).rejects.toBeInstanceOf(DataDirInUseError);
          await service.stop();
          stopped = true;
          expect(await readdir(dir)).not.toContain(LOCK_FILE);
          const listed = await tokensCli(['list'], undefined, { DATA_DIR: dir });
          expect(listed.stderr).toBe('');
          expect(listed.code).toBe(0);
        } finally {
          if (!stopped) await service.stop();
        }
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    test('takes over a lock left by a process that is gone', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'ohr-stale-'));
      try {
        const gone = spawn(process.execPath, ['-e', '']);
        await new Promise((resolve) => gone.once('exit', resolve));
        await writeFile(join(dir, LOCK_FILE), `${gone.pid}\n`);
        const db = await openDatabase({ dataDir: dir });
        await db.close();
        expect(await readdir(dir)).not.toContain(LOCK_FILE);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  });
});
