import {
  FormatRegistry,
  Kind,
  type Static,
  type TSchema,
  type TUnsafe,
  Type,
  TypeRegistry,
} from '@sinclair/typebox';
import { DESCRIPTIONS } from '../api/descriptions.js';
import { DELIVERY_STATUSES, NOTIFICATION_TYPES } from '../notifications/types.js';
import { RUN_STATUSES, type RunStatus } from '../runs/status.js';
import { GIT_PROVIDERS, LIMITS } from '../runs/validation.js';

/**
 * The REST bodies, in and out, as TypeBox schemas: JSON Schema (what /openapi.json publishes),
 * TypeScript types (Static<>), and the validator POST /runs runs its body through, all from one
 * definition. Components carry a short `$id` ("RunStatus"); `Ref` points at it, and the document
 * rewrites both into OpenAPI's `#/components/schemas/…` form (see openapi.ts).
 */

// The old clients parse exactly what Date#toISOString gives: UTC with a trailing Z.
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
FormatRegistry.Set('date-time', (value) => ISO_UTC.test(value));

// A plain {"type":"string","enum":[…]} (TypeBox's own Union of Literals would publish an anyOf of consts).
TypeRegistry.Set<{ enum: readonly string[] }>('StringEnum', (schema, value) =>
  schema.enum.includes(value as string),
);
function StringEnum<T extends readonly string[]>(values: T, options: { $id?: string; description?: string }) {
  return Type.Unsafe<T[number]>({ [Kind]: 'StringEnum', type: 'string', enum: values, ...options });
}

/** A reference to a component, typed as the component. */
export function Ref<T extends TSchema>(schema: T): TUnsafe<Static<T>> {
  if (!schema.$id) throw new Error('Only a component (a schema with an $id) can be referenced');
  return Type.Unsafe<Static<T>>(Type.Ref(schema.$id));
}

function Nullable<T extends TSchema>(schema: T, options: { description?: string } = {}) {
  return Type.Union([schema, Type.Null()], options);
}

const time = (options: { description?: string } = {}) =>
  Type.String({ format: 'date-time', description: 'ISO-8601, UTC, ending in Z.', ...options });
const runId = () => Type.String({ pattern: '^run_' });
const percent = (description?: string) => Type.Integer({ minimum: 0, maximum: 100, description });
// Any JSON object (never an array: TypeBox's default policy refuses arrays as objects).
const jsonObject = () => Type.Object({});

export const RunStatusSchema = StringEnum(RUN_STATUSES as readonly RunStatus[], {
  $id: 'RunStatus',
  description: DESCRIPTIONS.runStatus,
});

export const StartRunRequest = Type.Object(
  {
    project_id: Type.String({ maxLength: LIMITS.projectId, description: 'Non-empty.' }),
    compiled_prompt: Type.String({ maxLength: LIMITS.compiledPrompt, description: 'Non-empty.' }),
    repository: Type.Optional(
      Nullable(Type.String({ maxLength: LIMITS.repository }), { description: DESCRIPTIONS.repository }),
    ),
    metadata: Type.Optional(
      Nullable(jsonObject(), {
        description: `${DESCRIPTIONS.metadata} At most ${LIMITS.metadataBytes} bytes and ${LIMITS.metadataDepth} levels deep, no NUL or unpaired surrogate in any key or string; metadata.branch is honoured as the branch.`,
      }),
    ),
    branch: Type.Optional(
      Nullable(Type.String({ maxLength: LIMITS.branch }), {
        description: `A valid git branch name; needs repository. ${DESCRIPTIONS.branch}`,
      }),
    ),
    idempotency_key: Type.Optional(
      Nullable(Type.String({ maxLength: LIMITS.idempotencyKey }), {
        description: `${DESCRIPTIONS.idempotencyKey} Such a repeat is answered 200 instead of 201.`,
      }),
    ),
    git_provider: Type.Optional(
      Nullable(Type.String(), {
        description: `One of ${GIT_PROVIDERS.join(', ')} (any case); guessed from repository when absent.`,
      }),
    ),
    notify_url: Type.Optional(
      Nullable(Type.String({ maxLength: 2048 }), {
        description: DESCRIPTIONS.notifyUrl.replace('notifySecret', 'notify_secret'),
      }),
    ),
  },
  { $id: 'StartRunRequest', description: 'Unknown fields are ignored (as the old pydantic model did).' },
);

export const StartRunResponse = Type.Object(
  {
    run_id: runId(),
    status: Ref(RunStatusSchema),
    notify_secret: Type.Optional(
      Type.String({
        description:
          "With notify_url only: the whsec_ secret that signs this run's notifications, returned only here (and to idempotent replays).",
      }),
    ),
    notify_endpoint_id: Type.Optional(
      Type.String({
        description:
          'With notify_url only: the webhook endpoint delivering to it (GET /webhook-endpoints/{id}/deliveries).',
      }),
    ),
  },
  { $id: 'StartRunResponse' },
);

