import { afterAll, describe, expect } from 'vitest';
import { createTestDatabase } from '../support/database.js';
import { fixturesWith, test } from '../support/fixtures.js';
import { clientPrompt, finalRun, gql, START_RUN, sql, startRun } from '../support/runs.js';
import { startService, TEST_TOKEN } from '../support/service.js';

const QUERY = '{ runs(first: 1) { totalCount } }';

async function post(url: string, headers: Record<string, string>) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...headers },
    body: JSON.stringify({ query: QUERY }),
  });
  return {
    status: response.status,
    body: (await response.json()) as {
      data?: unknown;
      errors?: Array<{ extensions?: Record<string, unknown> }>;
    },
  };
}

/** A simulator that wants a session key, for the OpenHands token tests. */
const keyed = fixturesWith({ simulatorOptions: { sessionApiKey: 'sim-secret' } });

describe('client access to GraphQL', () => {
  describe('with API_TOKENS configured', () => {
    let url: string;
    let stop: () => Promise<void>;
    test.beforeAll(async ({ db, sim }) => {
      const service = await startService(db.url, sim.url, {
        POLLER_ENABLED: 'false',
        API_TOKENS: `other-token,${TEST_TOKEN}`,
      });
      url = service.graphqlUrl;
      stop = service.stop;
    });
    afterAll(async () => stop?.());

    const refused: Array<[string, Record<string, string>]> = [
      ['no Authorization header', {}],
      ['an empty header', { authorization: '' }],
      ['a wrong token', { authorization: 'Bearer not-the-token' }],
      ['a token that is a prefix of a valid one', { authorization: `Bearer ${TEST_TOKEN.slice(0, -1)}` }],
      ['another scheme', { authorization: `Basic ${Buffer.from(`x:${TEST_TOKEN}`).toString('base64')}` }],
      ['"Bearer" alone', { authorization: 'Bearer' }],
    ];
    for (const [name, headers] of refused) {
      test(`refuses ${name} with HTTP 401 UNAUTHENTICATED and no data`, async () => {
        const res = await post(url, headers);
        expect(res.status).toBe(401);
        expect(res.body.data ?? null).toBeNull();
        expect(res.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      });
    }

    test('refuses a mutation without a token and stores nothing', async ({ db }) => {
      const res = await gql(url, START_RUN, { input: { projectId: 'auth', compiledPrompt: 'x' } }, null);
      expect(res.status).toBe(401);
      expect(res.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      const rows = await sql<{ n: number }>(
        db.url,
        `SELECT count(*)::int AS n FROM "Run" WHERE "projectId" = 'auth'`,
      );
      expect(rows[0].n).toBe(0);
    });

    test('accepts every configured token', async () => {
      for (const token of [TEST_TOKEN, 'other-token']) {
        const res = await post(url, { authorization: `Bearer ${token}` });
        expect(res.status).toBe(200);
        expect(res.body.errors).toBeUndefined();
        expect(res.body.data).toEqual({ runs: { totalCount: expect.any(Number) } });
      }
    });
  });

  test('creates, stores only the hash of, and keeps a bootstrap token when none is configured', async ({
    sim,
  }) => {
    const bootDb = await createTestDatabase();
    try {
      const first = await startService(bootDb.url, sim.url, { POLLER_ENABLED: 'false', API_TOKENS: '' });
      const token = first.app.bootstrapToken;
      try {
        expect(token).toMatch(/^\S{20,}$/);
        expect((await post(first.graphqlUrl, {})).status).toBe(401);
        expect((await post(first.graphqlUrl, { authorization: `Bearer ${TEST_TOKEN}` })).status).toBe(401);
        expect((await post(first.graphqlUrl, { authorization: `Bearer ${token}` })).status).toBe(200);
        const stored = await sql<Record<string, unknown>>(bootDb.url, 'SELECT * FROM "ApiToken"');
        expect(stored).toHaveLength(1);
        expect(JSON.stringify(stored)).not.toContain(token!);
      } finally {
        await first.stop();
      }
      const second = await startService(bootDb.url, sim.url, { POLLER_ENABLED: 'false', API_TOKENS: '' });
      try {
        expect(second.app.bootstrapToken).toBeNull();
        expect((await post(second.graphqlUrl, { authorization: `Bearer ${token}` })).status).toBe(200);
      } finally {
        await second.stop();
      }
    } finally {
      await bootDb.drop();
    }
  });

  test('allows anonymous access only with AUTH_DISABLED=true', async ({ db, sim }) => {
    const service = await startService(db.url, sim.url, { POLLER_ENABLED: 'false', AUTH_DISABLED: 'true' });
    try {
      const res = await post(service.graphqlUrl, {});
      expect(res.status).toBe(200);
      expect(res.body.errors).toBeUndefined();
    } finally {
      await service.stop();
    }
  });
});

describe('the token towards OpenHands (SESSION_API_KEY)', () => {
  const test = keyed;

  test('completes runs when OPENHANDS_TOKEN matches', async ({ db, sim }) => {
    const service = await startService(db.url, sim.url, {
      OPENHANDS_TOKEN: 'sim-secret',
      OPENHANDS_API_VERSION: 'auto',
    });
    try {
      const run = await startRun(service.graphqlUrl, {
        compiledPrompt: 'keyed run',
        repository: 'acme/widgets',
      });
      const done = await finalRun(service.graphqlUrl, run.id);
      expect(done.status).toBe('COMPLETED');
      expect(done.openhands.apiVersion).toBe('v1');
    } finally {
      await service.stop();
    }
  });

  for (const apiVersion of ['auto', 'v1']) {
    test(`fails runs for good with OPENHANDS_UNAUTHORIZED when the token is wrong (${apiVersion})`, async ({
      db,
      sim,
    }) => {
      const service = await startService(db.url, sim.url, {
        OPENHANDS_TOKEN: 'wrong',
        OPENHANDS_API_VERSION: apiVersion,
      });
      try {
        const run = await startRun(service.graphqlUrl, { compiledPrompt: `refused run ${apiVersion}` });
        const done = await finalRun(service.graphqlUrl, run.id);
        expect(done.status).toBe('FAILED');
        expect(done.error).toMatchObject({ code: 'OPENHANDS_UNAUTHORIZED', retryable: false });
        expect(done.percent).toBeLessThan(100);
        expect(sim.conversations().some((c) => clientPrompt(c) === `refused run ${apiVersion}`)).toBe(false);
      } finally {
        await service.stop();
      }
    });
  }
});
