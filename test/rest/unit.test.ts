import { describe, expect, it } from 'vitest';
import type { TokenVerifier } from '../../src/auth/tokens.js';
import { AppError, type AppErrorCode, badInput } from '../../src/errors.js';
import type { Logger } from '../../src/logger.js';
import { toRestError } from '../../src/rest/errors.js';
import { openApiDocument, SCHEMAS } from '../../src/rest/openapi.js';
import { listFilter } from '../../src/rest/query.js';
import { restRoutes } from '../../src/rest/routes.js';
import { check, type Schema } from '../../src/rest/schema.js';
import type { RunService } from '../../src/runs/service.js';

describe('schema check', () => {
  const schemas: Record<string, Schema> = {
    Thing: {
      type: 'object',
      required: ['id', 'at'],
      additionalProperties: false,
      properties: {
        id: { type: 'string', pattern: '^t_' },
        at: { type: 'string', format: 'date-time' },
        n: { type: ['integer', 'null'], minimum: 0, maximum: 10 },
        kind: { type: 'string', enum: ['A', 'B'] },
        tags: { type: 'array', items: { type: 'string', maxLength: 3 } },
        inner: { anyOf: [{ $ref: '#/components/schemas/Inner' }, { type: 'null' }] },
      },
    },
    Inner: { type: 'object', required: ['x'], properties: { x: { type: 'number' } } },
  };
  const thing = { $ref: '#/components/schemas/Thing' };
  const ok = { id: 't_1', at: '2024-01-02T03:04:05.678Z' };

  it('accepts a valid value', () => {
    expect(check(thing, ok, schemas)).toBeNull();
    expect(check(thing, { ...ok, n: null, kind: 'A', tags: ['a'], inner: { x: 1.5 } }, schemas)).toBeNull();
    expect(check(thing, { ...ok, inner: null }, schemas)).toBeNull();
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
    const problem = check(thing, value, schemas);
    expect(problem?.field).toBe(field);
    expect(problem?.message).toContain(message);
  });

  it('fails loudly on an unknown $ref (a broken document, not bad input)', () => {
    expect(() => check({ $ref: '#/components/schemas/Nope' }, {}, schemas)).toThrow(/Unknown schema/);
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

describe('OpenAPI document', () => {
  const doc = openApiDocument({ version: '9.9.9', maxPageSize: 50 });

  it('documents every REST route the router gets, with the same methods', () => {
    const routes = restRoutes({
      runs: {} as RunService,
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
    const refs = JSON.stringify(doc).match(/"\$ref":"#\/components\/schemas\/([^"]+)"/g) ?? [];
    expect(refs.length).toBeGreaterThan(10);
    for (const ref of refs) expect(SCHEMAS).toHaveProperty(ref.split('/').at(-1)!.slice(0, -1));
  });

  it('its request schema ignores unknown fields but types the known ones', () => {
    const body = { project_id: 'p', compiled_prompt: 'x', whatever: [1] };
    expect(check(SCHEMAS.StartRunRequest, body, SCHEMAS)).toBeNull();
    expect(check(SCHEMAS.StartRunRequest, { ...body, metadata: [] }, SCHEMAS)?.field).toBe('metadata');
  });
});
