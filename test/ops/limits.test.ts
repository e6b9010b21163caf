import { getIntrospectionQuery } from 'graphql';
import { describe, expect } from 'vitest';
import WebSocket from 'ws';
import { loadOpsConfig } from '../../src/config/ops.js';
import { test as fixtures } from '../support/fixtures.js';
import { gql, START_RUN, waitFor } from '../support/graphql.js';
import { collectSse, collectWs, wsClient } from '../support/live.js';
import { type RunningService, TEST_TOKEN } from '../support/service.js';

const RUNS_CHANGED = 'subscription { runsChanged { seq run { id } } }';

/** POST /graphql with any body and headers (no defaults but the token). */
/** A JSON POST sent chunked (no Content-Length), `size` bytes per chunk. */
function chunkedPost(text: string, size: number): RequestInit & { headers: Record<string, string> } {
  const bytes = new TextEncoder().encode(text);
  const body = new ReadableStream({
    start(controller) {
      for (let i = 0; i < bytes.length; i += size) controller.enqueue(bytes.slice(i, i + size));
      controller.close();
    },
  });
  return {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    duplex: 'half',
  } as RequestInit & { headers: Record<string, string> };
}

async function raw(
  url: string,
  init: RequestInit & { headers?: Record<string, string> },
  token: string | null = TEST_TOKEN,
) {
  const response = await fetch(url, {
    ...init,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...init.headers },
  });
  const text = await response.text();
  let body: any = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: left as text for the assertion message
  }
  return { status: response.status, body, headers: response.headers };
}

function code(res: { errors?: Array<{ extensions?: Record<string, unknown> }> }): unknown {
  return res.errors?.[0]?.extensions?.code;
}

// One database and simulator; the abuse-limit service, and two plain ones for introspection.
const test = fixtures
  .extend('open', { scope: 'file' }, ({ launch }) => launch({ POLLER_ENABLED: 'false' }))
  .extend('closed', { scope: 'file' }, ({ launch }) =>
    launch({ POLLER_ENABLED: 'false', GRAPHQL_INTROSPECTION: 'false' }),
  );
test.override({
  serviceEnv: {
    POLLER_ENABLED: 'false',
    API_TOKENS: `${TEST_TOKEN},rate-a,rate-b,sub-token,conn-token`,
    GRAPHQL_MAX_DEPTH: '6',
    GRAPHQL_MAX_COST: '600',
    GRAPHQL_MAX_DOCUMENT_BYTES: '4000',
    GRAPHQL_MAX_TOKENS: '300',
    GRAPHQL_MAX_BODY_BYTES: '16384',
    RATE_LIMIT_MUTATIONS_PER_MINUTE: '6',
    RATE_LIMIT_MUTATIONS_BURST: '3',
    MAX_SUBSCRIPTIONS_PER_TOKEN: '2',
    MAX_CONNECTIONS_PER_TOKEN: '2',
  },
});

