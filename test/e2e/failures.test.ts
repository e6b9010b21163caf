import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  eventsOf,
  expectSaneTimeline,
  finalRun,
  getRun,
  type Stack,
  startRun,
  startStack,
  waitFor,
  waitForStatus,
  waitForUpstreamStop,
} from '../support/runs.js';

/** What each scenario must end as, per API generation. */
const EXPECTED = {
  v1: { fail: 'AGENT_ERROR', sandboxError: 'SANDBOX_START_FAILED', blipControl: 'AGENT_ERROR' },
  v0: { fail: 'AGENT_ERROR', sandboxError: 'RUNTIME_ERROR', blipControl: 'CONVERSATION_ERROR' },
} as const;

for (const apiVersion of ['v1', 'v0'] as const) {
  describe(`upstream failures and deadlines (${apiVersion})`, () => {
    /** The test helper's short error tolerance (300 ms): real failures are believed soon. */
    let tolerant: Stack;
    /** A generous tolerance, for the blip test: two false errors in a row must be waited out. */
    let patient: Stack;
    /** Short deadlines, and no error tolerance at all (the control for the blip test). */
    let strict: Stack;

    beforeAll(async () => {
      [tolerant, patient, strict] = await Promise.all([
        startStack({ apiVersion }),
        startStack({ apiVersion }, { UPSTREAM_ERROR_TOLERANCE_MS: '5000' }),
        startStack(
          { apiVersion },
          { RUN_START_TIMEOUT_MS: '2000', RUN_STALL_TIMEOUT_MS: '2000', UPSTREAM_ERROR_TOLERANCE_MS: '0' },
        ),
      ]);
    });
    afterAll(async () => {
      await Promise.all([tolerant?.stop(), patient?.stop(), strict?.stop()]);
    });

    it('[sim:fail]: the agent errors → FAILED with a specific code, conversation stopped', async () => {
      const run = await startRun(tolerant.url, {
        compiledPrompt: 'Break it [sim:fail] #f1',
        repository: 'acme/widgets',
      });
      const done = await finalRun(tolerant.url, run.id);
      expect(done.status).toBe('FAILED');
      expect(done.error.code).toBe(EXPECTED[apiVersion].fail);
      expect(done.error.message).toBeTruthy();
      expect(done.pullRequest).toBeNull();
      expect(done.percent).toBeLessThan(100);
      expect(done.finishedAt).toBeTruthy();
      expectSaneTimeline(done);
      // The conversation was up (this is not a start failure).
      expect(done.conversationId).toBeTruthy();
      await waitForUpstreamStop(tolerant.sim, '#f1');
    });

    it('[sim:sandbox-error]: the sandbox never comes up → FAILED with a start error code', async () => {
      const run = await startRun(tolerant.url, {
        compiledPrompt: 'No sandbox [sim:sandbox-error] #se1',
        repository: 'acme/widgets',
      });
      const done = await finalRun(tolerant.url, run.id);
      expect(done.status).toBe('FAILED');
      expect(done.error.code).toBe(EXPECTED[apiVersion].sandboxError);
      expect(eventsOf(done).map((e) => e.status)).not.toContain('RUNNING');
      expectSaneTimeline(done);
    });

    it('[sim:blip]: short false errors are tolerated and the run completes', async () => {
      // [sim:hang] holds the agent while the poller reads the two false errors; then it is let go.
      const run = await startRun(patient.url, {
        compiledPrompt: 'Blippy [sim:blip] [sim:hang] #b1',
        repository: 'acme/widgets',
      });
      const blipped = () => patient.sim.conversations().find((c) => c.prompt.includes('#b1'))?.blipsShown;
      await waitFor('both false errors to be read', async () => blipped() === 2);
      // Read after the blip: the run is still going.
      await waitFor(
        'a read after the blip',
        async () => (await getRun(patient.url, run.id)).status === 'RUNNING',
      );
      patient.sim.complete('#b1');
      const done = await finalRun(patient.url, run.id);
      expect(blipped()).toBe(2);
      expect(done.status).toBe('COMPLETED');
      expect(done.error).toBeNull();
      expect(done.pullRequest.url).toMatch(/\/acme\/widgets\/pull\/\d+$/);
      expectSaneTimeline(done);
    });

    it('[sim:blip] control: without tolerance the same false error fails the run', async () => {
      const run = await startRun(strict.url, {
        compiledPrompt: 'Blippy [sim:blip] [sim:hang] #b2',
        repository: 'acme/widgets',
      });
      const done = await finalRun(strict.url, run.id);
      expect(strict.sim.conversations().find((c) => c.prompt.includes('#b2'))?.blipsShown).toBe(1);
      expect(done.status).toBe('FAILED');
      expect(done.error.code).toBe(EXPECTED[apiVersion].blipControl);
    });

    it('[sim:stuck]: a start that never finishes → TIMED_OUT START_TIMEOUT, conversation stopped', async () => {
      const run = await startRun(strict.url, {
        compiledPrompt: 'Stuck [sim:stuck] #s1',
        repository: 'acme/widgets',
      });
      const done = await finalRun(strict.url, run.id);
      expect(done.status).toBe('TIMED_OUT');
      expect(done.error).toMatchObject({ code: 'START_TIMEOUT', retryable: true });
      expect(eventsOf(done).map((e) => e.status)).not.toContain('RUNNING');
      expectSaneTimeline(done);
      await waitForUpstreamStop(strict.sim, '#s1');
    });

    it('[sim:hang]: an agent that goes quiet → TIMED_OUT STALLED, conversation stopped', async () => {
      const run = await startRun(strict.url, {
        compiledPrompt: 'Hang [sim:hang] #h1',
        repository: 'acme/widgets',
      });
      const done = await finalRun(strict.url, run.id);
      expect(done.status).toBe('TIMED_OUT');
      expect(done.error).toMatchObject({ code: 'STALLED' });
      expect(eventsOf(done).map((e) => e.status)).toContain('RUNNING');
      expectSaneTimeline(done);
      await waitForUpstreamStop(strict.sim, '#h1');
      // Releasing the hold afterwards changes nothing: the conversation is stopped and the run final.
      strict.sim.complete('#h1');
      const later = await getRun(strict.url, run.id);
      expect(later.status).toBe('TIMED_OUT');
    });

    it('[sim:ask]: a question parks the run AWAITING_INPUT, without a stall timeout, until answered', async () => {
      const run = await startRun(strict.url, {
        compiledPrompt: 'Ask me [sim:ask] #a1',
        repository: 'acme/widgets',
      });
      const waiting = await waitForStatus(strict.url, run.id, [
        'AWAITING_INPUT',
        'COMPLETED',
        'FAILED',
        'TIMED_OUT',
      ]);
      expect(waiting.status).toBe('AWAITING_INPUT');
      // Longer than the stall timeout, checked on every read rather than after a sleep.
      const deadline = Date.now() + 2500;
      let polled = waiting;
      while (Date.now() < deadline) {
        polled = await getRun(strict.url, run.id);
        expect(polled.status).toBe('AWAITING_INPUT');
        await new Promise((r) => setTimeout(r, 100));
      }
      strict.sim.complete('#a1');
      const done = await finalRun(strict.url, run.id);
      expect(done.status).toBe('COMPLETED');
      expectSaneTimeline(done);
    });

    it('[sim:no-pr]: finishing without a pull request still completes, with no pullRequest', async () => {
      const run = await startRun(tolerant.url, {
        compiledPrompt: 'Just look [sim:no-pr] #n1',
        repository: 'acme/widgets',
      });
      const done = await finalRun(tolerant.url, run.id);
      expect(done.status).toBe('COMPLETED');
      expect(done.percent).toBe(100);
      expect(done.pullRequest).toBeNull();
      expectSaneTimeline(done);
    });
  });
}

