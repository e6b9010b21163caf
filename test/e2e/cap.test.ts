import { describe, expect } from 'vitest';
import { test } from '../support/fixtures.js';
import { eventsOf, finalRun, getRun, startRun, waitForStatus } from '../support/runs.js';

test.override({ simulatorOptions: { apiVersion: 'v1', stepMs: 30 }, serviceEnv: { MAX_ACTIVE_RUNS: '1' } });

describe('MAX_ACTIVE_RUNS caps concurrent OpenHands conversations', () => {
  test('keeps the second run QUEUED until the first one has finished', async ({ stack }) => {
    const first = await startRun(stack.url, {
      compiledPrompt: 'First [sim:hang] #k1',
      repository: 'acme/widgets',
    });
    const second = await startRun(stack.url, { compiledPrompt: 'Second #k2', repository: 'acme/widgets' });
    await waitForStatus(stack.url, first.id, ['RUNNING']);
    // While the first is active the second has not been sent to OpenHands.
    expect((await getRun(stack.url, second.id)).status).toBe('QUEUED');
    expect(stack.sim.conversations().some((c) => c.prompt.includes('#k2'))).toBe(false);
    stack.sim.complete('#k1');

    const [a, b] = await Promise.all([finalRun(stack.url, first.id), finalRun(stack.url, second.id)]);
    expect(a.status).toBe('COMPLETED');
    expect(b.status).toBe('COMPLETED');
    // The second started only after the first had finished.
    expect(new Date(b.startedAt).getTime()).toBeGreaterThanOrEqual(new Date(a.finishedAt).getTime());
    expect(eventsOf(b)[0].status).toBe('QUEUED');
  });

  test('a cancelled or failed run frees its slot', async ({ stack }) => {
    const blocker = await startRun(stack.url, {
      compiledPrompt: 'Blocker [sim:hang] #k3',
      repository: 'acme/widgets',
    });
    const waiting = await startRun(stack.url, { compiledPrompt: 'Waiting #k4', repository: 'acme/widgets' });
    await waitForStatus(stack.url, blocker.id, ['STARTING', 'RUNNING']);
    expect((await getRun(stack.url, waiting.id)).status).toBe('QUEUED');
    const { gql, CANCEL_RUN } = await import('../support/runs.js');
    const cancelled = await gql(stack.url, CANCEL_RUN, { id: blocker.id });
    expect(cancelled.data!.cancelRun.run.status).toBe('CANCELLED');
    expect((await finalRun(stack.url, waiting.id)).status).toBe('COMPLETED');
  });
});