const summaryFields = {
  run_id: runId(),
  project_id: Type.String(),
  status: Ref(RunStatusSchema),
  percent: percent(DESCRIPTIONS.percent),
  created_at: time(),
  updated_at: time(),
  metadata: Nullable(jsonObject()),
};

export const RunSummary = Type.Object(summaryFields, { $id: 'RunSummary' });

export const RunError = Type.Object(
  {
    code: Type.String({ description: DESCRIPTIONS.errorCode }),
    message: Type.String(),
    retryable: Type.Boolean({ description: DESCRIPTIONS.errorRetryable }),
  },
  { $id: 'RunError' },
);

export const PullRequest = Type.Object(
  {
    provider: Type.String(),
    url: Type.String(),
    number: Nullable(Type.Integer()),
    state: Type.String({ description: DESCRIPTIONS.pullRequestState }),
    head_branch: Nullable(Type.String()),
    head_sha: Nullable(Type.String()),
  },
  { $id: 'PullRequest' },
);

export const RunEvent = Type.Object(
  {
    seq: Type.Integer({ minimum: 1 }),
    type: Type.String({ description: DESCRIPTIONS.eventType }),
    status: Ref(RunStatusSchema),
    percent: percent(),
    phase: Type.String(),
    message: Nullable(Type.String()),
    data: Type.Unknown(),
    at: time(),
  },
  { $id: 'RunEvent', description: DESCRIPTIONS.runEvent },
);

export const ChangedFile = Type.Object(
  {
    path: Type.String({ description: 'Relative to the repository.' }),
    change: Type.Union([
      Type.Literal('ADDED'),
      Type.Literal('MODIFIED'),
      Type.Literal('DELETED'),
      Type.Literal('RENAMED'),
    ]),
  },
  { $id: 'ChangedFile' },
);

export const RunOutcome = Type.Object(
  {
    summary: Nullable(Type.String({ description: "The agent's final answer." })),
    changed_files: Nullable(Type.Array(Ref(ChangedFile)), {
      description: 'Null when OpenHands could not say.',
    }),
    fetched_at: time(),
  },
  { $id: 'RunOutcome', description: DESCRIPTIONS.outcome },
);

export const SendRunMessageRequest = Type.Object(
  {
    text: Type.String({ minLength: 1, maxLength: 100_000, description: 'The message to the agent.' }),
    idempotency_key: Type.Optional(
      Nullable(
        Type.String({ maxLength: 255, description: 'Same key on the same run → the same message, once.' }),
      ),
    ),
  },
  { $id: 'SendRunMessageRequest' },
);

export const SendRunMessageResponse = Type.Object(
  {
    run_id: runId(),
    seq: Type.Integer({ minimum: 1, description: 'The seq of the USER_MESSAGE event.' }),
  },
  { $id: 'SendRunMessageResponse' },
);

export const RunDetail = Type.Object(
  {
    ...summaryFields,
    repository: Nullable(Type.String()),
    branch: Nullable(Type.String()),
    git_provider: Nullable(Type.String()),
    phase: Type.String({ description: DESCRIPTIONS.phase }),
    conversation_id: Nullable(Type.String()),
    error: Nullable(Ref(RunError)),
    pull_request: Nullable(Ref(PullRequest)),
    started_at: Nullable(time()),
    finished_at: Nullable(time()),
    question: Nullable(Type.String({ description: DESCRIPTIONS.question })),
    outcome: Nullable(Ref(RunOutcome)),
    events: Type.Array(Ref(RunEvent), { description: 'The whole timeline, oldest first.' }),
    events_truncated: Type.Boolean({ description: 'True when the timeline was cut at 10 000 events.' }),
  },
  { $id: 'RunDetail' },
);

export const RunList = Type.Object(
  {
    runs: Type.Array(Ref(RunSummary), { description: DESCRIPTIONS.runs }),
    next_cursor: Nullable(Type.String(), {
      description: 'Pass as cursor for the next page; null on the last.',
    }),
  },
  { $id: 'RunList' },
);

// ── Run notifications (webhook endpoints) ────────────────────────────────────────────────────────

export const WebhookEventTypeSchema = StringEnum(NOTIFICATION_TYPES, {
  $id: 'WebhookEventType',
  description: 'What an endpoint is told about (docs/notifications.md); the payload\'s "type".',
});

export const WebhookEndpoint = Type.Object(
  {
    id: Type.String(),
    project_id: Type.String(),
    run_id: Nullable(
      Type.String({ description: "Set on a run's own destination (notify_url of POST /runs)." }),
    ),
    url: Type.String(),
    events: Type.Array(Ref(WebhookEventTypeSchema)),
    enabled: Type.Boolean(),
    disabled_reason: Nullable(Type.String()),
    failing_since: Nullable(time()),
    previous_secret_expires_at: Nullable(time({ description: 'Until then the previous secret signs too.' })),
    created_at: time(),
    updated_at: time(),
  },
  { $id: 'WebhookEndpoint' },
);