describe('a V1 sandbox paused by OpenHands (its sandbox cap)', () => {
  let stack: Stack;
  beforeAll(async () => {
    // The server pauses the oldest running sandbox when a second one starts.
    stack = await startStack({ apiVersion: 'v1', maxConversations: 1 }, { RUN_STALL_TIMEOUT_MS: '4000' });
  });
  afterAll(async () => stack?.stop());

  it('is not left waiting for input forever: it times out as STALLED', async () => {
    const first = await startRun(stack.url, {
      compiledPrompt: 'Paused later [sim:hang] #z1',
      repository: 'acme/widgets',
    });
    await waitForStatus(stack.url, first.id, ['RUNNING']);
    const second = await startRun(stack.url, {
      compiledPrompt: 'Evicts the first #z2',
      repository: 'acme/widgets',
    });
    expect((await finalRun(stack.url, second.id)).status).toBe('COMPLETED');
    expect(stack.sim.conversations().find((c) => c.prompt.includes('#z1'))!.stopped).toBe(true);
    const done = await finalRun(stack.url, first.id);
    expect(done.status).toBe('TIMED_OUT');
    expect(done.error.code).toBe('STALLED');
    expect(eventsOf(done).map((e) => e.status)).toContain('AWAITING_INPUT');
  });
});

describe('maximum run duration', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack(
      { apiVersion: 'v1' },
      { RUN_MAX_DURATION_MS: '1000', RUN_STALL_TIMEOUT_MS: '60000' },
    );
  });
  afterAll(async () => stack?.stop());

  it('a run that keeps working past RUN_MAX_DURATION_MS → TIMED_OUT MAX_DURATION_EXCEEDED', async () => {
    // [sim:hang]: the agent never finishes, and the stall timeout is far away.
    const run = await startRun(stack.url, {
      compiledPrompt: 'Long [sim:hang] #m1',
      repository: 'acme/widgets',
    });
    const done = await finalRun(stack.url, run.id);
    expect(done.status).toBe('TIMED_OUT');
    expect(done.error.code).toBe('MAX_DURATION_EXCEEDED');
    await waitForUpstreamStop(stack.sim, '#m1');
  });
});
