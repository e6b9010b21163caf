import { afterEach, describe, expect, it } from 'vitest';
import {
  clientPrompt,
  eventsOf,
  expectSaneTimeline,
  finalRun,
  getRun,
  peakRequestsPerSecond,
  recordBudgetGrants,
  type Stack,
  startRun,
  startStack,
  waitFor,
} from '../support/runs.js';

/** Each test gets its own stack: request logs and rate limits must not mix. */
let stack: Stack | undefined;
afterEach(async () => {
  await stack?.stop();
  stack = undefined;
});

async function runAll(s: Stack, prompts: string[]) {
  const runs = await Promise.all(
    prompts.map((p) => startRun(s.url, { compiledPrompt: p, repository: 'acme/widgets' })),
  );
  return Promise.all(runs.map((r) => finalRun(s.url, r.id, 60_000)));
}

function expectAllCompleted(done: Array<Record<string, any>>) {
  for (const run of done) {
    expect(run.status, `${run.compiledPrompt}: ${JSON.stringify(run.error)}`).toBe('COMPLETED');
    expect(run.pullRequest?.url).toMatch(/\/acme\/widgets\/pull\/\d+$/);
    expectSaneTimeline(run);
  }
}

/** Every prompt reached OpenHands exactly once: retries never started a second conversation. */
function expectOneConversationEach(s: Stack, prompts: string[]) {
  for (const prompt of prompts) {
    expect(
      s.sim.conversations().filter((c) => clientPrompt(c) === prompt),
      prompt,
    ).toHaveLength(1);
  }
}

