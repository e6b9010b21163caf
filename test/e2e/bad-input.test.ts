import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { type App, buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/service.js';
import { createLogger } from '../../src/logger.js';
import { encodeCursor } from '../../src/runs/cursor.js';
import { test } from '../support/fixtures.js';
import { gql, START_RUN } from '../support/graphql.js';
import { collectWs, RUN_PROGRESS, wsClient } from '../support/live.js';
import { TEST_TOKEN } from '../support/service.js';
import {
  GITHUB_SECRET,
  GITLAB_TOKEN,
  mergeRequestPayload,
  postGitHub,
  postGitLab,
  pullRequestPayload,
} from '../support/webhooks.js';

/**
 * Input that used to reach PostgreSQL (NUL, lone surrogates), blow the stack (deep metadata) or
 * build impossible queries (crafted cursors) answered 500 and logged at error level. Each must be
 * a specific client error, logged at warn or below.
 */
describe('bad input never answers 500 nor logs at error level', () => {
  let app: App;
  let url: string;
  let graphqlUrl: string;
  let runId: string;
  const lines: Array<Record<string, any>> = [];

  // The app is built here rather than by the service fixture: it needs a logger writing into `lines`.
  test.beforeAll(async ({ db, sim }) => {
    const config = loadConfig({
      DATABASE_URL: db.url,
      OPENHANDS_BASE_URL: sim.url,
      OPENHANDS_API_VERSION: 'v1',
      API_TOKENS: TEST_TOKEN,
      GITHUB_WEBHOOK_SECRET: GITHUB_SECRET,
      GITLAB_WEBHOOK_SECRET: GITLAB_TOKEN,
      POLLER_ENABLED: 'false',
      RATE_LIMIT_MUTATIONS_PER_MINUTE: '0',
    });
    const log = createLogger('debug', { write: (line: string) => void lines.push(JSON.parse(line)) });
    app = await buildApp(config, { log, retryBaseMs: 20 });
    url = (await app.start(0, '127.0.0.1')).url;
    graphqlUrl = `${url}/graphql`;
    const started = await gql(graphqlUrl, START_RUN, {
      input: { projectId: 'bad', compiledPrompt: 'Do it', repository: 'acme/widgets' },
    });
    runId = started.data!.startRun.run.id;
  });
  afterAll(async () => {
    await app?.stop();
  });
  afterEach(() => {
    // pino: 50 = error, 60 = fatal.
    const loud = lines.filter((line) => line.level >= 50);
    lines.length = 0;
    expect(loud, JSON.stringify(loud).slice(0, 2000)).toEqual([]);
  });

  function expectBadInput(res: Awaited<ReturnType<typeof gql>>, field: string | RegExp) {
    expect(res.errors, JSON.stringify(res)).toHaveLength(1);
    expect(res.errors![0].extensions?.code, JSON.stringify(res)).toBe('BAD_USER_INPUT');
    expect(res.errors![0].extensions?.field, JSON.stringify(res)).toMatch(field);
  }

  const RUN = 'query($id: ID!) { run(id: $id) { id } }';
  const CANCEL = 'mutation($id: ID!) { cancelRun(id: $id) { run { id } } }';
  const badIds: Array<[string, string]> = [
    ['a NUL', `${'run_'}\u0000abc`],
    ['a lone surrogate', 'run_\ud800abc'],
  ];

  for (const [what, id] of badIds) {
    it(`run(id:) with ${what} → BAD_USER_INPUT`, async () => {
      expectBadInput(await gql(graphqlUrl, RUN, { id }), /^id$/);
    });
    it(`cancelRun with ${what} → BAD_USER_INPUT`, async () => {
      expectBadInput(await gql(graphqlUrl, CANCEL, { id }), /^id$/);
    });
    it(`runProgress with ${what} in runId → BAD_USER_INPUT`, async () => {
      const client = wsClient(url);
      try {
        const sub = collectWs(client, RUN_PROGRESS, { runId: id });
        await sub.done.catch(() => {});
        expect(sub.errors, JSON.stringify(sub.errors)).toHaveLength(1);
        const error = sub.errors[0] as Array<{ extensions?: Record<string, unknown> }>;
        expect(JSON.stringify(error)).toContain('BAD_USER_INPUT');
      } finally {
        await client.dispose();
      }
    });
  }

  it('a well-formed unknown id still reads as absent, and cancelling it is NOT_FOUND', async () => {
    const unknown = 'run_0000000000zzzzzzzzzzzzzzzz';
    const read = await gql(graphqlUrl, RUN, { id: unknown });
    expect(read.errors).toBeUndefined();
    expect(read.data?.run).toBeNull();
    const cancel = await gql(graphqlUrl, CANCEL, { id: unknown });
    expect(cancel.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });

  const valid = { projectId: 'bad', compiledPrompt: 'Do it', repository: 'acme/widgets' };
  // As JSON text: JSON.stringify itself overflows the stack on it.
  const DEEP = { json: `${'{"d":'.repeat(5000)}{}${'}'.repeat(5000)}` };
  const metadataJson = (metadata: unknown) => (metadata === DEEP ? DEEP.json : JSON.stringify(metadata));
  const badMetadata: Array<[string, unknown]> = [
    ['a lone high surrogate in a value', { note: 'x\ud800y' }],
    ['a lone low surrogate in a nested array', { list: [{ note: '\udc00' }] }],
    ['a lone surrogate in a key', { 'k\ud800': 1 }],
    ['a NUL in a key', { 'k\u0000': 1 }],
    ['5,000 levels of nesting', DEEP],
  ];

  for (const [what, metadata] of badMetadata) {
    it(`startRun metadata with ${what} → BAD_USER_INPUT metadata`, async () => {
      const input = JSON.stringify({ ...valid, metadata: null }).replace(
        '"metadata":null',
        `"metadata":${metadataJson(metadata)}`,
      );
      const res = await fetch(graphqlUrl, {
        method: 'POST',
        headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' },
        body: `{"query":${JSON.stringify(START_RUN)},"variables":{"input":${input}}}`,
      });
      expectBadInput(await res.json(), /^metadata/);
    });
    it(`POST /runs metadata with ${what} → 422 metadata`, async () => {
      const res = await fetch(`${url}/runs`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' },
        body: `{"project_id":"bad","compiled_prompt":"Do it","metadata":${metadataJson(metadata)}}`,
      });
      const body = await res.json();
      expect(res.status, JSON.stringify(body)).toBe(422);
      expect(body.error.code).toBe('BAD_USER_INPUT');
      expect(body.error.field).toMatch(/^metadata/);
    });
  }

  it('well-formed surrogate pairs (emoji) in metadata are stored', async () => {
    const res = await gql(graphqlUrl, START_RUN, { input: { ...valid, metadata: { mood: '😀' } } });
    expect(res.errors, JSON.stringify(res)).toBeUndefined();
    expect(res.data?.startRun.run.metadata).toEqual({ mood: '😀' });
  });

  const RUNS = 'query($after: String) { runs(after: $after) { totalCount edges { node { id } } } }';
  const EVENTS = 'query($id: ID!, $after: String) { run(id: $id) { events(after: $after) { totalCount } } }';
  const runCursors: Array<[string, string]> = [
    ['an invalid date', encodeCursor({ c: 'not a date', i: 'run_x' })],
    ['a date JavaScript cannot hold', encodeCursor({ c: '+999999-01-01T00:00:00.000Z', i: 'run_x' })],
    ['a date PostgreSQL cannot hold', encodeCursor({ c: '-100000-01-01T00:00:00.000Z', i: 'run_x' })],
    ['a NUL in the id', encodeCursor({ c: new Date().toISOString(), i: 'run_\u0000' })],
  ];
  const seqCursors: Array<[string, string]> = [
    ['{"s":1e300}', Buffer.from('{"s":1e300}').toString('base64url')],
    ['a negative seq', encodeCursor({ s: -1 })],
    ['a seq past 2^31', encodeCursor({ s: 2 ** 31 })],
  ];

  for (const [what, cursor] of runCursors) {
    it(`runs(after:) with ${what} → BAD_USER_INPUT after`, async () => {
      expectBadInput(await gql(graphqlUrl, RUNS, { after: cursor }), /^after$/);
    });
    it(`GET /runs?cursor= with ${what} → 422 cursor`, async () => {
      const res = await fetch(`${url}/runs?cursor=${cursor}`, {
        headers: { authorization: `Bearer ${TEST_TOKEN}` },
      });
      const body = await res.json();
      expect(res.status, JSON.stringify(body)).toBe(422);
      expect(body.error).toMatchObject({ code: 'BAD_USER_INPUT', field: 'cursor' });
    });
  }

  for (const [what, cursor] of seqCursors) {
    it(`run.events(after:) with ${what} → BAD_USER_INPUT after`, async () => {
      expectBadInput(await gql(graphqlUrl, EVENTS, { id: runId, after: cursor }), /^after$/);
    });
  }

  it('cursors the service issued still page', async () => {
    const first = await gql(graphqlUrl, 'query { runs(first: 1) { pageInfo { endCursor } } }');
    const after = first.data!.runs.pageInfo.endCursor;
    const next = await gql(graphqlUrl, RUNS, { after });
    expect(next.errors, JSON.stringify(next)).toBeUndefined();
    const events = await gql(graphqlUrl, EVENTS, { id: runId, after: encodeCursor({ s: 1 }) });
    expect(events.errors, JSON.stringify(events)).toBeUndefined();
  });

  const badRefs: Array<[string, string]> = [
    ['a NUL', 'openhands/fix\u0000'],
    ['a lone surrogate', 'openhands/fix\ud800'],
  ];
  for (const [what, ref] of badRefs) {
    it(`a signed GitHub delivery with ${what} in head.ref → 400 INVALID_PAYLOAD`, async () => {
      const payload = pullRequestPayload('opened', { repository: 'acme/widgets', number: 7, headRef: ref });
      const res = await postGitHub({ url } as never, payload);
      expect(res.status, JSON.stringify(res.body)).toBe(400);
      expect(res.body.error.code).toBe('INVALID_PAYLOAD');
      expect(res.body.error.message).toContain('pull_request.head.ref');
    });
    it(`a signed GitLab delivery with ${what} in source_branch → 400 INVALID_PAYLOAD`, async () => {
      const payload = mergeRequestPayload({
        action: 'open',
        repository: 'acme/widgets',
        iid: 7,
        sourceBranch: ref,
      });
      const res = await postGitLab({ url } as never, payload);
      expect(res.status, JSON.stringify(res.body)).toBe(400);
      expect(res.body.error.code).toBe('INVALID_PAYLOAD');
      expect(res.body.error.message).toContain('source_branch');
    });
  }
});
