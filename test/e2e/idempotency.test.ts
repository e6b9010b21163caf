import { describe, expect } from 'vitest';
import { type Stack, test } from '../support/fixtures.js';
import { finalRun, gql, START_RUN, sql, waitFor } from '../support/runs.js';

test.override({ simulatorOptions: { apiVersion: 'v1' } });

describe('idempotent startRun', () => {
  const start = (stack: Stack, input: Record<string, unknown>) =>
    gql(stack.url, START_RUN, { input: { compiledPrompt: 'Same work', ...input } });
  const rowsWithKey = async (stack: Stack, projectId: string, key: string) =>
    (
      await sql<{ id: string }>(
        stack.db.url,
        'SELECT id FROM "Run" WHERE "projectId" = $1 AND "idempotencyKey" = $2',
        [projectId, key],
      )
    ).map((r) => r.id);

  test('the same key in a project returns the same run, created only once', async ({ stack }) => {
    const first = await start(stack, {
      projectId: 'idem',
      idempotencyKey: 'key-1',
      compiledPrompt: 'Idempotent #i1',
    });
    expect(first.errors).toBeUndefined();
    expect(first.data!.startRun.created).toBe(true);
    const run = first.data!.startRun.run;

    const second = await start(stack, {
      projectId: 'idem',
      idempotencyKey: 'key-1',
      compiledPrompt: 'Idempotent #i1',
    });
    expect(second.errors).toBeUndefined();
    expect(second.data!.startRun.created).toBe(false);
    expect(second.data!.startRun.run.id).toBe(run.id);

    // Still the same run after it finished, and it ran upstream only once.
    const done = await finalRun(stack.url, run.id);
    expect(done.status).toBe('COMPLETED');
    const third = await start(stack, {
      projectId: 'idem',
      idempotencyKey: 'key-1',
      compiledPrompt: 'Idempotent #i1',
    });
    expect(third.data!.startRun).toMatchObject({ created: false, run: { id: run.id, status: 'COMPLETED' } });
    expect(await rowsWithKey(stack, 'idem', 'key-1')).toEqual([run.id]);
    expect(stack.sim.conversations().filter((c) => c.prompt.includes('#i1'))).toHaveLength(1);
  });

  test('the key is trimmed the way it is stored', async ({ stack }) => {
    const a = await start(stack, { projectId: 'idem', idempotencyKey: 'key-2' });
    const b = await start(stack, { projectId: 'idem', idempotencyKey: '  key-2  ' });
    expect(b.data!.startRun.run.id).toBe(a.data!.startRun.run.id);
    expect(b.data!.startRun.created).toBe(false);
  });

  test('the same key in another project is another run; no key means a new run each time', async ({
    stack,
  }) => {
    const a = await start(stack, { projectId: 'idem-a', idempotencyKey: 'shared' });
    const b = await start(stack, { projectId: 'idem-b', idempotencyKey: 'shared' });
    expect(a.data!.startRun.run.id).not.toBe(b.data!.startRun.run.id);
    expect(b.data!.startRun.created).toBe(true);
    const c = await start(stack, { projectId: 'idem-a' });
    const d = await start(stack, { projectId: 'idem-a' });
    expect(c.data!.startRun.run.id).not.toBe(d.data!.startRun.run.id);
  });

  test('concurrent requests with one key create exactly one run and all get it back', async ({ stack }) => {
    const n = 12;
    const results = await Promise.all(
      Array.from({ length: n }, () =>
        start(stack, { projectId: 'idem-race', idempotencyKey: 'race-1', compiledPrompt: 'Race #i2' }),
      ),
    );
    for (const res of results) expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
    const ids = new Set(results.map((r) => r.data!.startRun.run.id));
    expect(ids.size).toBe(1);
    expect(results.filter((r) => r.data!.startRun.created)).toHaveLength(1);
    const [id] = ids;
    expect(await rowsWithKey(stack, 'idem-race', 'race-1')).toEqual([id]);
    const events = await sql<{ n: number }>(
      stack.db.url,
      `SELECT count(*)::int AS n FROM "RunEvent" WHERE "runId" = $1 AND type = 'CREATED'`,
      [id],
    );
    expect(events[0].n).toBe(1);
    // And it reaches OpenHands once.
    expect((await finalRun(stack.url, id as string)).status).toBe('COMPLETED');
    await waitFor('the conversation', async () =>
      stack.sim.conversations().some((c) => c.prompt.includes('#i2')),
    );
    expect(stack.sim.conversations().filter((c) => c.prompt.includes('#i2'))).toHaveLength(1);
  });
});