describe('abuse limits', () => {
  describe('query depth (GRAPHQL_MAX_DEPTH)', () => {
    const deep =
      '{ runs(first: 1) { edges { node { events(first: 1) { edges { node { run { id } } } } } } } }';

    test('refuses a deeper operation with QUERY_TOO_DEEP before running it', async ({ service }) => {
      const res = await gql(service.graphqlUrl, deep);
      expect(code(res)).toBe('QUERY_TOO_DEEP');
      expect(res.errors![0].extensions).toMatchObject({ depth: 8, maxDepth: 6 });
      expect(res.data ?? null).toBeNull();
      expect(res.status).toBe(400);
    });

    test('counts depth through fragments, and allows what fits', async ({ service }) => {
      const viaFragment = `fragment F on Run { events(first: 1) { edges { node { run { id } } } } }
        { runs(first: 1) { edges { node { ...F } } } }`;
      expect(code(await gql(service.graphqlUrl, viaFragment))).toBe('QUERY_TOO_DEEP');
      const fits = await gql(
        service.graphqlUrl,
        '{ runs(first: 1) { edges { node { events(first: 1) { totalCount } } } } }',
      );
      expect(fits.errors).toBeUndefined();
    });

    test('applies to graphql-ws subscriptions too', async ({ service }) => {
      const client = wsClient(service.url);
      try {
        const sub = collectWs(
          client,
          'subscription($id: ID!) { runProgress(runId: $id) { run { events(first: 1) { edges { node { run { id } } } } } } }',
          { id: 'run_x' },
        );
        await sub.done.catch(() => {});
        expect(JSON.stringify(sub.errors)).toContain('QUERY_TOO_DEEP');
      } finally {
        await client.dispose();
      }
    });
  });

  describe('query cost (GRAPHQL_MAX_COST)', () => {
    const nested =
      'query($n: Int, $m: Int) { runs(first: $n) { edges { node { events(first: $m) { totalCount } } } } }';

    test('refuses nested big pages with QUERY_TOO_COMPLEX, counting the variables actually sent', async ({
      service,
    }) => {
      const literal = await gql(
        service.graphqlUrl,
        '{ runs(first: 100) { edges { node { events(first: 100) { totalCount } } } } }',
      );
      expect(code(literal)).toBe('QUERY_TOO_COMPLEX');
      expect(literal.errors![0].extensions).toMatchObject({ maxCost: 600 });
      expect(literal.errors![0].extensions!.cost as number).toBeGreaterThan(600);
      // The same document is fine with small pages and refused with big ones (no stale cache).
      expect((await gql(service.graphqlUrl, nested, { n: 2, m: 2 })).errors).toBeUndefined();
      expect(code(await gql(service.graphqlUrl, nested, { n: 100, m: 100 }))).toBe('QUERY_TOO_COMPLEX');
      expect((await gql(service.graphqlUrl, nested, { n: 3, m: 3 })).errors).toBeUndefined();
    });
  });

  describe('document size (GRAPHQL_MAX_DOCUMENT_BYTES, GRAPHQL_MAX_TOKENS)', () => {
    test('refuses a document over the byte limit with DOCUMENT_TOO_LARGE', async ({ service }) => {
      const res = await gql(service.graphqlUrl, `{ __typename }\n# ${'x'.repeat(5000)}`);
      expect(code(res)).toBe('DOCUMENT_TOO_LARGE');
      expect(res.errors![0].extensions).toMatchObject({ maxBytes: 4000 });
    });

    test('refuses a document with too many tokens with DOCUMENT_TOO_LARGE', async ({ service }) => {
      const aliases = Array.from({ length: 150 }, (_, i) => `a${i}: __typename`).join(' ');
      expect(Buffer.byteLength(aliases)).toBeLessThan(4000);
      const res = await gql(service.graphqlUrl, `{ ${aliases} }`);
      expect(code(res)).toBe('DOCUMENT_TOO_LARGE');
      expect(res.errors![0].extensions).toMatchObject({ maxTokens: 300 });
    });

    test('refuses it over graphql-ws as an error for that operation, keeping the socket', async ({
      service,
    }) => {
      const closes: number[] = [];
      const client = wsClient(service.url, TEST_TOKEN, {
        on: { closed: (e) => closes.push((e as { code: number }).code) },
      });
      try {
        const big = collectWs(client, `subscription { runsChanged { seq } }\n# ${'x'.repeat(5000)}`, {});
        await big.done.catch(() => {});
        expect(JSON.stringify(big.errors)).toContain('DOCUMENT_TOO_LARGE');
        const syntax = collectWs(client, 'subscription { runsChanged { ', {});
        await syntax.done.catch(() => {});
        expect(JSON.stringify(syntax.errors)).toContain('Syntax Error');
        // Neither closed the socket with an error (a lazy client closes it with 1000 when idle).
        expect(closes.filter((c) => c !== 1000)).toEqual([]);
      } finally {
        await client.dispose();
      }
    });
  });

  describe('request body (GRAPHQL_MAX_BODY_BYTES)', () => {
    const bigBody = JSON.stringify({
      query: START_RUN,
      variables: { input: { projectId: 'big', compiledPrompt: 'x'.repeat(20_000) } },
    });

    test('answers 413 REQUEST_ENTITY_TOO_LARGE with a Content-Length over the limit', async ({ service }) => {
      const res = await raw(service.graphqlUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: bigBody,
      });
      expect(res.status).toBe(413);
      expect(code(res.body)).toBe('REQUEST_ENTITY_TOO_LARGE');
    });

    test('answers 413 for a chunked body that grows past the limit', async ({ service }) => {
      const res = await raw(service.graphqlUrl, chunkedPost(bigBody, 4096));
      expect(res.status).toBe(413);
      expect(code(res.body)).toBe('REQUEST_ENTITY_TOO_LARGE');
      const rows = await service.app.database.prisma.run.count({ where: { projectId: 'big' } });
      expect(rows).toBe(0);
    });

    test('takes a chunked body under the limit (counted as it streams, no Content-Length)', async ({
      service,
    }) => {
      const body = JSON.stringify({
        query: START_RUN,
        variables: { input: { projectId: 'chunked-small', compiledPrompt: 'fix the test' } },
      });
      const res = await raw(service.graphqlUrl, chunkedPost(body, 16));
      expect(res.status).toBe(200);
      expect(res.body.data.startRun.run.status).toBe('QUEUED');
    });

    test('refuses a body bigger than any route takes on every route, before routing (413)', async ({
      service,
    }) => {
      for (const path of ['/health', '/metrics', '/nowhere']) {
        const res = await raw(`${service.url}${path}`, { method: 'POST', body: 'x'.repeat(1024 * 1024 + 1) });
        expect(res.status, path).toBe(413);
        expect(res.body.error.code, path).toBe('PAYLOAD_TOO_LARGE');
      }
    });

    test('closes a WebSocket that sends a bigger message (1009)', async ({ service }) => {
      const socket = new WebSocket(`${service.url.replace('http', 'ws')}/graphql`, 'graphql-transport-ws');
      await new Promise((resolve, reject) => {
        socket.once('open', resolve);
        socket.once('error', reject);
      });
      const closed = new Promise<number>((resolve) =>
        socket.once('close', (closeCode) => resolve(closeCode)),
      );
      socket.send(JSON.stringify({ type: 'connection_init', payload: { padding: 'x'.repeat(20_000) } }));
      expect(await closed).toBe(1009);
    });
  });

  test('page size (MAX_PAGE_SIZE): refuses first > max with BAD_USER_INPUT on first', async ({ service }) => {
    const res = await gql(service.graphqlUrl, '{ runs(first: 101) { totalCount } }');
    expect(code(res)).toBe('BAD_USER_INPUT');
    expect(res.errors![0].extensions!.field).toBe('first');
  });

  describe('mutation rate per token (RATE_LIMIT_MUTATIONS_PER_MINUTE / _BURST)', () => {
    const start = (service: RunningService, token: string, n: number) =>
      gql(
        service.graphqlUrl,
        START_RUN,
        { input: { projectId: 'rate', compiledPrompt: `rate ${n}` } },
        token,
      );

    test('allows a burst, then answers RATE_LIMITED with a retry time, over GraphQL and REST alike', async ({
      service,
    }) => {
      for (let i = 0; i < 3; i++) expect((await start(service, 'rate-a', i)).errors).toBeUndefined();
      const limited = await start(service, 'rate-a', 3);
      expect(code(limited)).toBe('RATE_LIMITED');
      expect(limited.errors![0].extensions).toMatchObject({ limit: 'mutations' });
      const retryAfter = limited.errors![0].extensions!.retryAfterSeconds as number;
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(10);

      // The same bucket serves REST: 429 with Retry-After.
      const rest = await raw(
        `${service.url}/runs`,
        {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ project_id: 'rate', compiled_prompt: 'rest' }),
        },
        'rate-a',
      );
      expect(rest.status).toBe(429);
      expect(rest.body.error.code).toBe('RATE_LIMITED');
      expect(Number(rest.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);

      // cancelRun is a mutation too.
      const cancel = await gql(
        service.graphqlUrl,
        'mutation { cancelRun(id: "run_x") { run { id } } }',
        {},
        'rate-a',
      );
      expect(code(cancel)).toBe('RATE_LIMITED');
      // So is sendRunMessage, over GraphQL and REST, before the run is even looked up.
      const message = await gql(
        service.graphqlUrl,
        'mutation { sendRunMessage(input: { runId: "run_x", text: "hi" }) { event { seq } } }',
        {},
        'rate-a',
      );
      expect(code(message)).toBe('RATE_LIMITED');
      const restMessage = await raw(
        `${service.url}/runs/run_x/messages`,
        {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ text: 'hi' }),
        },
        'rate-a',
      );
      expect(restMessage.status).toBe(429);

      // Another token has its own bucket; queries are not limited.
      expect((await start(service, 'rate-b', 0)).errors).toBeUndefined();
      expect(
        (await gql(service.graphqlUrl, '{ runs(first: 1) { totalCount } }', {}, 'rate-a')).errors,
      ).toBeUndefined();
      const stored = await service.app.database.prisma.run.count({ where: { projectId: 'rate' } });
      expect(stored).toBe(4);
    });
  });

  describe('open subscriptions per token (MAX_SUBSCRIPTIONS_PER_TOKEN)', () => {
    test('refuses one more with RATE_LIMITED (limit: subscriptions) and allows it again after one closes', async ({
      service,
    }) => {
      const client = wsClient(service.url, 'sub-token');
      try {
        const first = collectWs(client, RUNS_CHANGED, {});
        const second = collectWs(client, RUNS_CHANGED, {});
        await waitFor('two open subscriptions', async () => service.app.live.open >= 2);
        const third = collectWs(client, RUNS_CHANGED, {});
        await third.done.catch(() => {});
        expect(JSON.stringify(third.errors)).toContain('RATE_LIMITED');
        expect(JSON.stringify(third.errors)).toContain('subscriptions');
        // SSE counts against the same token.
        const sse = await raw(
          service.graphqlUrl,
          {
            method: 'POST',
            headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
            body: JSON.stringify({ query: RUNS_CHANGED }),
          },
          'sub-token',
        );
        expect(sse.status).toBe(429);
        expect(JSON.stringify(sse.body)).toContain('RATE_LIMITED');
        // Another token is unaffected.
        const other = collectSse(service.url, RUNS_CHANGED, {}, TEST_TOKEN);
        await waitFor('the other token to subscribe', async () => service.app.live.open >= 3);
        other.client.dispose();

        first.stop();
        await waitFor('the closed one to be gone', async () => service.app.live.open <= 2, 5000);
        const again = collectWs(client, RUNS_CHANGED, {});
        await new Promise((resolve) => setTimeout(resolve, 300));
        expect(again.errors).toEqual([]);
        again.stop();
        second.stop();
      } finally {
        await client.dispose();
      }
    });
  });

  describe('open WebSockets per token (MAX_CONNECTIONS_PER_TOKEN)', () => {
    /** Connects (lazy clients connect on their first subscription) and reports how the socket fared. */
    function connect(service: RunningService, token: string) {
      let closedWith: { code: number; reason: string } | undefined;
      const connected = new Promise<boolean>((resolve) => {
        const client = wsClient(service.url, token, {
          on: {
            connected: () => resolve(true),
            closed: (event) => {
              closedWith = event as { code: number; reason: string };
              resolve(false);
            },
          },
        });
        collectWs(client, RUNS_CHANGED, {});
        handles.push(client);
      });
      return { connected, closed: () => closedWith };
    }
    const handles: Array<ReturnType<typeof wsClient>> = [];

    test('closes one socket too many with 1008 and the reason, and accepts it again once one is gone', async ({
      service,
    }) => {
      try {
        const a = connect(service, 'conn-token');
        const b = connect(service, 'conn-token');
        expect(await a.connected).toBe(true);
        expect(await b.connected).toBe(true);
        const c = connect(service, 'conn-token');
        expect(await c.connected).toBe(false);
        expect(c.closed()).toMatchObject({ code: 1008 });
        expect(c.closed()?.reason).toMatch(/Too many open connections for this token \(at most 2\)/);
        // Another token is unaffected.
        expect(await connect(service, 'rate-a').connected).toBe(true);
        const metrics = await (await fetch(`${service.url}/metrics`)).text();
        expect(metrics).toMatch(/openhands_runner_rate_limited_total\{limit="connections"\} 1/);

        await handles[0].dispose();
        await waitFor(
          'the closed socket to be gone',
          async () =>
            Number(
              (await (await fetch(`${service.url}/metrics`)).text()).match(
                /^openhands_runner_websocket_connections (\d+)/m,
              )?.[1],
            ) <= 2,
          5000,
        );
        expect(await connect(service, 'conn-token').connected).toBe(true);
      } finally {
        await Promise.all(handles.map((h) => h.dispose()));
      }
    });
  });

  describe('CSRF prevention (browser-style requests)', () => {
    const body = JSON.stringify({ query: '{ __typename }' });

    test('refuses a text/plain or form POST with 403 CSRF_PREVENTED', async ({ service }) => {
      for (const type of [
        'text/plain',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
      ]) {
        const res = await raw(service.graphqlUrl, {
          method: 'POST',
          headers: { 'content-type': type },
          body,
        });
        expect(res.status, type).toBe(403);
        expect(code(res.body), type).toBe('CSRF_PREVENTED');
      }
    });

    test('refuses a GET without a custom header, accepts it with one', async ({ service }) => {
      const url = `${service.graphqlUrl}?query=${encodeURIComponent('{ __typename }')}`;
      const plain = await raw(url, { method: 'GET', headers: { accept: 'application/json' } });
      expect(plain.status).toBe(403);
      expect(code(plain.body)).toBe('CSRF_PREVENTED');
      const withHeader = await raw(url, {
        method: 'GET',
        headers: { accept: 'application/json', 'x-graphql-yoga-csrf': '1' },
      });
      expect(withHeader.status).toBe(200);
      expect(withHeader.body.data).toEqual({ __typename: 'Query' });
    });
  });
});

