import { type TSchema, Type } from '@sinclair/typebox';
import { DESCRIPTIONS } from '../api/descriptions.js';
import {
  CreateWebhookEndpointRequest,
  ErrorBody,
  Ref,
  RotateWebhookSecretRequest,
  RunDetail,
  RunList,
  RunStatusSchema,
  RunSummary,
  SCHEMAS,
  SendRunMessageRequest,
  SendRunMessageResponse,
  StartRunRequest,
  StartRunResponse,
  UpdateWebhookEndpointRequest,
  WebhookDelivery,
  WebhookDeliveryList,
  WebhookEndpoint,
  WebhookEndpointList,
  WebhookEndpointWithSecret,
} from './schemas.js';

/**
 * The OpenAPI 3.1 document served at GET /openapi.json. The bodies are the TypeBox schemas of
 * schemas.ts, the same ones POST /runs validates with and the tests check every response against;
 * what is written here is only the routes: paths, parameters, statuses and their wording.
 */

type Responses = Record<
  string,
  { description: string; content?: { 'application/json': { schema: TSchema } } }
>;

const Health = Type.Object({ status: Type.String() });

const json = (description: string, schema: TSchema) => ({
  description,
  content: { 'application/json': { schema } },
});
const error = (description: string) => json(description, Ref(ErrorBody));

/** The refusals every authenticated route can give. */
const common: Responses = {
  '401': error('Missing or invalid Bearer token.'),
  '405': error('Known path, other method (see the Allow header).'),
  '429': error('Rate limited.'),
  '500': error('Internal error; the details are logged, never sent.'),
};

const endpointIdParam = {
  name: 'endpoint_id',
  in: 'path',
  required: true,
  schema: Type.String(),
  description: 'A webhook endpoint id (whe_…).',
};

const jsonBody = (schema: TSchema, required = true) => ({
  required,
  content: { 'application/json': { schema } },
});

