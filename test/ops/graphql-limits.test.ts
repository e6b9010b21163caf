/**
 * GraphQL hardening: answer size (weighted cost, aliases, GRAPHQL_MAX_RESPONSE_BYTES), query rate,
 * variable defaults in the cost, status codes of refusals, authentication before validation,
 * introspection size, and RunEvent.run loaded in one query per page.
 */
import { pino } from 'pino';
import { afterAll, describe, expect } from 'vitest';
import { TokenStore } from '../../src/auth/token-store.js';
import { TokenVerifier } from '../../src/auth/tokens.js';
import { createGraphQL } from '../../src/graphql/yoga.js';
import type { Db } from '../../src/storage/database.js';
import { type ChildService, spawnService } from '../support/child-service.js';
import type { TestDatabase } from '../support/database.js';
import { test as fixtures, fixturesWith } from '../support/fixtures.js';
import { gql, START_RUN, waitFor, waitForStatus } from '../support/graphql.js';
import { collectWs, wsClient } from '../support/live.js';
import { FINAL } from '../support/runs.js';
import { TEST_TOKEN } from '../support/service.js';

function code(res: { errors?: Array<{ extensions?: Record<string, unknown> }> }): unknown {
  return res.errors?.[0]?.extensions?.code;
}

/** POST with a chosen Accept header (gql() always asks for application/graphql-response+json). */
async function post(url: string, query: string, accept: string, token: string | null = TEST_TOKEN) {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept,
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ query }),
  });
  return { status: response.status, body: (await response.json()) as any };
}

const aliased = (n: number, field: string) =>
  `{ ${Array.from({ length: n }, (_, i) => `a${i}: ${field}`).join(' ')} }`;

const test = fixtures.extend('closed', { scope: 'file' }, ({ launch }) =>
  launch({ POLLER_ENABLED: 'false', GRAPHQL_INTROSPECTION: 'false' }),
);
test.override({
  serviceEnv: {
    API_TOKENS: `${TEST_TOKEN},q-rate`,
    GRAPHQL_MAX_COST: '5000',
    GRAPHQL_MAX_DEPTH: '6',
    GRAPHQL_MAX_ALIASES: '30',
    // One refill a second: a loaded machine sending the burst slowly still runs out.
    RATE_LIMIT_QUERIES_PER_MINUTE: '60',
    RATE_LIMIT_QUERIES_BURST: '200',
  },
});
/** A database of its own: the memory tests count every run in it. */
const memoryTest = fixturesWith();

