import { describe, expect } from 'vitest';
import { API_VERSIONS, fixturesPerApiVersion } from '../support/fixtures.js';
import { GET_RUN, gql, START_RUN, waitForStatus } from '../support/graphql.js';

// The service detects the API version itself (OPENHANDS_API_VERSION=auto).
const tests = fixturesPerApiVersion({
  simulatorOptions: { stepMs: 40 },
  serviceEnv: { OPENHANDS_API_VERSION: 'auto' },
});

for (const apiVersion of API_VERSIONS) {
  describe(`a run through OpenHands ${apiVersion}`, () => {
    const test = tests[apiVersion];

    test('goes from QUEUED to COMPLETED with the pull request attached', async ({ service }) => {
      const started = await gql(service.graphqlUrl, START_RUN, {
        input: {
          projectId: 'p1',
          compiledPrompt: 'Fix the bug',
          repository: 'acme/widgets',
          metadata: { branch: 'main', ticket: 7 },
        },
      });
      expect(started.errors).toBeUndefined();
      const run = started.data!.startRun.run;
      expect(run.id).toMatch(/^run_/);
      expect(run.status).toBe('QUEUED');
      expect(run.percent).toBe(0);
      expect(run.branch).toBe('main');
      expect(run.gitProvider).toBe('GITHUB');

      const done = await waitForStatus(service.graphqlUrl, run.id, ['COMPLETED', 'FAILED', 'TIMED_OUT']);
      expect(done.status).toBe('COMPLETED');
      expect(done.percent).toBe(100);
      expect(done.openhands.apiVersion).toBe(apiVersion);
      expect(done.conversationId).toBeTruthy();
      expect(done.pullRequest).toMatchObject({ provider: 'GITHUB', state: 'OPEN' });
      expect(done.pullRequest.url).toMatch(/^https:\/\/github\.com\/acme\/widgets\/pull\/\d+$/);
      expect(done.finishedAt).toBeTruthy();

      const events = done.events.edges.map(
        (e: { node: { seq: number; status: string; percent: number } }) => e.node,
      );
      expect(events.map((e: { seq: number }) => e.seq)).toEqual(events.map((_: unknown, i: number) => i + 1));
      const percents = events.map((e: { percent: number }) => e.percent);
      expect([...percents].sort((a, b) => a - b)).toEqual(percents);
      const statuses = [...new Set(events.map((e: { status: string }) => e.status))];
      expect(statuses[0]).toBe('QUEUED');
      expect(statuses).toContain('STARTING');
      expect(statuses.at(-1)).toBe('COMPLETED');
      expect(
        events
          .filter((e: { percent: number }) => e.percent === 100)
          .every((e: { status: string }) => e.status === 'COMPLETED'),
      ).toBe(true);
    });

    test('reads the same run back through run(id)', async ({ service }) => {
      const res = await gql(service.graphqlUrl, GET_RUN, { id: 'run_doesnotexist' });
      expect(res.errors).toBeUndefined();
      expect(res.data!.run).toBeNull();
    });
  });
}
