import { badInput } from '../../errors.js';
import type { NotificationDelivery } from '../../notifications/store.js';
import { DELIVERY_STATUSES, type DeliveryStatus, type NotificationType } from '../../notifications/types.js';
import type { Page } from '../../runs/service.js';
import { builder } from '../builder.js';
import { WebhookEventTypeEnum } from './webhook-endpoint.js';

const WebhookDeliveryStatusEnum = builder.enumType('WebhookDeliveryStatus', {
  description:
    'PENDING: not yet delivered (retries continue for 24 hours). DELIVERED: answered 2xx. FAILED: gave up.',
  values: DELIVERY_STATUSES,
});

export const WebhookDeliveryType = builder.objectRef<NotificationDelivery>('WebhookDelivery').implement({
  description: 'One notification to one endpoint, and what its attempts came to.',
  fields: (t) => ({
    id: t.exposeID('id', {
      description: 'Also the webhook-id header: the same on every retry and redelivery.',
    }),
    endpointId: t.exposeID('endpointId'),
    runId: t.exposeID('runId'),
    seq: t.exposeInt('seq', { description: 'The run event that caused it.' }),
    type: t.field({ type: WebhookEventTypeEnum, resolve: (d) => d.type as NotificationType }),
    status: t.field({ type: WebhookDeliveryStatusEnum, resolve: (d) => d.status as DeliveryStatus }),
    attempts: t.exposeInt('attempts'),
    lastStatusCode: t.exposeInt('lastStatusCode', { nullable: true }),
    lastError: t.exposeString('lastError', { nullable: true }),
    lastAttemptAt: t.expose('lastAttemptAt', { type: 'DateTime', nullable: true }),
    nextAttemptAt: t.field({
      type: 'DateTime',
      nullable: true,
      resolve: (d) => (d.status === 'PENDING' ? d.nextAttemptAt : null),
    }),
    deliveredAt: t.expose('deliveredAt', { type: 'DateTime', nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    payload: t.field({ type: 'JSON', description: 'The body sent.', resolve: (d) => JSON.parse(d.payload) }),
  }),
});

const RedeliverWebhookPayload = builder
  .objectRef<{ delivery: NotificationDelivery }>('RedeliverWebhookPayload')
  .implement({
    fields: (t) => ({ delivery: t.field({ type: WebhookDeliveryType, resolve: (p) => p.delivery }) }),
  });

builder.queryFields((t) => ({
  webhookDeliveries: t.connection(
    {
      type: WebhookDeliveryType,
      description: "An endpoint's delivery log, newest first.",
      args: { endpointId: t.arg.id({ required: true }) },
      resolve: (_root, args, ctx) => {
        if (args.last != null || args.before != null) {
          throw badInput(
            args.last != null ? 'last' : 'before',
            'Only forward pagination (first/after) is supported',
          );
        }
        return ctx.services.notifications.deliveries(
          String(args.endpointId),
          { first: args.first, after: args.after },
          ctx.principal,
        );
      },
    },
    {
      name: 'WebhookDeliveryConnection',
      fields: (c) => ({ totalCount: c.int({ resolve: (page) => (page as Page<unknown>).totalCount() }) }),
    },
    { name: 'WebhookDeliveryEdge' },
  ),
}));

builder.mutationFields((t) => ({
  redeliverWebhook: t.field({
    type: RedeliverWebhookPayload,
    description:
      'Sends a delivered or failed notification again (same webhook-id and body), with a fresh retry schedule.',
    args: { deliveryId: t.arg.id({ required: true }) },
    resolve: async (_root, args, ctx) => ({
      delivery: await ctx.services.notifications.redeliver(String(args.deliveryId), ctx.principal),
    }),
  }),
}));