describe('introspection (GRAPHQL_INTROSPECTION)', () => {
  test('is off by default in production and configurable', () => {
    expect(loadOpsConfig({ NODE_ENV: 'production' }).introspection).toBe(false);
    expect(loadOpsConfig({ NODE_ENV: 'production', GRAPHQL_INTROSPECTION: 'true' }).introspection).toBe(true);
    expect(loadOpsConfig({}).introspection).toBe(true);
  });

  test('when on: the full introspection query passes the default limits', async ({ open }) => {
    const res = await gql(open.graphqlUrl, getIntrospectionQuery());
    expect(res.errors).toBeUndefined();
    expect(res.data!.__schema.queryType.name).toBe('Query');
  });

  test('when off: __schema and __type are refused with INTROSPECTION_DISABLED, __typename works, no GraphiQL', async ({
    open,
    closed,
  }) => {
    const schema = await gql(closed.graphqlUrl, '{ __schema { types { name } } }');
    expect(code(schema)).toBe('INTROSPECTION_DISABLED');
    const type = await gql(closed.graphqlUrl, '{ __type(name: "Run") { name } }');
    expect(code(type)).toBe('INTROSPECTION_DISABLED');
    expect((await gql(closed.graphqlUrl, '{ __typename }')).data).toEqual({ __typename: 'Query' });
    const page = await fetch(closed.graphqlUrl, { headers: { accept: 'text/html' } });
    expect(await page.text()).not.toContain('GraphiQL');
    const openPage = await fetch(open.graphqlUrl, { headers: { accept: 'text/html' } });
    expect(await openPage.text()).toContain('graphiql');
  });
});
