import { describe, expect } from 'vitest';
import { test } from '../support/fixtures.js';
import { getRun, startRun, waitForStatus } from '../support/runs.js';

test.override({
  simulatorOptions: { apiVersion: 'v1', stepMs: 30 },
  serviceEnv: { POLL_INTERVAL_MS: '30000', MAX_ACTIVE_RUNS: '1' },
});

describe('a queued run wakes the poller', () => {
  test('starts a new run at once, and a burst of them does not make the poller spin', async ({ stack }) => {
    const poller = stack.service.app.poller;
    await new Promise((resolve) => setTimeout(resolve, 300));
    const began = Date.now();
    const first = await startRun(stack.url, {
      compiledPrompt: 'Hold the slot [sim:hang]',
      repository: 'acme/widgets',
    });
    await waitForStatus(stack.url, first.id, ['STARTING', 'RUNNING'], 5_000);
    expect(Date.now() - began).toBeLessThan(5_000);

    // The only slot is taken, so each woken tick finds nothing to do and ends at once. 60 runs
    // queued over about 1.5 s each wake the poller; its ticks stay at about 10 a second.
    const ticksBefore = poller.ticks;
    const burstStart = Date.now();
    const ids: string[] = [];
    for (let i = 0; i < 60; i++) {
      ids.push((await startRun(stack.url, { compiledPrompt: `Burst ${i}`, repository: 'acme/widgets' })).id);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const seconds = (Date.now() - burstStart) / 1000;
    const ticks = poller.ticks - ticksBefore;
    expect(ticks).toBeGreaterThan(1);
    expect(ticks).toBeLessThanOrEqual(Math.ceil(seconds * 10) + 3);
    for (const id of ids) expect((await getRun(stack.url, id)).status).toBe('QUEUED');
    stack.sim.complete('[sim:hang]');
  });
});