describe('GraphQL limits', () => {
  let url: string;
  let runId: string;

  test.beforeAll(async ({ stack }) => {
    url = stack.url;
    const started = await gql(url, START_RUN, {
      input: { projectId: 'limits', compiledPrompt: 'p', repository: 'acme/app' },
    });
    runId = started.data!.startRun.run.id;
    await waitForStatus(url, runId, FINAL);
  });

  describe('cost weighs large fields (GRAPHQL_MAX_COST)', () => {
    test('counts compiledPrompt by its size limit, so pages of prompts are refused', async () => {
      const prompts = await gql(url, '{ runs(first: 100) { edges { node { compiledPrompt } } } }');
      expect(code(prompts)).toBe('QUERY_TOO_COMPLEX');
      expect(prompts.errors![0].extensions!.cost as number).toBeGreaterThan(19_000);
      const twice = await gql(
        url,
        '{ a: runs(first: 20) { edges { node { metadata compiledPrompt } } } b: runs(first: 20) { edges { node { compiledPrompt } } } }',
      );
      expect(code(twice)).toBe('QUERY_TOO_COMPLEX');
      // Small fields still cost one each: the same page without the prompt fits.
      expect(
        (await gql(url, '{ runs(first: 100) { edges { node { id status } } } }')).errors,
      ).toBeUndefined();
      expect(
        (await gql(url, '{ runs(first: 20) { edges { node { compiledPrompt } } } }')).errors,
      ).toBeUndefined();
    });

    test('counts event data and message by their weight too', async () => {
      const events = 'events(first: 100) { edges { node { data message } } }';
      const one = `query($id: ID!) { a: run(id: $id) { ${events} } }`;
      expect((await gql(url, one, { id: runId })).errors).toBeUndefined();
      const two = `query($id: ID!) { a: run(id: $id) { ${events} } b: run(id: $id) { ${events} } }`;
      expect(code(await gql(url, two, { id: runId }))).toBe('QUERY_TOO_COMPLEX');
    });

    test('costs a variable left out with its declared default, as execution uses it', async () => {
      const withDefaults =
        'query($n: Int = 100, $m: Int = 100) { runs(first: $n) { edges { node { events(first: $m) { totalCount } } } } }';
      expect(code(await gql(url, withDefaults))).toBe('QUERY_TOO_COMPLEX');
      expect((await gql(url, withDefaults, { n: 2, m: 2 })).errors).toBeUndefined();
      const literal = '{ runs(first: 100) { edges { node { events(first: 100) { totalCount } } } } }';
      expect(code(await gql(url, literal))).toBe('QUERY_TOO_COMPLEX');
    });

    test('costs a subscription the same way when it opens (each event carries what it selects)', async ({
      stack,
    }) => {
      const client = wsClient(stack.service.url);
      try {
        const prompts = Array.from({ length: 26 }, (_, i) => `p${i}: run { compiledPrompt }`).join(' ');
        const sub = collectWs(client, `subscription { runsChanged { ${prompts} } }`, {});
        await sub.done.catch(() => {});
        expect(JSON.stringify(sub.errors)).toContain('QUERY_TOO_COMPLEX');
      } finally {
        await client.dispose();
      }
    });
  });

  test('refuses more aliases than GRAPHQL_MAX_ALIASES with TOO_MANY_ALIASES (400)', async () => {
    expect((await gql(url, aliased(30, '__typename'))).errors).toBeUndefined();
    const res = await gql(url, aliased(31, '__typename'));
    expect(code(res)).toBe('TOO_MANY_ALIASES');
    expect(res.errors![0].extensions).toMatchObject({ aliases: 31, maxAliases: 30 });
    expect(res.status).toBe(400);
  });

  describe('introspection size', () => {
    test('allows one __schema per document (INTROSPECTION_TOO_LARGE), and the alias cap bounds __type', async () => {
      const two = await gql(url, '{ a: __schema { types { name } } b: __schema { types { name } } }');
      expect(code(two)).toBe('INTROSPECTION_TOO_LARGE');
      expect(two.status).toBe(400);
      const many = await post(url, aliased(300, '__schema { types { name } }'), 'application/json');
      expect(many.status).toBe(400);
      expect(JSON.stringify(many.body.errors)).toContain('TOO_MANY_ALIASES');
      expect(JSON.stringify(many.body).length).toBeLessThan(10_000);
      expect((await gql(url, '{ __schema { types { name } } }')).errors).toBeUndefined();
    });
  });

  describe('refusals answer 400 whatever the Accept header', () => {
    for (const accept of ['application/json', '*/*', 'application/graphql-response+json']) {
      test(`QUERY_TOO_DEEP and DOCUMENT_TOO_LARGE with Accept: ${accept}`, async () => {
        const deep = await post(
          url,
          '{ runs(first: 1) { edges { node { events(first: 1) { edges { node { run { id } } } } } } } }',
          accept,
        );
        expect(deep.body.errors[0].extensions.code).toBe('QUERY_TOO_DEEP');
        expect(deep.status).toBe(400);
        const tokens = await post(url, `{ ${Array.from({ length: 6000 }, () => 'id').join(' ')} }`, accept);
        expect(tokens.body.errors[0].extensions.code).toBe('DOCUMENT_TOO_LARGE');
        expect(tokens.status).toBe(400);
        const bytes = await post(url, `{ __typename }\n# ${'x'.repeat(300_000)}`, accept);
        expect(bytes.body.errors[0].extensions.code).toBe('DOCUMENT_TOO_LARGE');
        expect(bytes.status).toBe(400);
      });
    }
  });

  describe('authentication comes before validation', () => {
    test('answers 401 UNAUTHENTICATED to an invalid document without a token, with no schema hints', async () => {
      for (const token of [null, 'wrong-token']) {
        const res = await post(url, '{ runz { id } }', 'application/json', token);
        expect(res.status).toBe(401);
        expect(res.body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
        expect(JSON.stringify(res.body)).not.toContain('Did you mean');
        const syntax = await post(url, '{ runs { ', 'application/json', token);
        expect(syntax.status).toBe(401);
      }
    });

    test('gives no "Did you mean" suggestions when introspection is off, and still does when on', async ({
      closed,
    }) => {
      const off = await gql(closed.graphqlUrl, '{ runz { id } runs(firts: 1) { totalCount } }');
      expect(off.errors!.map((e) => e.extensions?.code)).toEqual([
        'GRAPHQL_VALIDATION_FAILED',
        'GRAPHQL_VALIDATION_FAILED',
      ]);
      expect(off.errors![0].message).toBe('Cannot query field "runz" on type "Query".');
      expect(JSON.stringify(off.errors)).not.toContain('Did you mean');
      const on = await gql(url, '{ runz { id } }');
      expect(on.errors![0].message).toContain('Did you mean');
    });
  });

  describe('query rate per token (RATE_LIMIT_QUERIES_PER_MINUTE / _BURST)', () => {
    test('allows a burst of queries, then answers RATE_LIMITED (429) with a retry time', async ({
      stack,
    }) => {
      let limited: Awaited<ReturnType<typeof post>> | undefined;
      let allowed = 0;
      for (let i = 0; i < 260 && !limited; i++) {
        const res = await post(url, '{ runs(first: 1) { totalCount } }', 'application/json', 'q-rate');
        if (res.body.errors) limited = res;
        else allowed++;
      }
      expect(allowed).toBeGreaterThanOrEqual(200);
      expect(limited?.status).toBe(429);
      expect(limited?.body.errors[0].extensions).toMatchObject({ code: 'RATE_LIMITED', limit: 'queries' });
      expect(limited?.body.errors[0].extensions.retryAfterSeconds).toBeGreaterThanOrEqual(1);
      // Another token has its own bucket; mutations have theirs.
      expect((await gql(url, '{ runs(first: 1) { totalCount } }')).errors).toBeUndefined();
      const mutation = await gql(
        url,
        START_RUN,
        { input: { projectId: 'rate', compiledPrompt: 'after queries' } },
        'q-rate',
      );
      expect(mutation.errors).toBeUndefined();
      const metrics = await (await fetch(`${stack.service.url}/metrics`)).text();
      expect(metrics).toMatch(/openhands_runner_rate_limited_total\{limit="queries"\} [1-9]/);
    });
  });

  describe('RunEvent.run', () => {
    test('loads the run of a whole page of events with one query', async ({ stack }) => {
      const app = stack.service.app;
      const prisma = app.database.prisma as Db;
      let runReads = 0;
      // The yoga the service builds, over a client that counts reads of the Run table.
      const counting = new Proxy(prisma, {
        get(target, key, receiver) {
          const value = Reflect.get(target, key, receiver);
          if (key !== 'run') return value;
          return new Proxy(value, {
            get(model, method, r) {
              const fn = Reflect.get(model, method, r);
              if (typeof fn !== 'function' || !/^find/.test(String(method))) return fn;
              return (...args: unknown[]) => {
                runReads++;
                return fn.apply(model, args);
              };
            },
          });
        },
      });
      const yoga = createGraphQL({
        prisma: counting,
        services: { runs: app.runs, live: app.live, notifications: app.notifications },
        tokens: new TokenVerifier(new TokenStore(prisma), [TEST_TOKEN], false),
        log: pino({ level: 'silent' }),
      });
      const response = await yoga.fetch('http://localhost/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${TEST_TOKEN}` },
        body: JSON.stringify({
          query:
            'query($id: ID!) { run(id: $id) { events(first: 100) { edges { node { seq run { id } } } } } }',
          variables: { id: runId },
        }),
      });
      const body = (await response.json()) as any;
      expect(body.errors).toBeUndefined();
      const edges = body.data.run.events.edges as Array<{ node: { run: { id: string } } }>;
      expect(edges.length).toBeGreaterThanOrEqual(4);
      expect(edges.every((e) => e.node.run.id === runId)).toBe(true);
      expect(runReads).toBe(1);
    });
  });
});

