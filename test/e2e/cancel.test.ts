import { describe, expect } from 'vitest';
import { API_VERSIONS, fixturesPerApiVersion, type Stack } from '../support/fixtures.js';
import {
  CANCEL_RUN,
  eventsOf,
  expectSaneTimeline,
  finalRun,
  getRun,
  gql,
  startRun,
  waitFor,
  waitForStatus,
  waitForUpstreamStop,
} from '../support/runs.js';

const tests = fixturesPerApiVersion({ simulatorOptions: { stepMs: 40 } });

for (const apiVersion of API_VERSIONS) {
  describe(`cancelRun (${apiVersion})`, () => {
    const test = tests[apiVersion];
    const cancel = (stack: Stack, id: string) => gql(stack.url, CANCEL_RUN, { id });

    test('cancels a running run: CANCELLED at once, the conversation stopped upstream, nothing changes after', async ({
      stack,
    }) => {
      // [sim:hang] holds the agent in RUNNING until released, so the cancel surely lands mid-run.
      const run = await startRun(stack.url, {
        compiledPrompt: 'Long job [sim:hang] #c1',
        repository: 'acme/widgets',
      });
      await waitForStatus(stack.url, run.id, ['RUNNING']);
      const res = await cancel(stack, run.id);
      expect(res.errors).toBeUndefined();
      const cancelled = res.data!.cancelRun.run;
      expect(cancelled.status).toBe('CANCELLED');
      expect(cancelled.finishedAt).toBeTruthy();
      expect(cancelled.percent).toBeLessThan(100);

      const upstream = await waitForUpstreamStop(stack.sim, '#c1');
      expect(upstream.stopped).toBe(true);
      expect(upstream.prUrl).toBeNull();
      const eventsWhenStopped = upstream.eventCount;

      // Cancelling again is harmless and returns the same final run.
      const again = await cancel(stack, run.id);
      expect(again.errors).toBeUndefined();
      expect(again.data!.cancelRun.run).toMatchObject({
        id: run.id,
        status: 'CANCELLED',
        finishedAt: cancelled.finishedAt,
      });

      // Releasing the hold does nothing to a stopped conversation; the run's timeline ends with the cancel.
      stack.sim.complete('#c1');
      const after = await getRun(stack.url, run.id);
      expect(after.status).toBe('CANCELLED');
      expect(after.pullRequest).toBeNull();
      expectSaneTimeline(after);
      const events = eventsOf(after);
      expect(events.filter((e) => e.status === 'CANCELLED')).toHaveLength(1);
      expect(events.at(-1)!.message).toMatch(/cancel/i);
      expect(stack.sim.conversations().find((c) => c.prompt.includes('#c1'))!.eventCount).toBe(
        eventsWhenStopped,
      );
    });

    test('cancels a run that is still starting, and stops its conversation', async ({ stack }) => {
      // [sim:stuck] keeps the start from finishing (V1: task waits for its sandbox; V0: STARTING).
      const run = await startRun(stack.url, {
        compiledPrompt: 'Slow start [sim:stuck] #c2',
        repository: 'acme/widgets',
      });
      await waitForStatus(stack.url, run.id, ['STARTING']);
      const res = await cancel(stack, run.id);
      expect(res.data!.cancelRun.run.status).toBe('CANCELLED');
      await waitForUpstreamStop(stack.sim, '#c2');
      stack.sim.complete('#c2');
      const after = await getRun(stack.url, run.id);
      expect(after.status).toBe('CANCELLED');
      expect(stack.sim.conversations().find((c) => c.prompt.includes('#c2'))!.stopped).toBe(true);
    });

    test('cancels a queued run before it reaches OpenHands', async ({ stack }) => {
      // With the poller paused nothing is started; the cancel must win for good.
      await stack.service.app.poller.stop();
      try {
        const run = await startRun(stack.url, { compiledPrompt: 'Never started #c3' });
        expect(run.status).toBe('QUEUED');
        const res = await cancel(stack, run.id);
        expect(res.data!.cancelRun.run.status).toBe('CANCELLED');
        stack.service.app.poller.start();
        // Another run queued after it is started and finishes; the cancelled one never reached upstream.
        const next = await startRun(stack.url, { compiledPrompt: 'After the cancel #c4' });
        expect((await finalRun(stack.url, next.id)).status).toBe('COMPLETED');
        expect(stack.sim.conversations().some((c) => c.prompt.includes('#c3'))).toBe(false);
        expect((await getRun(stack.url, run.id)).status).toBe('CANCELLED');
      } finally {
        stack.service.app.poller.start();
      }
    });

    test('cancels a run whose start request is in flight: the conversation it makes is stopped', async ({
      stack,
    }) => {
      stack.sim.hold(true);
      try {
        const run = await startRun(stack.url, {
          compiledPrompt: 'Racing the start [sim:hang] #c7',
          repository: 'acme/widgets',
        });
        await waitFor('the start request in flight', async () =>
          stack.sim.requests.some((r) => r.method === 'POST' && r.status === 0),
        );
        const res = await cancel(stack, run.id);
        expect(res.data!.cancelRun.run.status).toBe('CANCELLED');
      } finally {
        stack.sim.hold(false);
      }
      const upstream = await waitForUpstreamStop(stack.sim, '#c7');
      expect(upstream.prUrl).toBeNull();
    });

    test('refuses to cancel a run that already ended, with CONFLICT', async ({ stack }) => {
      const run = await startRun(stack.url, { compiledPrompt: 'Quick #c5', repository: 'acme/widgets' });
      const done = await finalRun(stack.url, run.id);
      expect(done.status).toBe('COMPLETED');
      const res = await cancel(stack, run.id);
      expect(res.data?.cancelRun ?? null).toBeNull();
      expect(res.errors?.[0]?.extensions?.code).toBe('CONFLICT');
      expect(res.errors?.[0]?.message).toMatch(/COMPLETED/);
      const after = await getRun(stack.url, run.id);
      expect(after).toMatchObject({ status: 'COMPLETED', percent: 100, error: null });
    });

    test('concurrent cancels of one run all succeed and record one CANCELLED event', async ({ stack }) => {
      const run = await startRun(stack.url, {
        compiledPrompt: 'Cancel storm [sim:hang] #c6',
        repository: 'acme/widgets',
      });
      await waitForStatus(stack.url, run.id, ['STARTING', 'RUNNING']);
      const results = await Promise.all(Array.from({ length: 5 }, () => cancel(stack, run.id)));
      for (const res of results) {
        expect(res.errors).toBeUndefined();
        expect(res.data!.cancelRun.run.status).toBe('CANCELLED');
      }
      await waitForUpstreamStop(stack.sim, '#c6');
      const after = await waitFor('the cancel to settle', async () => {
        const r = await getRun(stack.url, run.id);
        return r.status === 'CANCELLED' ? r : undefined;
      });
      expect(eventsOf(after).filter((e) => e.status === 'CANCELLED')).toHaveLength(1);
    });
  });
}