const runIdParam = {
  name: 'run_id',
  in: 'path',
  required: true,
  schema: Type.String(),
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
          description: DESCRIPTIONS.startRun,
          requestBody: {
            required: true,
            content: { 'application/json': { schema: Ref(StartRunRequest) } },
          },
          responses: {
            '201': json('Run created (status QUEUED).', Ref(StartRunResponse)),
            '200': json(
              'idempotency_key matched an earlier run; that run is returned.',
              Ref(StartRunResponse),
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
            { name: 'project_id', in: 'query', schema: Type.String() },
            {
              name: 'status',
              in: 'query',
              description: 'One or more statuses (repeat the parameter or separate with commas).',
              schema: Type.Array(Ref(RunStatusSchema)),
              style: 'form',
              explode: true,
            },
            { name: 'repository', in: 'query', schema: Type.String() },
            {
              name: 'limit',
              in: 'query',
              schema: Type.Integer({
                minimum: 1,
                maximum: options.maxPageSize,
                default: Math.min(20, options.maxPageSize),
              }),
            },
            {
              name: 'cursor',
              in: 'query',
              description: 'next_cursor of the previous page.',
              schema: Type.String(),
            },
          ],
          responses: {
            '200': json('A page of run summaries.', Ref(RunList)),
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
            '200': json('The run.', Ref(RunSummary)),
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
            '200': json('The run in detail.', Ref(RunDetail)),
            '404': error('No such run.'),
            ...common,
          },
        },
      },
      '/runs/{run_id}/cancel': {
        post: {
          operationId: 'cancelRun',
          summary: 'Cancel a run (GraphQL: cancelRun).',
          description: DESCRIPTIONS.cancelRun,
          parameters: [runIdParam],
          responses: {
            '200': json('The run, now CANCELLED.', Ref(RunSummary)),
            '404': error('No such run.'),
            '409': error('The run already ended (COMPLETED, FAILED or TIMED_OUT).'),
            ...common,
          },
        },
      },
      '/runs/{run_id}/messages': {
        post: {
          operationId: 'sendRunMessage',
          summary: 'Send a message to the agent (GraphQL: sendRunMessage).',
          description: DESCRIPTIONS.sendRunMessage,
          parameters: [runIdParam],
          requestBody: jsonBody(Ref(SendRunMessageRequest)),
          responses: {
            '202': json('Stored; the poller delivers it.', Ref(SendRunMessageResponse)),
            '404': error('No such run.'),
            '409': error('The run already ended.'),
            '422': error('Empty text, NUL characters or more than 100,000 characters.'),
            ...common,
          },
        },
      },
      '/webhook-endpoints': {
        post: {
          operationId: 'createWebhookEndpoint',
          summary: 'Subscribe a URL to run notifications (GraphQL: createWebhookEndpoint).',
          description: 'The whsec_ signing secret is in this answer only. See docs/notifications.md.',
          requestBody: jsonBody(Ref(CreateWebhookEndpointRequest)),
          responses: {
            '201': json('Endpoint created.', Ref(WebhookEndpointWithSecret)),
            '403': error('The token may not manage this project.'),
            '422': error(
              'A field is invalid (an http:// or internal URL, an unknown event); error.field names it.',
            ),
            ...common,
          },
        },
        get: {
          operationId: 'listWebhookEndpoints',
          summary: "A project's webhook endpoints (GraphQL: webhookEndpoints).",
          parameters: [{ name: 'project_id', in: 'query', required: true, schema: Type.String() }],
          responses: { '200': json('The endpoints, oldest first.', Ref(WebhookEndpointList)), ...common },
        },
      },
      '/webhook-endpoints/{endpoint_id}': {
        patch: {
          operationId: 'updateWebhookEndpoint',
          summary: 'Change URL or events, disable or re-enable (GraphQL: updateWebhookEndpoint).',
          parameters: [endpointIdParam],
          requestBody: jsonBody(Ref(UpdateWebhookEndpointRequest)),
          responses: {
            '200': json('The endpoint.', Ref(WebhookEndpoint)),
            '404': error('No such endpoint.'),
            '422': error('A field is invalid.'),
            ...common,
          },
        },
        delete: {
          operationId: 'deleteWebhookEndpoint',
          summary: 'Delete the endpoint and its delivery log (GraphQL: deleteWebhookEndpoint).',
          parameters: [endpointIdParam],
          responses: {
            '200': json('Deleted.', Type.Object({ id: Type.String(), deleted: Type.Boolean() })),
            '404': error('No such endpoint.'),
            ...common,
          },
        },
      },
      '/webhook-endpoints/{endpoint_id}/rotate-secret': {
        post: {
          operationId: 'rotateWebhookSecret',
          summary:
            'New signing secret; the old one also signs during the overlap (GraphQL: rotateWebhookSecret).',
          parameters: [endpointIdParam],
          requestBody: jsonBody(Ref(RotateWebhookSecretRequest), false),
          responses: {
            '200': json('The endpoint and its new secret (shown only here).', Ref(WebhookEndpointWithSecret)),
            '404': error('No such endpoint.'),
            ...common,
          },
        },
      },
      '/webhook-endpoints/{endpoint_id}/deliveries': {
        get: {
          operationId: 'listWebhookDeliveries',
          summary: "An endpoint's delivery log, newest first (GraphQL: webhookDeliveries).",
          parameters: [
            endpointIdParam,
            {
              name: 'limit',
              in: 'query',
              schema: Type.Integer({ minimum: 1, maximum: options.maxPageSize }),
            },
            { name: 'cursor', in: 'query', schema: Type.String() },
          ],
          responses: {
            '200': json('A page of deliveries.', Ref(WebhookDeliveryList)),
            '404': error('No such endpoint.'),
            ...common,
          },
        },
      },
      '/webhook-deliveries/{delivery_id}/redeliver': {
        post: {
          operationId: 'redeliverWebhook',
          summary: 'Send a delivery again, same webhook-id and body (GraphQL: redeliverWebhook).',
          parameters: [{ name: 'delivery_id', in: 'path', required: true, schema: Type.String() }],
          responses: {
            '200': json('The delivery, PENDING again.', Ref(WebhookDelivery)),
            '404': error('No such delivery.'),
            '409': error('The endpoint is disabled.'),
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
            '200': json('Working (OpenHands may be degraded).', Health),
            '503': json('Database unreachable.', Health),
          },
        },
      },
      '/openapi.json': {
        get: {
          operationId: 'openapi',
          summary: 'This document (public).',
          security: [],
          responses: {
            '200': json(
              'OpenAPI 3.1 document.',
              Type.Object({ openapi: Type.String(), paths: Type.Object({}) }),
            ),
          },
        },
      },
    },
  };
}

/**
 * The document as served: TypeBox's short component ids become OpenAPI references
 * (`"$ref": "RunStatus"` → `"#/components/schemas/RunStatus"`) and the `$id`s are left out.
 */
export function openApiText(document: ReturnType<typeof openApiDocument>): string {
  return JSON.stringify(document, (key, value) => {
    if (key === '$id') return undefined;
    if (key === '$ref' && typeof value === 'string' && !value.startsWith('#')) {
      return `#/components/schemas/${value}`;
    }
    return value;
  });
}
