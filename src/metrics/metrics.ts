import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { NotificationStore } from '../notifications/store.js';
import { DELIVERY_STATUSES } from '../notifications/types.js';
import type { AttemptOutcome } from '../notifications/worker.js';
import { RUN_STATUSES } from '../runs/status.js';
import type { RunStore } from '../runs/store/index.js';
import type { DeliveryStore } from '../webhooks/delivery-store.js';

const PREFIX = 'openhands_runner_';
const DB_TIMEOUT_MS = 2000;

export interface MetricsSources {
  runs: Pick<RunStore, 'countRunsByStatus' | 'pollLagSeconds'>;
  deliveries: Pick<DeliveryStore, 'countByOutcome'>;
  notifications: Pick<NotificationStore, 'stats'>;
  /** Open GraphQL subscriptions (graphql-ws and SSE) on this replica. */
  openSubscriptions: () => number;
  /** Open WebSocket connections on this replica. */
  websocketConnections: () => number;
}

/**
 * The Prometheus registry of one service instance (own registry, so several instances in one test
 * process do not collide). Counters and histograms move as things happen; database-wide numbers
 * (runs by status, poll lag, webhook deliveries) are read at scrape time, so every replica reports
 * the same global values — aggregate them with max(), not sum().
 */
export class Metrics {
  readonly registry = new Registry();
  private sources: MetricsSources | undefined;

