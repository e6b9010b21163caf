import { RUN_STATUSES } from '../runs/status.js';
import { GIT_PROVIDERS, LIMITS } from '../runs/validation.js';
import type { Schema } from './schema.js';

/**
 * The OpenAPI 3.1 document served at GET /openapi.json. Written by hand (there is no REST
 * framework to derive it from); the request schema here is also what POST /runs enforces, and the
 * tests check every response against the response schemas, so the document stays honest.
 */

const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const nullable = (schema: Schema): Schema => ({ anyOf: [schema, { type: 'null' }] });
const time: Schema = { type: 'string', format: 'date-time', description: 'ISO-8601, UTC, ending in Z.' };

export const SCHEMAS = {
  RunStatus: {
    type: 'string',
    enum: RUN_STATUSES,
    description:
      'QUEUED → STARTING → RUNNING (⇄ AWAITING_INPUT) → COMPLETED | FAILED | CANCELLED | TIMED_OUT (final).',
  },
  StartRunRequest: {
    type: 'object',
    description: 'Unknown fields are ignored (as the old pydantic model did).',
    required: ['project_id', 'compiled_prompt'],
    properties: {
      project_id: { type: 'string', maxLength: LIMITS.projectId, description: 'Non-empty.' },
      compiled_prompt: { type: 'string', maxLength: LIMITS.compiledPrompt, description: 'Non-empty.' },
      repository: {
        type: ['string', 'null'],
        maxLength: LIMITS.repository,
        description: '"owner/repo", a GitLab group path, or the repository URL.',
      },
      metadata: {
        type: ['object', 'null'],
        description: `Any JSON object (at most ${LIMITS.metadataBytes} bytes, ${LIMITS.metadataDepth} levels deep, no NUL or unpaired surrogate in any key or string); metadata.branch is honoured as the branch.`,
      },
      branch: {
        type: ['string', 'null'],
        maxLength: LIMITS.branch,
        description: 'A valid git branch name; needs repository.',
      },
      idempotency_key: {
        type: ['string', 'null'],
        maxLength: LIMITS.idempotencyKey,
        description: 'Same key within a project → the same run (answered 200 instead of 201).',
      },
      git_provider: {
        type: ['string', 'null'],
        description: `One of ${GIT_PROVIDERS.join(', ')} (any case); guessed from repository when absent.`,
      },
    },
  },
  StartRunResponse: {
    type: 'object',
    required: ['run_id', 'status'],
    properties: { run_id: { type: 'string', pattern: '^run_' }, status: ref('RunStatus') },
  },
  RunSummary: {
    type: 'object',
    required: ['run_id', 'project_id', 'status', 'percent', 'created_at', 'updated_at', 'metadata'],
    properties: {
      run_id: { type: 'string', pattern: '^run_' },
      project_id: { type: 'string' },
      status: ref('RunStatus'),
      percent: {
        type: 'integer',
        minimum: 0,
        maximum: 100,
        description: 'Never decreases; 100 only when COMPLETED.',
      },
      created_at: time,
      updated_at: time,
      metadata: { type: ['object', 'null'] },
    },
  },
  RunError: {
    type: 'object',
    required: ['code', 'message', 'retryable'],
    properties: {
      code: { type: 'string', description: 'Stable reason, e.g. SANDBOX_START_FAILED, STALLED.' },
      message: { type: 'string' },
      retryable: { type: 'boolean' },
    },
  },
  PullRequest: {
    type: 'object',
    required: ['provider', 'url', 'number', 'state', 'head_branch', 'head_sha'],
    properties: {
      provider: { type: 'string' },
      url: { type: 'string' },
      number: { type: ['integer', 'null'] },
      state: { type: 'string', description: 'OPEN, MERGED or CLOSED.' },
      head_branch: { type: ['string', 'null'] },
      head_sha: { type: ['string', 'null'] },
    },
  },
  RunEvent: {
    type: 'object',
    required: ['seq', 'type', 'status', 'percent', 'phase', 'message', 'data', 'at'],
    properties: {
      seq: { type: 'integer', minimum: 1, description: '1, 2, 3 … per run, no gaps.' },
      type: { type: 'string', description: 'CREATED, STATUS_CHANGED, PROGRESS, PULL_REQUEST, …' },
      status: ref('RunStatus'),
      percent: { type: 'integer', minimum: 0, maximum: 100 },
      phase: { type: 'string' },
      message: { type: ['string', 'null'] },
      data: {},
      at: time,
    },
  },
  RunDetail: {
    type: 'object',
    required: [
      'run_id',
      'project_id',
      'status',
      'percent',
      'created_at',
      'updated_at',
      'metadata',
      'repository',
      'branch',
      'git_provider',
      'phase',
      'conversation_id',
      'error',
      'pull_request',
      'started_at',
      'finished_at',
      'events',
      'events_truncated',
    ],
    properties: {
      run_id: { type: 'string', pattern: '^run_' },
      project_id: { type: 'string' },
      status: ref('RunStatus'),
      percent: { type: 'integer', minimum: 0, maximum: 100 },
      created_at: time,
      updated_at: time,
      metadata: { type: ['object', 'null'] },
      repository: { type: ['string', 'null'] },
      branch: { type: ['string', 'null'] },
      git_provider: { type: ['string', 'null'] },
      phase: { type: 'string', description: 'Human-readable current step.' },
      conversation_id: { type: ['string', 'null'] },
      error: nullable(ref('RunError')),
      pull_request: nullable(ref('PullRequest')),
      started_at: nullable(time),
      finished_at: nullable(time),
      events: { type: 'array', items: ref('RunEvent'), description: 'The whole timeline, oldest first.' },
      events_truncated: { type: 'boolean', description: 'True when the timeline was cut at 10 000 events.' },
    },
  },
  RunList: {
    type: 'object',
    required: ['runs', 'next_cursor'],
    properties: {
      runs: { type: 'array', items: ref('RunSummary'), description: 'Newest first.' },
      next_cursor: {
        type: ['string', 'null'],
        description: 'Pass as cursor for the next page; null on the last.',
      },
    },
  },
  Error: {
    type: 'object',
    description: 'Nothing else is ever sent: no stack traces, no internal details.',
    required: ['error'],
    additionalProperties: false,
    properties: {
      error: {
        type: 'object',
        required: ['code', 'message'],
        additionalProperties: false,
        properties: {
          code: {
            type: 'string',
            description:
              'BAD_REQUEST, BAD_USER_INPUT, UNAUTHENTICATED, FORBIDDEN, NOT_FOUND, METHOD_NOT_ALLOWED, CONFLICT, PAYLOAD_TOO_LARGE, UNSUPPORTED_MEDIA_TYPE, RATE_LIMITED, INTERNAL_SERVER_ERROR',
          },
          message: { type: 'string' },
          field: { type: 'string', description: 'The offending field (snake_case), for BAD_USER_INPUT.' },
        },
      },
    },
  },
} satisfies Record<string, Schema>;

