import { bool, type Env, int, read } from './env.js';

/** Run notifications (signed outbound webhooks, docs/notifications.md). */
export interface NotificationsConfig {
  /** Send the outbox from this replica (every replica may; leases keep each delivery to one). */
  enabled: boolean;
  /** Endpoints may be http:// (otherwise https:// only). */
  allowHttp: boolean;
  /** Endpoints may resolve to loopback, private, link-local or metadata addresses. */
  allowPrivate: boolean;
  /** Encrypts endpoint secrets at rest (AES-256-GCM); unset stores them as they are. */
  secretKey: string | undefined;
  intervalMs: number;
  concurrency: number;
  leaseMs: number;
}

export function loadNotificationsConfig(env: Env): NotificationsConfig {
  return {
    enabled: bool(env, 'NOTIFY_ENABLED', true),
    allowHttp: bool(env, 'NOTIFY_ALLOW_HTTP', false),
    allowPrivate: bool(env, 'NOTIFY_ALLOW_PRIVATE', false),
    secretKey: read(env, 'NOTIFY_SECRET_KEY'),
    intervalMs: int(env, 'NOTIFY_POLL_INTERVAL_MS', 1000, 10, 60_000),
    concurrency: int(env, 'NOTIFY_CONCURRENCY', 16, 1, 256),
    leaseMs: int(env, 'NOTIFY_LEASE_MS', 60_000, 1000),
  };
}