  readonly graphqlOperations = new Counter({
    name: `${PREFIX}graphql_operations_total`,
    help: 'GraphQL operations by type, first root field and outcome (ok, error, rejected = refused before execution).',
    labelNames: ['type', 'field', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly graphqlDuration = new Histogram({
    name: `${PREFIX}graphql_operation_duration_seconds`,
    help: 'Execution time of GraphQL queries and mutations (subscriptions: until the stream is set up).',
    labelNames: ['type', 'field'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly openhandsRequests = new Counter({
    name: `${PREFIX}openhands_requests_total`,
    help: 'HTTP calls to OpenHands by endpoint and outcome (2xx, 4xx, 429, 5xx, network).',
    labelNames: ['route', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly openhandsDuration = new Histogram({
    name: `${PREFIX}openhands_request_duration_seconds`,
    help: 'Latency of HTTP calls to OpenHands by endpoint and outcome.',
    labelNames: ['route', 'outcome'] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly rateLimited = new Counter({
    name: `${PREFIX}rate_limited_total`,
    help: 'Refused by a per-token limit: limit="mutations" or "queries" (rate) or "connections" (open WebSockets).',
    labelNames: ['limit'] as const,
    registers: [this.registry],
  });
  readonly pushesReceived = new Counter({
    name: `${PREFIX}openhands_pushes_total`,
    help: 'Agent-server pushes received by this replica: route (events, conversations) and outcome (accepted, ignored = no run follows the conversation, rejected).',
    labelNames: ['route', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly pushEvents = new Counter({
    name: `${PREFIX}openhands_push_events_total`,
    help: 'Pushed events by outcome: applied (a newer execution_status), duplicate (the status applied last, again), stale (older than one applied), activity (not a status event), ignored (no run).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly pushesRejected = new Counter({
    name: `${PREFIX}openhands_push_rejected_total`,
    help: 'Agent-server pushes refused, by reason (not_configured, unauthenticated, session_key, too_large, invalid_json, invalid_payload).',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  private readonly runs = new Gauge({
    name: `${PREFIX}runs`,
    help: 'Runs in the database by status.',
    labelNames: ['status'] as const,
    registers: [this.registry],
  });
  private readonly pollLag = new Gauge({
    name: `${PREFIX}poll_lag_seconds`,
    help: 'How long the oldest run due for a poll has been waiting for one (0 when none is due).',
    registers: [this.registry],
  });
  private readonly webhookDeliveries = new Gauge({
    name: `${PREFIX}webhook_deliveries`,
    help: 'Webhook deliveries recorded in the database by provider and outcome (refused deliveries are not recorded).',
    labelNames: ['provider', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly notificationAttempts = new Counter({
    name: `${PREFIX}notification_attempts_total`,
    help: 'Outbound run-notification attempts by this replica: outcome (delivered, retry, failed) and result (2xx, 4xx, 410, 429, 5xx, network, refused, secret).',
    labelNames: ['outcome', 'result'] as const,
    registers: [this.registry],
  });
  private readonly notificationDeliveries = new Gauge({
    name: `${PREFIX}notification_deliveries`,
    help: 'Run-notification deliveries in the outbox by status (PENDING is the queue depth).',
    labelNames: ['status'] as const,
    registers: [this.registry],
  });
  private readonly notificationOldestPending = new Gauge({
    name: `${PREFIX}notification_oldest_pending_seconds`,
    help: 'Age of the oldest pending run-notification delivery (0 when none is pending).',
    registers: [this.registry],
  });
  private readonly databaseUp = new Gauge({
    name: `${PREFIX}database_up`,
    help: '1 when the last scrape could read the database, else 0 (database gauges then keep old values).',
    registers: [this.registry],
  });
  private readonly subscriptions = new Gauge({
    name: `${PREFIX}open_subscriptions`,
    help: 'Open GraphQL subscriptions on this replica.',
    registers: [this.registry],
  });
  private readonly websockets = new Gauge({
    name: `${PREFIX}websocket_connections`,
    help: 'Open graphql-ws connections on this replica.',
    registers: [this.registry],
  });

  readonly subscriptionEvents = new Counter({
    name: `${PREFIX}subscription_events_total`,
    help: 'Subscription events sent to subscribers; render="own" were executed for them, "shared" reused a render of the same event and selection.',
    labelNames: ['render'] as const,
    registers: [this.registry],
  });
  /** useSharedSubscriptionRender's hook. */
  readonly onSubscriptionEvent = (shared: boolean): void => {
    this.subscriptionEvents.inc({ render: shared ? 'shared' : 'own' });
  };

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: PREFIX });
  }

  /** Set once the app has built what the scrape reads. */
  attach(sources: MetricsSources): void {
    this.sources = sources;
  }

  /** OpenHandsHttp's onRequest hook. */
  readonly onOpenHandsRequest = (info: { route: string; status: number | 'error'; ms: number }): void => {
    const outcome =
      info.status === 'error'
        ? 'network'
        : info.status === 429
          ? '429'
          : `${Math.floor(info.status / 100)}xx`;
    this.openhandsRequests.inc({ route: info.route, outcome });
    this.openhandsDuration.observe({ route: info.route, outcome }, info.ms / 1000);
  };

  /** DeliveryWorker's hook. */
  readonly onNotificationAttempt = (attempt: AttemptOutcome): void => {
    this.notificationAttempts.inc({ outcome: attempt.outcome, result: attempt.result });
  };

  /** The text for GET /metrics. */
  async render(): Promise<{ contentType: string; body: string }> {
    if (this.sources) {
      this.subscriptions.set(this.sources.openSubscriptions());
      this.websockets.set(this.sources.websocketConnections());
      this.databaseUp.set((await this.readDatabase(this.sources)) ? 1 : 0);
    }
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  private async readDatabase(sources: MetricsSources): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('timeout')), DB_TIMEOUT_MS);
    });
    try {
      const [byStatus, lag, deliveries, notifications] = await Promise.race([
        Promise.all([
          sources.runs.countRunsByStatus(),
          sources.runs.pollLagSeconds(),
          sources.deliveries.countByOutcome(),
          sources.notifications.stats(),
        ]),
        timeout,
      ]);
      // Every status is always present, so a series drops to 0 instead of vanishing.
      for (const status of RUN_STATUSES) this.runs.set({ status }, 0);
      for (const row of byStatus) this.runs.set({ status: row.status }, row.count);
      this.pollLag.set(lag);
      this.webhookDeliveries.reset();
      for (const row of deliveries) {
        this.webhookDeliveries.set({ provider: row.provider, outcome: row.outcome }, row.count);
      }
      for (const status of DELIVERY_STATUSES) this.notificationDeliveries.set({ status }, 0);
      for (const row of notifications.byStatus)
        this.notificationDeliveries.set({ status: row.status }, row.count);
      this.notificationOldestPending.set(notifications.oldestPendingSeconds);
      return true;
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
    }
  }
}