type Responses = Record<
  string,
  { description: string; content?: { 'application/json': { schema: Schema } } }
>;

const json = (description: string, schema: Schema) => ({
  description,
  content: { 'application/json': { schema } },
});
const error = (description: string) => json(description, ref('Error'));

/** The refusals every authenticated route can give. */
const common: Responses = {
  '401': error('Missing or invalid Bearer token.'),
  '405': error('Known path, other method (see the Allow header).'),
  '429': error('Rate limited.'),
  '500': error('Internal error; the details are logged, never sent.'),
};

const runIdParam = {
  name: 'run_id',
  in: 'path',
  required: true,
  schema: { type: 'string' } as Schema,
  description: 'A run id (run_…).',
};

export function openApiDocument(options: { version: string; maxPageSize: number }) {
  return {
    openapi: '3.1.0',
    info: {
      title: 'openhands-runner REST API',
      version: options.version,
      description:
        'Compatible with the old Python service. Backed by the same run service as GraphQL at /graphql. ' +
        'Every route except /health and /openapi.json needs Authorization: Bearer <token>.',
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: SCHEMAS,
    },
    security: [{ bearer: [] }],
    paths: {
      '/runs': {
        post: {
          operationId: 'startRun',
          summary: 'Queue a run (GraphQL: startRun).',
          requestBody: {
            required: true,
            content: { 'application/json': { schema: ref('StartRunRequest') } },
          },
          responses: {
            '201': json('Run created (status QUEUED).', ref('StartRunResponse')),
            '200': json(
              'idempotency_key matched an earlier run; that run is returned.',
              ref('StartRunResponse'),
            ),
            '400': error('Body is not valid JSON.'),
            '403': error('The token may not start runs in this project.'),
            '413': error('Body too large.'),
            '415': error('Body is not JSON.'),
            '422': error('A field is missing, of the wrong type, or invalid; error.field names it.'),
            ...common,
          },
        },
        get: {
          operationId: 'listRuns',
          summary: 'List runs, newest first (GraphQL: runs).',
          parameters: [
            { name: 'project_id', in: 'query', schema: { type: 'string' } },
            {
              name: 'status',
              in: 'query',
              description: 'One or more statuses (repeat the parameter or separate with commas).',
              schema: { type: 'array', items: ref('RunStatus') },
              style: 'form',
              explode: true,
            },
            { name: 'repository', in: 'query', schema: { type: 'string' } },
            {
              name: 'limit',
              in: 'query',
              schema: {
                type: 'integer',
                minimum: 1,
                maximum: options.maxPageSize,
                default: Math.min(20, options.maxPageSize),
              },
            },
            {
              name: 'cursor',
              in: 'query',
              description: 'next_cursor of the previous page.',
              schema: { type: 'string' },
            },
          ],
          responses: {
            '200': json('A page of run summaries.', ref('RunList')),
            '422': error('A query parameter is invalid; error.field names it.'),
            ...common,
          },
        },
      },
      '/runs/{run_id}': {
        get: {
          operationId: 'getRun',
          summary: 'A run summary (GraphQL: run(id)).',
          parameters: [runIdParam],
          responses: {
            '200': json('The run.', ref('RunSummary')),
            '404': error('No such run (or not visible to this token).'),
            ...common,
          },
        },
      },
      '/runs/{run_id}/detail': {
        get: {
          operationId: 'getRunDetail',
          summary: 'A run with repository, branch, phase, conversation, error, pull request and events.',
          parameters: [runIdParam],
          responses: {
            '200': json('The run in detail.', ref('RunDetail')),
            '404': error('No such run.'),
            ...common,
          },
        },
      },
      '/runs/{run_id}/cancel': {
        post: {
          operationId: 'cancelRun',
          summary: 'Cancel a run (GraphQL: cancelRun). Cancelling a cancelled run is harmless.',
          parameters: [runIdParam],
          responses: {
            '200': json('The run, now CANCELLED.', ref('RunSummary')),
            '404': error('No such run.'),
            '409': error('The run already ended (COMPLETED, FAILED or TIMED_OUT).'),
            ...common,
          },
        },
      },
      '/health': {
        get: {
          operationId: 'health',
          summary: 'Service health (public).',
          security: [],
          responses: {
            '200': json('Working (OpenHands may be degraded).', {
              type: 'object',
              required: ['status'],
              properties: { status: { type: 'string' } },
            }),
            '503': json('Database unreachable.', {
              type: 'object',
              required: ['status'],
              properties: { status: { type: 'string' } },
            }),
          },
        },
      },
      '/openapi.json': {
        get: {
          operationId: 'openapi',
          summary: 'This document (public).',
          security: [],
          responses: {
            '200': json('OpenAPI 3.1 document.', { type: 'object', required: ['openapi', 'paths'] }),
          },
        },
      },
    },
  };
}
