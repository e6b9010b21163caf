/** What a webhook endpoint can subscribe to; the payload's `type` is one of these names. */
export const NOTIFICATION_TYPES = [
  'RUN_STARTED',
  'RUN_AWAITING_INPUT',
  'RUN_COMPLETED',
  'RUN_FAILED',
  'RUN_CANCELLED',
  'RUN_TIMED_OUT',
  'PULL_REQUEST_CHANGED',
] as const;
export type NotificationType = (typeof NOTIFICATION_TYPES)[number];

export const DELIVERY_STATUSES = ['PENDING', 'DELIVERED', 'FAILED'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

export function isNotificationType(value: string): value is NotificationType {
  return (NOTIFICATION_TYPES as readonly string[]).includes(value);
}