describe('one query cannot exhaust memory (child service, 128 MiB heap)', () => {
  const PROMPT = 'p'.repeat(200_000);
  const ATTACK = aliased(66, 'runs(first: 100) { edges { node { compiledPrompt } } }');
  const test = memoryTest;
  let child: ChildService | undefined;

  afterAll(async () => {
    await child?.kill();
  });

  const start = (db: TestDatabase, env: Record<string, string>) =>
    spawnService(db.url, 'http://127.0.0.1:9', { POLLER_ENABLED: 'false', ...env }, 'memory', [
      '--max-old-space-size=128',
    ]);

  async function seed(graphqlUrl: string) {
    for (let i = 0; i < 20; i++) {
      const res = await gql(graphqlUrl, START_RUN, {
        input: { projectId: 'memory', compiledPrompt: `${i}${PROMPT.slice(String(i).length)}` },
      });
      expect(res.errors).toBeUndefined();
    }
  }

  test('refuses 66 aliased pages of 200,000-character prompts up front and stays up', async ({ db }) => {
    child = await start(db, {});
    await seed(child.graphqlUrl);
    const res = await gql(child.graphqlUrl, ATTACK);
    expect(['TOO_MANY_ALIASES', 'QUERY_TOO_COMPLEX']).toContain(code(res));
    expect(res.status).toBe(400);
    const after = await gql(child.graphqlUrl, '{ runs(first: 1) { totalCount } }');
    expect(after.data!.runs.totalCount).toBe(20);
    await child.kill();
    child = undefined;
  });

  test('with the cost and alias limits raised, stops at GRAPHQL_MAX_RESPONSE_BYTES and stays up', async ({
    db,
  }) => {
    child = await start(db, { GRAPHQL_MAX_COST: '100000000', GRAPHQL_MAX_ALIASES: '1000' });
    const res = await gql(child.graphqlUrl, ATTACK);
    expect(code(res)).toBe('RESPONSE_TOO_LARGE');
    expect(res.errors).toHaveLength(1);
    expect(res.errors![0].extensions).toMatchObject({ maxBytes: 4 * 1024 * 1024 });
    expect(res.data ?? null).toBeNull();
    // A page that fits is answered in full.
    const fits = await gql(child.graphqlUrl, '{ runs(first: 5) { edges { node { compiledPrompt } } } }');
    expect(fits.errors).toBeUndefined();
    expect(fits.data!.runs.edges).toHaveLength(5);
    expect(child.child.exitCode).toBeNull();
  });
});

