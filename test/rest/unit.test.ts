import { Type } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import type { TokenVerifier } from '../../src/auth/tokens.js';
import { AppError, type AppErrorCode, badInput } from '../../src/errors.js';
import type { Logger } from '../../src/logger.js';
import type { NotificationService } from '../../src/notifications/service.js';
import { RestError, toRestError } from '../../src/rest/errors.js';
import { openApiDocument, openApiText } from '../../src/rest/openapi.js';
import { listFilter } from '../../src/rest/query.js';
import { restRoutes } from '../../src/rest/routes.js';
import { Ref, RunStatusSchema, SCHEMAS, StartRunRequest } from '../../src/rest/schemas.js';
import { bodyValidator, check } from '../../src/rest/validate.js';
import type { RunService } from '../../src/runs/service.js';

describe('request and response validation (TypeBox, with the messages REST has always given)', () => {
  const Thing = Type.Object(
    {
      id: Type.String({ pattern: '^t_' }),
      at: Type.String({ format: 'date-time' }),
      n: Type.Optional(Type.Union([Type.Integer({ minimum: 0, maximum: 10 }), Type.Null()])),
      kind: Type.Optional(Ref(RunStatusSchema)),
      tags: Type.Optional(Type.Array(Type.String({ maxLength: 3 }))),
      inner: Type.Optional(Type.Union([Type.Object({ x: Type.Number() }), Type.Null()])),
    },
    { additionalProperties: false },
  );
  const ok = { id: 't_1', at: '2024-01-02T03:04:05.678Z' };

  it('accepts a valid value', () => {
    expect(check(Thing, ok)).toBeNull();
    expect(check(Thing, { ...ok, n: null, kind: 'QUEUED', tags: ['a'], inner: { x: 1.5 } })).toBeNull();
    expect(check(Thing, { ...ok, inner: null })).toBeNull();
  });

  it.each([
    [{ at: ok.at }, 'id', 'is required'],
    [{ ...ok, id: 5 }, 'id', 'must be a string'],
    [{ ...ok, id: 'x_1' }, 'id', 'must match'],
    [{ ...ok, at: '2024-01-02T03:04:05+01:00' }, 'at', 'ISO-8601'],
    [{ ...ok, n: 1.5 }, 'n', 'must be an integer or null'],
    [{ ...ok, n: 11 }, 'n', 'at most 10'],
    [{ ...ok, n: -1 }, 'n', 'at least 0'],
    [{ ...ok, kind: 'C' }, 'kind', 'one of'],
    [{ ...ok, tags: ['a', 'long'] }, 'tags.1', 'at most 3'],
    [{ ...ok, tags: 'a' }, 'tags', 'must be an array'],
    [{ ...ok, inner: { x: 'no' } }, 'inner.x', 'must be a number'],
    [{ ...ok, inner: {} }, 'inner.x', 'is required'],
    [{ ...ok, extra: 1 }, 'extra', 'not an allowed field'],
    [[ok], 'body', 'must be a JSON object'],
    [null, 'body', 'must be a JSON object'],
  ])('refuses %j at %s', (value, field, message) => {
    const problem = check(Thing, value);
    expect(problem?.field).toBe(field);
    expect(problem?.message).toContain(message);
  });

  it('reports a missing field first, then the fields in the order the body lists them', () => {
    expect(check(Thing, { n: 'x', id: 5 })?.field).toBe('at');
    expect(check(Thing, { ...ok, tags: 1, n: 'x' })?.field).toBe('tags');
    expect(check(Thing, { n: 'x', ...ok, tags: 1 })?.field).toBe('n');
  });

  it('fails loudly on an unknown reference (a broken document, not bad input)', () => {
    expect(() => check(Type.Ref('Nope'), {})).toThrow();
  });

  it('gives POST /runs the same 422 messages as before', () => {
    const body = { project_id: 'p', compiled_prompt: 'x' };
    const refuse = (value: unknown) => {
      try {
        startRunBody(value);
      } catch (error) {
        expect(error).toBeInstanceOf(RestError);
        const rest = error as RestError;
        return { status: rest.status, code: rest.code, field: rest.field, message: rest.message };
      }
      throw new Error('accepted');
    };
    expect(refuse({ compiled_prompt: 'x' })).toEqual({
      status: 422,
      code: 'BAD_USER_INPUT',
      field: 'project_id',
      message: 'project_id is required',
    });
    expect(refuse({ ...body, project_id: 5 }).message).toBe('project_id must be a string');
    expect(refuse({ ...body, repository: 5 }).message).toBe('repository must be a string or null');
    expect(refuse({ ...body, branch: 'b'.repeat(256) }).message).toBe(
      'branch must be at most 255 characters',
    );
    expect(refuse({ ...body, metadata: [] }).message).toBe('metadata must be a JSON object or null');
    expect(refuse({ ...body, idempotency_key: true }).field).toBe('idempotency_key');
    expect(refuse([body]).message).toBe('body must be a JSON object');
  });
});

