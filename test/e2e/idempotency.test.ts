import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finalRun, gql, START_RUN, type Stack, sql, startStack, waitFor } from '../support/runs.js';

describe('idempotent startRun', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({ apiVersion: 'v1' });
  });
  afterAll(async () => stack?.stop());

  const start = (input: Record<string, unknown>) =>
    gql(stack.url, START_RUN, { input: { compiledPrompt: 'Same work', ...input } });
  const rowsWithKey = async (projectId: string, key: string) =>
    (
      await sql<{ id: string }>(
        stack.db.url,
        'SELECT id FROM "Run" WHERE "projectId" = $1 AND "idempotencyKey" = $2',
        [projectId, key],
      )
    ).map((r) => r.id);

  it('the same key in a project returns the same run, created only once', async () => {
    const first = await start({
      projectId: 'idem',
      idempotencyKey: 'key-1',
      compiledPrompt: 'Idempotent #i1',
    });
    expect(first.errors).toBeUndefined();
    expect(first.data!.startRun.created).toBe(true);
    const run = first.data!.startRun.run;

    const second = await start({
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
    const third = await start({
      projectId: 'idem',
      idempotencyKey: 'key-1',
      compiledPrompt: 'Idempotent #i1',
    });
    expect(third.data!.startRun).toMatchObject({ created: false, run: { id: run.id, status: 'COMPLETED' } });
    expect(await rowsWithKey('idem', 'key-1')).toEqual([run.id]);
    expect(stack.sim.conversations().filter((c) => c.prompt.includes('#i1'))).toHaveLength(1);
  });

  it('the key is trimmed the way it is stored', async () => {
    const a = await start({ projectId: 'idem', idempotencyKey: 'key-2' });
    const b = await start({ projectId: 'idem', idempotencyKey: '  key-2  ' });
    expect(b.data!.startRun.run.id).toBe(a.data!.startRun.run.id);
    expect(b.data!.startRun.created).toBe(false);
  });

  it('the same key in another project is another run; no key means a new run each time', async () => {
    const a = await start({ projectId: 'idem-a', idempotencyKey: 'shared' });
    const b = await start({ projectId: 'idem-b', idempotencyKey: 'shared' });
    expect(a.data!.startRun.run.id).not.toBe(b.data!.startRun.run.id);
    expect(b.data!.startRun.created).toBe(true);
    const c = await start({ projectId: 'idem-a' });
    const d = await start({ projectId: 'idem-a' });
    expect(c.data!.startRun.run.id).not.toBe(d.data!.startRun.run.id);
  });

  it('concurrent requests with one key create exactly one run and all get it back', async () => {
    const n = 12;
    const results = await Promise.all(
      Array.from({ length: n }, () =>
        start({ projectId: 'idem-race', idempotencyKey: 'race-1', compiledPrompt: 'Race #i2' }),
      ),
    );
    for (const res of results) expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
    const ids = new Set(results.map((r) => r.data!.startRun.run.id));
    expect(ids.size).toBe(1);
    expect(results.filter((r) => r.data!.startRun.created)).toHaveLength(1);
    const [id] = ids;
    expect(await rowsWithKey('idem-race', 'race-1')).toEqual([id]);
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
