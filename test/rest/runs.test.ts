import { randomBytes } from 'node:crypto';
import { describe, expect } from 'vitest';
import { hashToken } from '../../src/auth/tokens.js';
import { createTestDatabase } from '../support/database.js';
import { test as fixtures } from '../support/fixtures.js';
import { gql, waitFor } from '../support/graphql.js';
import { RestClient, type RestResponse } from '../support/rest-client.js';
import { startService, TEST_TOKEN } from '../support/service.js';

const ISO_Z = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const SUMMARY_KEYS = ['created_at', 'metadata', 'percent', 'project_id', 'run_id', 'status', 'updated_at'];
const unique = (prefix: string) => `${prefix}-${randomBytes(4).toString('hex')}`;

function expectError(res: RestResponse, status: number, code: string, field?: string): void {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.body.error.code).toBe(code);
  expect(typeof res.body.error.message).toBe('string');
  if (field !== undefined) expect(res.body.error.field).toBe(field);
}

/** A REST client that checks every answer against the service's own /openapi.json. */
const test = fixtures.extend('api', { scope: 'file' }, async ({ service }) => {
  const doc = await (await fetch(`${service.url}/openapi.json`)).json();
  return new RestClient(service.url, doc);
});
// This file starts many runs; a simulator without a rate limit lets them drain quickly, so the
// tests that follow a run to its end do not wait behind the backlog of earlier ones.
test.override({
  simulatorOptions: { apiVersion: 'v1' },
  serviceEnv: { OPENHANDS_API_VERSION: 'auto', OPENHANDS_MAX_RPS: '200', MAX_ACTIVE_RUNS: '200' },
});