describe('service errors → HTTP', () => {
  const expected: Record<AppErrorCode, number> = {
    BAD_USER_INPUT: 422,
    NOT_FOUND: 404,
    UNAUTHENTICATED: 401,
    FORBIDDEN: 403,
    CONFLICT: 409,
    RATE_LIMITED: 429,
  };

  it.each(Object.entries(expected))('%s is %i', (code, status) => {
    const rest = toRestError(new AppError(code as AppErrorCode, 'message'));
    expect(rest.status).toBe(status);
    expect(rest.code).toBe(code);
  });

  it('renames service fields to REST ones, in the field and the message', () => {
    const rest = toRestError(badInput('projectId', 'projectId must not be empty'));
    expect(rest.field).toBe('project_id');
    expect(rest.message).toBe('project_id must not be empty');
    expect(toRestError(badInput('first', 'first must be at most 100'))).toMatchObject({
      field: 'limit',
      message: 'limit must be at most 100',
    });
    expect(toRestError(badInput('after', 'after is not a cursor this service issued')).field).toBe('cursor');
    expect(toRestError(badInput('metadata.branch', 'x')).field).toBe('metadata.branch');
  });

  it('adds WWW-Authenticate to 401 and Retry-After to 429 when known', () => {
    expect(toRestError(new AppError('UNAUTHENTICATED', 'no')).headers).toEqual({
      'www-authenticate': 'Bearer',
    });
    expect(
      toRestError(new AppError('RATE_LIMITED', 'slow down', { retryAfterSeconds: 2.2 })).headers,
    ).toEqual({
      'retry-after': '3',
    });
    expect(toRestError(new AppError('RATE_LIMITED', 'slow down')).headers).toEqual({});
  });
});

describe('GET /runs query', () => {
  const parse = (query: string) => listFilter(new URLSearchParams(query));

  it('maps to the service filter', () => {
    expect(parse('')).toEqual({});
    expect(
      parse('project_id=p&status=QUEUED,RUNNING&status=FAILED&limit=5&cursor=abc&repository=a/b'),
    ).toEqual({
      projectId: 'p',
      status: ['QUEUED', 'RUNNING', 'FAILED'],
      first: 5,
      after: 'abc',
      repository: 'a/b',
    });
    expect(parse('limit=1&limit=7').first).toBe(7);
    expect(parse('cursor=').after).toBeUndefined();
  });
});

const startRunBody = bodyValidator(StartRunRequest);

describe('OpenAPI document', () => {
  const doc = openApiDocument({ version: '9.9.9', maxPageSize: 50 });
  const served = JSON.parse(openApiText(doc));

  it('documents every REST route the router gets, with the same methods', () => {
    const routes = restRoutes({
      runs: {} as RunService,
      notifications: {} as NotificationService,
      tokens: {} as TokenVerifier,
      log: {} as Logger,
      maxPageSize: 50,
      version: '9.9.9',
    });
    for (const route of routes) {
      const template = route.path.replace(/:([A-Za-z_]+)/g, '{$1}');
      const item = (doc.paths as Record<string, Record<string, unknown>>)[template];
      expect(item, template).toBeDefined();
      expect(item[route.method.toLowerCase()], `${route.method} ${template}`).toBeDefined();
    }
  });

  it('has unique operation ids, a limit capped at MAX_PAGE_SIZE, and schemas that resolve', () => {
    const operations = Object.values(doc.paths).flatMap((item) => Object.values(item));
    const ids = operations.map((op) => (op as { operationId: string }).operationId);
    expect(new Set(ids).size).toBe(ids.length);
    const limit = doc.paths['/runs'].get.parameters.find((p) => p.name === 'limit');
    expect(limit?.schema).toMatchObject({ maximum: 50 });
    const refs = JSON.stringify(served).match(/"\$ref":"#\/components\/schemas\/([^"]+)"/g) ?? [];
    expect(refs.length).toBeGreaterThan(10);
    for (const ref of refs) expect(SCHEMAS).toHaveProperty(ref.split('/').at(-1)!.slice(0, -1));
  });

  it('its request schema ignores unknown fields but types the known ones', () => {
    const body = { project_id: 'p', compiled_prompt: 'x', whatever: [1] };
    expect(check(StartRunRequest, body)).toBeNull();
    expect(check(StartRunRequest, { ...body, metadata: [] })?.field).toBe('metadata');
  });

  it('publishes the TypeBox schemas as OpenAPI components, without TypeBox ids', () => {
    expect(Object.keys(served.components.schemas)).toEqual(Object.keys(SCHEMAS));
    expect(JSON.stringify(served)).not.toContain('"$id"');
    expect(served.components.schemas.RunStatus).toMatchObject({ type: 'string', enum: expect.any(Array) });
    expect(served.components.schemas.RunDetail.properties.error.anyOf).toEqual([
      { $ref: '#/components/schemas/RunError' },
      { type: 'null' },
    ]);
  });
});
