import type { WebhookEndpoint } from '../../notifications/store.js';
import { NOTIFICATION_TYPES, type NotificationType } from '../../notifications/types.js';
import { builder } from '../builder.js';

export const WebhookEventTypeEnum = builder.enumType('WebhookEventType', {
  description:
    'What a webhook endpoint is told about; the payload\'s "type". RUN_STARTED: the run left QUEUED (its conversation exists on OpenHands). RUN_AWAITING_INPUT: each time the agent waits for an answer. RUN_COMPLETED, RUN_FAILED, RUN_CANCELLED, RUN_TIMED_OUT: the run ended so. PULL_REQUEST_CHANGED: a pull request was attached, updated, merged or closed.',
  values: NOTIFICATION_TYPES,
});

export const WebhookEndpointType = builder.objectRef<WebhookEndpoint>('WebhookEndpoint').implement({
  description:
    'Where run notifications of a project are POSTed, signed per Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature). The secret is shown only by createWebhookEndpoint and rotateWebhookSecret.',
  fields: (t) => ({
    id: t.exposeID('id'),
    projectId: t.exposeString('projectId'),
    runId: t.exposeString('runId', {
      nullable: true,
      description:
        "Set on a run's own destination (startRun notifyUrl): it receives that run's notifications only.",
    }),
    url: t.exposeString('url'),
    events: t.field({ type: [WebhookEventTypeEnum], resolve: (e) => e.events as NotificationType[] }),
    enabled: t.exposeBoolean('enabled'),
    disabledReason: t.exposeString('disabledReason', {
      nullable: true,
      description: 'Why the endpoint stopped receiving (a 410 answer, days of failures, a client).',
    }),
    failingSince: t.expose('failingSince', {
      type: 'DateTime',
      nullable: true,
      description: 'Set while deliveries fail; an endpoint failing for 5 days is disabled.',
    }),
    previousSecretExpiresAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'Until then the secret before the last rotation signs too.',
      resolve: (e) =>
        e.previousSecretExpiresAt && e.previousSecretExpiresAt > new Date()
          ? e.previousSecretExpiresAt
          : null,
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

const CreateWebhookEndpointInput = builder.inputType('CreateWebhookEndpointInput', {
  fields: (t) => ({
    projectId: t.string({ required: true }),
    url: t.string({
      required: true,
      description: 'https:// (http:// only with NOTIFY_ALLOW_HTTP); internal addresses are refused.',
    }),
    events: t.field({ type: [WebhookEventTypeEnum], required: true }),
  }),
});

const UpdateWebhookEndpointInput = builder.inputType('UpdateWebhookEndpointInput', {
  fields: (t) => ({
    id: t.id({ required: true }),
    url: t.string(),
    events: t.field({ type: [WebhookEventTypeEnum] }),
    enabled: t.boolean({ description: 'true re-enables a disabled endpoint and clears its reason.' }),
  }),
});

const WebhookSecretPayload = (name: string, description: string) =>
  builder.objectRef<{ endpoint: WebhookEndpoint; secret: string }>(name).implement({
    fields: (t) => ({
      endpoint: t.field({ type: WebhookEndpointType, resolve: (p) => p.endpoint }),
      secret: t.exposeString('secret', { description }),
    }),
  });

const CreateWebhookEndpointPayload = WebhookSecretPayload(
  'CreateWebhookEndpointPayload',
  'The whsec_ signing secret. Shown only here: store it now.',
);
const RotateWebhookSecretPayload = WebhookSecretPayload(
  'RotateWebhookSecretPayload',
  'The new whsec_ signing secret. Shown only here; the old one also signs until endpoint.previousSecretExpiresAt.',
);

const UpdateWebhookEndpointPayload = builder
  .objectRef<{ endpoint: WebhookEndpoint }>('UpdateWebhookEndpointPayload')
  .implement({
    fields: (t) => ({ endpoint: t.field({ type: WebhookEndpointType, resolve: (p) => p.endpoint }) }),
  });

const DeleteWebhookEndpointPayload = builder
  .objectRef<{ id: string; deleted: boolean }>('DeleteWebhookEndpointPayload')
  .implement({
    fields: (t) => ({
      id: t.exposeID('id'),
      deleted: t.exposeBoolean('deleted'),
    }),
  });

builder.queryFields((t) => ({
  webhookEndpoints: t.field({
    type: [WebhookEndpointType],
    description: "A project's webhook endpoints, oldest first (empty for a project the token may not see).",
    args: { projectId: t.arg.string({ required: true }) },
    resolve: (_root, args, ctx) => ctx.services.notifications.list(args.projectId, ctx.principal),
  }),
}));

builder.mutationFields((t) => ({
  createWebhookEndpoint: t.field({
    type: CreateWebhookEndpointPayload,
    description:
      'Subscribes a URL to run notifications of a project. The signing secret is returned only here.',
    args: { input: t.arg({ type: CreateWebhookEndpointInput, required: true }) },
    resolve: (_root, { input }, ctx) => ctx.services.notifications.create(input, ctx.principal),
  }),
  updateWebhookEndpoint: t.field({
    type: UpdateWebhookEndpointPayload,
    description: 'Changes the URL or events, or disables / re-enables the endpoint.',
    args: { input: t.arg({ type: UpdateWebhookEndpointInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      endpoint: await ctx.services.notifications.update({ ...input, id: String(input.id) }, ctx.principal),
    }),
  }),
  deleteWebhookEndpoint: t.field({
    type: DeleteWebhookEndpointPayload,
    description: 'Deletes the endpoint and its delivery log.',
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, args, ctx) => ({
      id: String(args.id),
      deleted: await ctx.services.notifications.delete(String(args.id), ctx.principal),
    }),
  }),
  rotateWebhookSecret: t.field({
    type: RotateWebhookSecretPayload,
    description:
      'Issues a new signing secret. During the overlap (default 86400 s, at most 7 days) deliveries carry a signature by each secret.',
    args: { id: t.arg.id({ required: true }), overlapSeconds: t.arg.int() },
    resolve: (_root, args, ctx) =>
      ctx.services.notifications.rotate(String(args.id), args.overlapSeconds, ctx.principal),
  }),
}));