export const CreateWebhookEndpointRequest = Type.Object(
  {
    project_id: Type.String({ maxLength: LIMITS.projectId }),
    url: Type.String({ maxLength: 2048, description: 'https:// (http:// only with NOTIFY_ALLOW_HTTP).' }),
    events: Type.Array(Ref(WebhookEventTypeSchema), { minItems: 1 }),
  },
  { $id: 'CreateWebhookEndpointRequest' },
);

export const UpdateWebhookEndpointRequest = Type.Object(
  {
    url: Type.Optional(Type.String({ maxLength: 2048 })),
    events: Type.Optional(Type.Array(Ref(WebhookEventTypeSchema), { minItems: 1 })),
    enabled: Type.Optional(Type.Boolean({ description: 'true re-enables a disabled endpoint.' })),
  },
  { $id: 'UpdateWebhookEndpointRequest' },
);

export const RotateWebhookSecretRequest = Type.Object(
  {
    overlap_seconds: Type.Optional(
      Type.Integer({ minimum: 0, maximum: 7 * 24 * 3600, description: 'Default 86400.' }),
    ),
  },
  { $id: 'RotateWebhookSecretRequest' },
);

export const WebhookEndpointWithSecret = Type.Object(
  {
    endpoint: Ref(WebhookEndpoint),
    secret: Type.String({ description: 'The whsec_ signing secret, shown only in this answer.' }),
  },
  { $id: 'WebhookEndpointWithSecret' },
);

export const WebhookEndpointList = Type.Object(
  { endpoints: Type.Array(Ref(WebhookEndpoint)) },
  { $id: 'WebhookEndpointList' },
);

export const WebhookDelivery = Type.Object(
  {
    id: Type.String({ description: 'Also the webhook-id header.' }),
    endpoint_id: Type.String(),
    run_id: runId(),
    seq: Type.Integer({ minimum: 1 }),
    type: Ref(WebhookEventTypeSchema),
    status: StringEnum(DELIVERY_STATUSES, {}),
    attempts: Type.Integer({ minimum: 0 }),
    last_status_code: Nullable(Type.Integer()),
    last_error: Nullable(Type.String()),
    last_attempt_at: Nullable(time()),
    next_attempt_at: Nullable(time()),
    delivered_at: Nullable(time()),
    created_at: time(),
  },
  { $id: 'WebhookDelivery' },
);

export const WebhookDeliveryList = Type.Object(
  {
    deliveries: Type.Array(Ref(WebhookDelivery), { description: 'Newest first.' }),
    next_cursor: Nullable(Type.String()),
  },
  { $id: 'WebhookDeliveryList' },
);

export const ErrorBody = Type.Object(
  {
    error: Type.Object(
      {
        code: Type.String({
          description:
            'BAD_REQUEST, BAD_USER_INPUT, UNAUTHENTICATED, FORBIDDEN, NOT_FOUND, METHOD_NOT_ALLOWED, CONFLICT, PAYLOAD_TOO_LARGE, UNSUPPORTED_MEDIA_TYPE, RATE_LIMITED, INTERNAL_SERVER_ERROR',
        }),
        message: Type.String(),
        field: Type.Optional(
          Type.String({ description: 'The offending field (snake_case), for BAD_USER_INPUT.' }),
        ),
      },
      { additionalProperties: false },
    ),
  },
  {
    $id: 'Error',
    description: 'Nothing else is ever sent: no stack traces, no internal details.',
    additionalProperties: false,
  },
);

/** components.schemas of the document, by name; also the references `Ref`s resolve against. */
export const SCHEMAS = {
  RunStatus: RunStatusSchema,
  StartRunRequest,
  StartRunResponse,
  RunSummary,
  RunError,
  PullRequest,
  RunEvent,
  ChangedFile,
  RunOutcome,
  SendRunMessageRequest,
  SendRunMessageResponse,
  RunDetail,
  RunList,
  WebhookEventType: WebhookEventTypeSchema,
  WebhookEndpoint,
  CreateWebhookEndpointRequest,
  UpdateWebhookEndpointRequest,
  RotateWebhookSecretRequest,
  WebhookEndpointWithSecret,
  WebhookEndpointList,
  WebhookDelivery,
  WebhookDeliveryList,
  Error: ErrorBody,
};
export const REFERENCES: TSchema[] = Object.values(SCHEMAS);

export type StartRunRequest = Static<typeof StartRunRequest>;
export type StartRunResponse = Static<typeof StartRunResponse>;
export type RunSummary = Static<typeof RunSummary>;
export type RunEvent = Static<typeof RunEvent>;
export type RunDetail = Static<typeof RunDetail>;
export type RunOutcome = Static<typeof RunOutcome>;
export type SendRunMessageResponse = Static<typeof SendRunMessageResponse>;
export type RunList = Static<typeof RunList>;
export type WebhookEndpoint = Static<typeof WebhookEndpoint>;
export type WebhookDelivery = Static<typeof WebhookDelivery>;