for (const apiVersion of ['v1', 'v0'] as const) {
  describe(`upstream fault storms end well (${apiVersion})`, () => {
    it('a storm of 5xx answers on every route: runs still complete, each started once', async () => {
      stack = await startStack({ apiVersion });
      const s = stack;
      // The first requests (the starts included) meet a wall of 502/503/500s, more than one call's retries.
      s.sim.failNext(6, 503);
      s.sim.failNext(4, 500);
      s.sim.failNext(4, 502);
      const prompts = ['storm one #s1', 'storm two #s2', 'storm three #s3'];
      const done = await runAll(s, prompts);
      expectAllCompleted(done);
      expectOneConversationEach(s, prompts);
      expect(s.sim.requests.filter((r) => r.status >= 500).length).toBe(14);
      // At least one call met more faults than its retries, and its run recorded that in its timeline.
      const faulted = (r: Record<string, any>) =>
        eventsOf(r).some((e) => e.type === 'UPSTREAM_FAULT' || /attempt \d+ failed/.test(e.phase));
      expect(done.some(faulted), JSON.stringify(done.map(eventsOf))).toBe(true);
    });

    it('5xx on status reads only, longer than the retries: the run rides it out', async () => {
      stack = await startStack({ apiVersion });
      const s = stack;
      // [sim:hang] holds the agent until every injected fault has been met.
      const run = await startRun(s.url, {
        compiledPrompt: 'reads fail [sim:hang] #r1',
        repository: 'acme/widgets',
      });
      await waitFor('the conversation to exist', async () =>
        s.sim.conversations().some((c) => c.prompt.includes('#r1')),
      );
      const statusPath = apiVersion === 'v1' ? '/api/v1/app-conversations' : '/api/conversations/';
      s.sim.failNext(12, 503, { pathIncludes: statusPath });
      await waitFor(
        'the faults to be met',
        async () => s.sim.requests.filter((r) => r.status === 503).length === 12,
        60_000,
      );
      expect((await getRun(s.url, run.id)).status).not.toMatch(/FAILED|TIMED_OUT/);
      s.sim.complete('#r1');
      const done = await finalRun(s.url, run.id, 60_000);
      expectAllCompleted([done]);
      expect(s.sim.requests.filter((r) => r.status === 503).length).toBe(12);
    });

    it('[sim:flaky]: every third request about the conversation answers 500', async () => {
      stack = await startStack({ apiVersion });
      const s = stack;
      // Held running until both conversations have answered several 500s.
      const prompts = ['flaky a [sim:flaky] [sim:hang] #f1', 'flaky b [sim:flaky] [sim:hang] #f2'];
      const runs = await Promise.all(
        prompts.map((p) => startRun(s.url, { compiledPrompt: p, repository: 'acme/widgets' })),
      );
      await waitFor(
        'several flaky answers',
        async () => s.sim.requests.filter((r) => r.status === 500).length >= 2,
        60_000,
      );
      for (const run of runs) expect((await getRun(s.url, run.id)).status).not.toMatch(/FAILED|TIMED_OUT/);
      s.sim.complete('[sim:flaky]');
      const done = await Promise.all(runs.map((r) => finalRun(s.url, r.id, 60_000)));
      expectAllCompleted(done);
      expectOneConversationEach(s, prompts);
    });

    it('[sim:429]: throttled status reads, Retry-After honoured by everything', async () => {
      stack = await startStack({ apiVersion });
      const s = stack;
      const done = await runAll(s, ['throttled [sim:429] #t1']);
      expectAllCompleted(done);
      const log = s.sim.requests;
      const throttled = log.map((r, i) => ({ ...r, i })).filter((r) => r.status === 429);
      expect(throttled.length).toBe(3);
      // Retry-After: 1 — the runner sends nothing at all for a second after each 429 (one run, so
      // no other request was already on its way).
      for (const r of throttled) {
        const next = log[r.i + 1];
        expect(next, 'a request after the 429').toBeDefined();
        expect(next.at - r.at, `gap after the 429 at #${r.i}`).toBeGreaterThanOrEqual(950);
      }
    });

    it('connection failures for a while (server unreachable): runs continue once it is back', async () => {
      stack = await startStack({ apiVersion });
      const s = stack;
      const run = await startRun(s.url, {
        compiledPrompt: 'unreachable [sim:slow] #d1',
        repository: 'acme/widgets',
      });
      await waitFor('the conversation to exist', async () =>
        s.sim.conversations().some((c) => c.prompt.includes('#d1')),
      );
      s.sim.setDown(true);
      // Down until a poll has failed for good (all its retries dropped) and the run recorded it.
      await waitFor('the run to record the fault', async () =>
        eventsOf(await getRun(s.url, run.id)).some((e) => e.type === 'UPSTREAM_FAULT'),
      );
      s.sim.setDown(false);
      const done = await finalRun(s.url, run.id, 60_000);
      expectAllCompleted([done]);
      expect(eventsOf(done).some((e) => e.type === 'UPSTREAM_FAULT')).toBe(true);
      expectOneConversationEach(s, ['unreachable [sim:slow] #d1']);
    });

    it('the real per-IP rate limiter: many busy runs stay under it with the default budget', async () => {
      // rateLimit: true is the server's limiter (11-20 per second delayed, beyond 20 refused).
      stack = await startStack({ apiVersion, rateLimit: true }, { OPENHANDS_MAX_RPS: '' });
      const s = stack;
      const { budget } = s.service.app.openhands;
      const perSecond = s.service.app.config.openhands.maxRequestsPerSecond;
      expect(perSecond).toBeLessThan(10);
      // Instrument the service: when did its budget let each request go?
      const granted = recordBudgetGrants(budget);
      // Nine runs queued at once: their starts alone want more than the budget allows in a second.
      const prompts = Array.from({ length: 9 }, (_, i) => `crowd ${i} #l${i}`);
      const done = await runAll(s, prompts);
      expectAllCompleted(done);
      expectOneConversationEach(s, prompts);
      // What the server saw: never refused, never more than 20 in a second.
      expect(s.sim.requests.filter((r) => r.status === 429)).toHaveLength(0);
      expect(
        peakRequestsPerSecond(s.sim.requests),
        'requests arriving within one second',
      ).toBeLessThanOrEqual(20);
      // What the runner did: every request went through the budget, never more than it allows per second,
      // and the budget was the binding limit (the runner wanted more).
      expect(granted.length).toBe(s.sim.requests.length);
      expect(peakRequestsPerSecond(granted.map((at) => ({ at }))), 'requests let go within one second').toBe(
        perSecond,
      );
    });
  });
}