describe('subscription events under GRAPHQL_MAX_RESPONSE_BYTES', () => {
  test('an event larger than the cap arrives as RESPONSE_TOO_LARGE; a small selection of the same event is delivered', async ({
    launch,
  }) => {
    const service = await launch({ GRAPHQL_MAX_RESPONSE_BYTES: '2048', POLLER_ENABLED: 'false' });
    const client = wsClient(service.url);
    const query = (fields: string) =>
      `subscription($p: String) { runsChanged(projectId: $p) { seq run { id ${fields} } } }`;
    const large = collectWs<{ run: { id: string } }>(client, query('compiledPrompt'), { p: 'big-events' });
    const small = collectWs<{ run: { id: string } }>(client, query('status'), { p: 'big-events' });
    // Let both subscriptions open before the run is created.
    await new Promise((resolve) => setTimeout(resolve, 300));
    // The mutation's own answer selects only the id: the 5,000-character prompt is no query's answer.
    const started = await gql(
      service.graphqlUrl,
      'mutation($input: StartRunInput!) { startRun(input: $input) { run { id } } }',
      { input: { projectId: 'big-events', compiledPrompt: 'x'.repeat(5_000) } },
    );
    const run = started.data!.startRun.run as { id: string };
    await waitFor('the small selection to arrive', async () => small.items.some((i) => i.run.id === run.id));
    await waitFor('the large selection to be refused', async () => large.errors.length > 0);
    expect(large.items).toHaveLength(0);
    expect((large.errors[0] as { extensions?: { code?: string } }).extensions?.code).toBe(
      'RESPONSE_TOO_LARGE',
    );
    large.stop();
    small.stop();
    await client.dispose();
  });
});