describe('REST API', () => {
  const base = {
    project_id: 'p-rest',
    compiled_prompt: 'Fix the bug',
    repository: 'acme/widgets',
    metadata: {},
  };
  const start = async (api: RestClient, body: Record<string, unknown>) => {
    const res = await api.post('/runs', { ...base, ...body });
    expect([200, 201], JSON.stringify(res.body)).toContain(res.status);
    return res.body.run_id as string;
  };

  describe('GET /openapi.json', () => {
    test('is a public OpenAPI 3 document listing every route', async ({ api }) => {
      const res = await api.get('/openapi.json', { token: null });
      expect(res.status).toBe(200);
      const doc = res.body;
      expect(doc.openapi).toMatch(/^3\.\d+\.\d+$/);
      expect(doc.info).toMatchObject({ title: expect.any(String), version: expect.any(String) });
      const operations = Object.entries(doc.paths).flatMap(([path, item]) =>
        Object.keys(item as object).map((method) => `${method.toUpperCase()} ${path}`),
      );
      expect(operations.sort()).toEqual(
        [
          'POST /runs',
          'GET /runs',
          'GET /runs/{run_id}',
          'GET /runs/{run_id}/detail',
          'POST /runs/{run_id}/cancel',
          'POST /runs/{run_id}/messages',
          'POST /webhook-endpoints',
          'GET /webhook-endpoints',
          'PATCH /webhook-endpoints/{endpoint_id}',
          'DELETE /webhook-endpoints/{endpoint_id}',
          'POST /webhook-endpoints/{endpoint_id}/rotate-secret',
          'GET /webhook-endpoints/{endpoint_id}/deliveries',
          'POST /webhook-deliveries/{delivery_id}/redeliver',
          'GET /health',
          'GET /openapi.json',
        ].sort(),
      );
      expect(doc.components.securitySchemes.bearer).toEqual({ type: 'http', scheme: 'bearer' });
      // Every $ref points at a schema that exists.
      const refs = JSON.stringify(doc).match(/"#\/components\/schemas\/[^"]+"/g) ?? [];
      for (const ref of refs) expect(doc.components.schemas).toHaveProperty(ref.slice(22, -1));
    });
  });

  describe('auth', () => {
    const routes: Array<[string, string]> = [
      ['POST', '/runs'],
      ['GET', '/runs'],
      ['GET', '/runs/run_x'],
      ['GET', '/runs/run_x/detail'],
      ['POST', '/runs/run_x/cancel'],
    ];

    test.for(routes)('%s %s without a token is 401', async ([method, path], { api }) => {
      const res = await api.request(method, path, {
        token: null,
        body: method === 'POST' ? base : undefined,
      });
      expectError(res, 401, 'UNAUTHENTICATED');
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
      expect(res.body.error.message).toMatch(/Bearer/);
    });

    test.for(routes)('%s %s with a wrong token is 401', async ([method, path], { api }) => {
      const res = await api.request(method, path, {
        token: 'not-the-token',
        body: method === 'POST' ? base : undefined,
      });
      expectError(res, 401, 'UNAUTHENTICATED');
      expect(res.body.error.message).toBe('The API token is not valid');
      expect(JSON.stringify(res.body)).not.toContain('not-the-token');
    });

    test('refuses a non-Bearer scheme and checks the token before the body', async ({ api }) => {
      const basic = await api.post('/runs', base, {
        token: null,
        headers: { authorization: 'Basic dXNlcjpwYXNz' },
      });
      expectError(basic, 401, 'UNAUTHENTICATED');
      const bad = await api.request('POST', '/runs', { token: null, raw: '{not json' });
      expectError(bad, 401, 'UNAUTHENTICATED');
    });

    test('leaves /health public', async ({ api }) => {
      const res = await api.get('/health', { token: null });
      expect(res.status).toBe(200);
    });

    test('keeps a project-scoped token to its projects (403 to start elsewhere, 404 to read)', async ({
      service,
      api,
    }) => {
      const scoped = `scoped-${randomBytes(8).toString('hex')}`;
      await service.app.database.prisma.apiToken.create({
        data: {
          id: unique('tok'),
          name: unique('scoped'),
          tokenHash: hashToken(scoped),
          projects: ['scoped-a'],
        },
      });
      const other = await start(api, { project_id: 'scoped-b' });
      const forbidden = await api.post('/runs', { ...base, project_id: 'scoped-b' }, { token: scoped });
      expectError(forbidden, 403, 'FORBIDDEN');
      const own = await api.post('/runs', { ...base, project_id: 'scoped-a' }, { token: scoped });
      expect(own.status).toBe(201);
      expectError(await api.get(`/runs/${other}`, { token: scoped }), 404, 'NOT_FOUND');
      expectError(await api.get(`/runs/${other}/detail`, { token: scoped }), 404, 'NOT_FOUND');
      expectError(await api.post(`/runs/${other}/cancel`, undefined, { token: scoped }), 404, 'NOT_FOUND');
      const listed = await api.get('/runs?limit=100', { token: scoped });
      expect(listed.body.runs.map((r: { project_id: string }) => r.project_id)).toEqual(['scoped-a']);
      expect((await api.get('/runs?project_id=scoped-b', { token: scoped })).body.runs).toEqual([]);
    });
  });

  describe('POST /runs', () => {
    test('queues a run: 201 {run_id, status: QUEUED} that GraphQL sees too', async ({ service, api }) => {
      const res = await api.post('/runs', { ...base, metadata: { branch: 'main', ticket: 7 } });
      expect(res.status).toBe(201);
      expect(Object.keys(res.body).sort()).toEqual(['run_id', 'status']);
      expect(res.body.run_id).toMatch(/^run_/);
      expect(res.body.status).toBe('QUEUED');
      expect(res.headers.get('location')).toBe(`/runs/${res.body.run_id}`);

      const viaGraphQL = await gql(
        service.graphqlUrl,
        'query($id: ID!) { run(id: $id) { projectId repository branch gitProvider metadata } }',
        {
          id: res.body.run_id,
        },
      );
      expect(viaGraphQL.data?.run).toEqual({
        projectId: 'p-rest',
        repository: 'acme/widgets',
        branch: 'main',
        gitProvider: 'GITHUB',
        metadata: { branch: 'main', ticket: 7 },
      });
    });

    test('needs only project_id and compiled_prompt; explicit branch and git_provider are accepted', async ({
      api,
    }) => {
      expect((await api.post('/runs', { project_id: 'p-min', compiled_prompt: 'Just think' })).status).toBe(
        201,
      );
      const id = await start(api, {
        repository: 'https://gitlab.com/g/sub/proj.git',
        branch: 'dev',
        git_provider: 'gitlab',
      });
      const detail = await api.get(`/runs/${id}/detail`);
      expect(detail.body).toMatchObject({ repository: 'g/sub/proj', branch: 'dev', git_provider: 'GITLAB' });
    });

    test('returns the same run for the same idempotency_key: 201 then 200', async ({ api }) => {
      const key = unique('key');
      const first = await api.post('/runs', { ...base, idempotency_key: key });
      const second = await api.post('/runs', { ...base, idempotency_key: key, compiled_prompt: 'Different' });
      expect(first.status).toBe(201);
      expect(second.status).toBe(200);
      expect(second.body.run_id).toBe(first.body.run_id);
      const otherProject = await api.post('/runs', { ...base, project_id: 'p-rest-2', idempotency_key: key });
      expect(otherProject.status).toBe(201);
      expect(otherProject.body.run_id).not.toBe(first.body.run_id);
    });

    test('ignores unknown fields, as the old pydantic model did', async ({ api }) => {
      const res = await api.post('/runs', {
        ...base,
        priority: 'high',
        callback_url: 'http://x',
        extra: { a: 1 },
      });
      expect(res.status).toBe(201);
      const detail = await api.get(`/runs/${res.body.run_id}/detail`);
      expect(JSON.stringify(detail.body)).not.toContain('priority');
    });

    test('parses a body without Content-Type as JSON (old clients) and accepts application/*+json', async ({
      api,
    }) => {
      const bare = await api.request('POST', '/runs', { raw: JSON.stringify(base) });
      expect(bare.status).toBe(201);
      const vendor = await api.request('POST', '/runs', {
        raw: JSON.stringify(base),
        headers: { 'content-type': 'application/vnd.api+json; charset=utf-8' },
      });
      expect(vendor.status).toBe(201);
    });

    const cases: Array<[string, Record<string, unknown>, string]> = [
      ['project_id missing', { project_id: undefined }, 'project_id'],
      ['project_id a number', { project_id: 42 }, 'project_id'],
      ['project_id null', { project_id: null }, 'project_id'],
      ['project_id empty', { project_id: '' }, 'project_id'],
      ['project_id blank', { project_id: '   ' }, 'project_id'],
      ['project_id too long', { project_id: 'p'.repeat(201) }, 'project_id'],
      ['project_id with a control character', { project_id: 'a\u0001b' }, 'project_id'],
      ['compiled_prompt missing', { compiled_prompt: undefined }, 'compiled_prompt'],
      ['compiled_prompt an array', { compiled_prompt: ['x'] }, 'compiled_prompt'],
      ['compiled_prompt blank', { compiled_prompt: ' \n ' }, 'compiled_prompt'],
      ['compiled_prompt too long', { compiled_prompt: 'x'.repeat(200_001) }, 'compiled_prompt'],
      ['repository a number', { repository: 7 }, 'repository'],
      ['repository not owner/repo', { repository: 'widgets' }, 'repository'],
      ['repository with ..', { repository: 'acme/../etc' }, 'repository'],
      ['repository too long', { repository: `acme/${'r'.repeat(260)}` }, 'repository'],
      ['repository too deep for GitHub', { repository: 'g/sub/proj', git_provider: 'GITHUB' }, 'repository'],
      ['metadata an array', { metadata: [1, 2] }, 'metadata'],
      ['metadata a string', { metadata: 'text' }, 'metadata'],
      ['metadata too large', { metadata: { blob: 'x'.repeat(70_000) } }, 'metadata'],
      ['metadata.branch invalid', { metadata: { branch: 'bad..branch' } }, 'metadata.branch'],
      ['metadata.branch a number', { metadata: { branch: 5 } }, 'metadata.branch'],
      ['branch a number', { branch: 5 }, 'branch'],
      ['branch with a space', { branch: 'my branch' }, 'branch'],
      ['branch ending .lock', { branch: 'x.lock' }, 'branch'],
      ['branch disagreeing with metadata.branch', { branch: 'main', metadata: { branch: 'dev' } }, 'branch'],
      ['branch without repository', { branch: 'main', repository: undefined }, 'branch'],
      ['idempotency_key a number', { idempotency_key: 5 }, 'idempotency_key'],
      ['idempotency_key empty', { idempotency_key: '' }, 'idempotency_key'],
      ['idempotency_key too long', { idempotency_key: 'k'.repeat(256) }, 'idempotency_key'],
      ['git_provider unknown', { git_provider: 'SVN' }, 'git_provider'],
      ['git_provider a number', { git_provider: 3 }, 'git_provider'],
      // PostgreSQL cannot store U+0000: refused up front instead of failing as a 500.
      ['compiled_prompt with NUL', { compiled_prompt: 'a\u0000b' }, 'compiled_prompt'],
      ['idempotency_key with NUL', { idempotency_key: 'k\u0000' }, 'idempotency_key'],
      ['metadata with a NUL value', { metadata: { a: ['ok', 'x\u0000'] } }, 'metadata.a.1'],
      ['metadata with a NUL key', { metadata: { 'k\u0000': 1 } }, 'metadata.k\u0000'],
    ];

    test.for(cases)('422 for %s', async ([_name, change, field], { api }) => {
      const res = await api.post('/runs', { ...base, project_id: 'p-bad', ...change });
      expectError(res, 422, 'BAD_USER_INPUT', field);
      expect(res.body.error.message).toContain(field);
      // The service's camelCase names never leak into REST messages.
      expect(res.body.error.message).not.toMatch(/projectId|compiledPrompt|idempotencyKey|gitProvider/);
    });

    test('created no run for any refused request', async ({ api }) => {
      const res = await api.get('/runs?project_id=p-bad');
      expect(res.body.runs).toEqual([]);
    });

    test('400 for a body that is not JSON, 422 for JSON that is not an object', async ({ api }) => {
      expectError(
        await api.request('POST', '/runs', {
          raw: '{"project_id": ',
          headers: { 'content-type': 'application/json' },
        }),
        400,
        'BAD_REQUEST',
      );
      expectError(
        await api.request('POST', '/runs', { raw: Buffer.from([0x7b, 0xff, 0x7d]) }),
        400,
        'BAD_REQUEST',
      );
      expectError(await api.request('POST', '/runs', { body: [base] }), 422, 'BAD_USER_INPUT', 'body');
      expectError(await api.request('POST', '/runs', { body: 'text' }), 422, 'BAD_USER_INPUT', 'body');
      expectError(await api.request('POST', '/runs', { raw: '' }), 422, 'BAD_USER_INPUT', 'body');
    });

    test('415 for a non-JSON content type', async ({ api }) => {
      const res = await api.request('POST', '/runs', {
        raw: 'project_id=p&compiled_prompt=x',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      expectError(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
    });

    test('413 for a body over 1 MiB, declared or streamed', async ({ service, api }) => {
      const big = JSON.stringify({ ...base, compiled_prompt: 'x'.repeat(1024 * 1024) });
      expectError(await api.request('POST', '/runs', { raw: big }), 413, 'PAYLOAD_TOO_LARGE');
      // Chunked, so the size is only known while reading.
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          for (let i = 0; i < 20; i++) controller.enqueue(new TextEncoder().encode('x'.repeat(64 * 1024)));
          controller.close();
        },
      });
      const res = await fetch(`${service.url}/runs`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' },
        body: stream,
        duplex: 'half',
      } as RequestInit);
      expect(res.status).toBe(413);
      expect((await res.json()).error.code).toBe('PAYLOAD_TOO_LARGE');
    });
  });

  describe('GET /runs/{run_id} and /detail', () => {
    test('answers the old summary shape with ISO-8601 UTC Z times', async ({ api }) => {
      const id = await start(api, { metadata: { ticket: 'T-1' } });
      const res = await api.get(`/runs/${id}`);
      expect(res.status).toBe(200);
      expect(Object.keys(res.body).sort()).toEqual(SUMMARY_KEYS);
      expect(res.body).toMatchObject({ run_id: id, project_id: 'p-rest', metadata: { ticket: 'T-1' } });
      expect(res.body.created_at).toMatch(ISO_Z);
      expect(res.body.updated_at).toMatch(ISO_Z);
      const head = await api.request('HEAD', `/runs/${id}`);
      expect(head.status).toBe(200);
    });

    test('follows a run to COMPLETED, with pull request and events in the detail; cancelling it then is 409', async ({
      api,
    }) => {
      const id = await start(api, { metadata: { branch: 'main' } });
      const done = await waitFor('run to finish', async () => {
        const res = await api.get(`/runs/${id}`);
        return ['COMPLETED', 'FAILED', 'CANCELLED', 'TIMED_OUT'].includes(res.body.status)
          ? res.body
          : undefined;
      });
      expect(done.status).toBe('COMPLETED');
      expect(done.percent).toBe(100);

      const detail = (await api.get(`/runs/${id}/detail`)).body;
      expect(detail).toMatchObject({
        run_id: id,
        status: 'COMPLETED',
        percent: 100,
        repository: 'acme/widgets',
        branch: 'main',
        git_provider: 'GITHUB',
        error: null,
        events_truncated: false,
      });
      expect(detail.conversation_id).toBeTruthy();
      expect(detail.finished_at).toMatch(ISO_Z);
      expect(detail.pull_request).toMatchObject({ provider: 'GITHUB', state: 'OPEN' });
      expect(detail.pull_request.url).toMatch(/^https:\/\/github\.com\/acme\/widgets\/pull\/\d+$/);
      const seqs = detail.events.map((e: { seq: number }) => e.seq);
      expect(seqs).toEqual(seqs.map((_: number, i: number) => i + 1));
      expect(detail.events[0]).toMatchObject({ seq: 1, type: 'CREATED', status: 'QUEUED', percent: 0 });
      expect(detail.events.at(-1).status).toBe('COMPLETED');
      for (const event of detail.events) expect(event.at).toMatch(ISO_Z);

      const refused = await api.post(`/runs/${id}/cancel`);
      expectError(refused, 409, 'CONFLICT');
      expect(refused.body.error.message).toContain('COMPLETED');
      expect((await api.get(`/runs/${id}`)).body.status).toBe('COMPLETED');
    });

    test('pages the detail events past one page of the service', async ({ sim, api }) => {
      // A database of its own: the runs earlier tests leave active (MAX_ACTIVE_RUNS) cannot delay this one.
      const own = await createTestDatabase();
      const small = await startService(own.url, sim.url, { MAX_PAGE_SIZE: '2' });
      try {
        const client = new RestClient(small.url, api.doc);
        const created = await client.post('/runs', base);
        expect([200, 201], JSON.stringify(created.body)).toContain(created.status);
        const id = created.body.run_id as string;
        const done = await waitFor('run to finish', async () => {
          const res = await client.get(`/runs/${id}`);
          return res.body.status === 'COMPLETED' ? res.body : undefined;
        });
        expect(done.percent).toBe(100);
        // The service reads two events per query; the detail still holds every one of them, in order.
        const detail = (await client.get(`/runs/${id}/detail`)).body;
        const seqs = detail.events.map((e: { seq: number }) => e.seq);
        expect(seqs.length).toBeGreaterThanOrEqual(5);
        expect(seqs).toEqual(seqs.map((_: number, i: number) => i + 1));
        expect(detail.events.at(-1).status).toBe('COMPLETED');
        expect(detail.events_truncated).toBe(false);
      } finally {
        await small.stop();
        await own.drop();
      }
    });

    test('404 for an unknown run', async ({ api }) => {
      expectError(await api.get('/runs/run_doesnotexist'), 404, 'NOT_FOUND');
      expectError(await api.get('/runs/run_doesnotexist/detail'), 404, 'NOT_FOUND');
      expectError(await api.get('/runs/not%20an%20id'), 404, 'NOT_FOUND');
      expectError(await api.get('/runs/run_%00'), 404, 'NOT_FOUND');
      expectError(await api.post('/runs/run_%00/cancel'), 404, 'NOT_FOUND');
      expectError(await api.get(`/runs/run_${'x'.repeat(300)}/detail`), 404, 'NOT_FOUND');
    });
  });

  describe('POST /runs/{run_id}/cancel', () => {
    test('cancels an active run; cancelling twice is harmless', async ({ api }) => {
      const id = await start(api, { project_id: 'p-cancel', compiled_prompt: 'Wait [sim:stuck]' });
      const first = await api.post(`/runs/${id}/cancel`);
      expect(first.status).toBe(200);
      expect(Object.keys(first.body).sort()).toEqual(SUMMARY_KEYS);
      expect(first.body).toMatchObject({ run_id: id, status: 'CANCELLED' });
      const again = await api.post(`/runs/${id}/cancel`, { reason: 'ignored' });
      expect(again.status).toBe(200);
      expect(again.body.status).toBe('CANCELLED');
      const detail = await api.get(`/runs/${id}/detail`);
      expect(detail.body.events.at(-1).status).toBe('CANCELLED');
    });

    test('404 for an unknown run', async ({ api }) => {
      expectError(await api.post('/runs/run_doesnotexist/cancel'), 404, 'NOT_FOUND');
    });
  });

  describe('GET /runs', () => {
    test('pages newest first with limit and cursor until next_cursor is null', async ({ api }) => {
      const project = unique('paging');
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push(await start(api, { project_id: project }));
      const seen: Array<{ run_id: string; created_at: string }> = [];
      let cursor: string | null = null;
      const sizes: number[] = [];
      do {
        const query: string = `/runs?project_id=${project}&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
        const res = await api.get(query);
        expect(res.status).toBe(200);
        for (const run of res.body.runs) expect(Object.keys(run).sort()).toEqual(SUMMARY_KEYS);
        sizes.push(res.body.runs.length);
        seen.push(...res.body.runs);
        cursor = res.body.next_cursor;
      } while (cursor);
      expect(sizes).toEqual([2, 2, 1]);
      expect(seen.map((r) => r.run_id).sort()).toEqual([...ids].sort());
      const newestFirst = [...seen].sort((a, b) =>
        a.created_at === b.created_at ? (a.run_id < b.run_id ? 1 : -1) : a.created_at < b.created_at ? 1 : -1,
      );
      expect(seen).toEqual(newestFirst);
      // An empty cursor reads as the first page.
      const again = await api.get(`/runs?project_id=${project}&limit=2&cursor=`);
      expect(again.body.runs.map((r: { run_id: string }) => r.run_id)).toEqual(
        seen.slice(0, 2).map((r) => r.run_id),
      );
    });

    test('filters by status (repeated or comma-separated) and repository', async ({ api }) => {
      const project = unique('filter');
      const cancelled = await start(api, { project_id: project, compiled_prompt: 'Wait [sim:stuck]' });
      await api.post(`/runs/${cancelled}/cancel`);
      const other = await start(api, {
        project_id: project,
        repository: 'acme/gadgets',
        compiled_prompt: 'Wait [sim:stuck]',
      });
      const only = await api.get(`/runs?project_id=${project}&status=CANCELLED`);
      expect(only.body.runs.map((r: { run_id: string }) => r.run_id)).toEqual([cancelled]);
      const both = await api.get(`/runs?project_id=${project}&status=CANCELLED,QUEUED,STARTING,RUNNING`);
      const repeated = await api.get(
        `/runs?project_id=${project}&status=CANCELLED&status=QUEUED&status=STARTING&status=RUNNING`,
      );
      expect(both.body.runs).toHaveLength(2);
      expect(repeated.body.runs).toHaveLength(2);
      const byRepo = await api.get(`/runs?project_id=${project}&repository=acme/gadgets`);
      expect(byRepo.body.runs.map((r: { run_id: string }) => r.run_id)).toEqual([other]);
      await api.post(`/runs/${other}/cancel`);
    });

    test.for([
      ['limit=abc', 'limit'],
      ['limit=0', 'limit'],
      ['limit=-1', 'limit'],
      ['limit=1.5', 'limit'],
      ['limit=', 'limit'],
      ['limit=101', 'limit'],
      ['status=BOGUS', 'status'],
      ['status=queued', 'status'],
      ['status=QUEUED,', 'status'],
      ['cursor=not-a-cursor', 'cursor'],
      ['cursor=eyJ4IjoxfQ', 'cursor'],
      ['project_id=', 'project_id'],
      ['repository=', 'repository'],
      ['project_id=%00', 'project_id'],
      ['repository=a%00', 'repository'],
    ])('422 for %s', async ([query, field], { api }) => {
      const res = await api.get(`/runs?${query}`);
      expectError(res, 422, 'BAD_USER_INPUT', field);
      expect(res.body.error.message).toContain(field);
      expect(res.body.error.message).not.toMatch(/\bfirst\b|\bafter\b/);
    });

    test('ignores unknown query parameters', async ({ api }) => {
      expect((await api.get('/runs?limit=1&sort=asc')).status).toBe(200);
    });
  });

  describe('routing', () => {
    test('404 JSON for unknown routes', async ({ api }) => {
      for (const path of ['/nope', '/runs/run_x/nope', '/runs/run_x/cancel/again', '/v1/runs']) {
        const res = await api.get(path);
        expectError(res, 404, 'NOT_FOUND');
      }
    });

    test('405 with Allow for a known path and another method', async ({ api }) => {
      const cases: Array<[string, string, string[]]> = [
        ['DELETE', '/runs', ['GET', 'POST']],
        ['PUT', '/runs/run_x', ['GET']],
        ['GET', '/runs/run_x/cancel', ['POST']],
        ['POST', '/runs/run_x/detail', ['GET']],
        ['POST', '/openapi.json', ['GET']],
      ];
      for (const [method, path, allow] of cases) {
        const res = await api.request(method, path);
        expectError(res, 405, 'METHOD_NOT_ALLOWED');
        expect(res.headers.get('allow')?.split(', ').sort()).toEqual(allow);
      }
    });
  });
});
