import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RevocationWatch } from './auth/revocation.js';
import { TokenStore } from './auth/token-store.js';
import { ensureBootstrapToken, TokenVerifier } from './auth/tokens.js';
import type { Config } from './config/service.js';
import { useSharedSubscriptionRender } from './graphql/shared-render.js';
import { attachWebSocket } from './graphql/websocket.js';
import { createGraphQL } from './graphql/yoga.js';
import { refuseOversizedBody } from './http/body.js';
import { applyCors } from './http/cors.js';
import { dashboardRoutes } from './http/dashboard.js';
import { health, ready } from './http/health.js';
import { sendError } from './http/respond.js';
import { Router } from './http/router.js';
import { capSubscriptionEvent, useCsrfPrevention, useOperationLimits } from './limits/graphql.js';
import { mutationLimiter, queryLimiter } from './limits/rate-limiter.js';
import { LocalBus, type NoticeBus, PgListenBus } from './live/bus.js';
import { RunFeeds } from './live/feeds.js';
import { RedisBus } from './live/redis-bus.js';
import { Subscriptions } from './live/subscriptions.js';
import { withRequestId } from './log-context.js';
import { createLogger, type Logger } from './logger.js';
import { useGraphQLMetrics } from './metrics/graphql.js';
import { Metrics } from './metrics/metrics.js';
import { metricsRoute } from './metrics/route.js';
import { writeOutbox } from './notifications/outbox.js';
import { SecretBox } from './notifications/secrets.js';
import { NotificationService } from './notifications/service.js';
import { NotificationStore } from './notifications/store.js';
import { DeliveryWorker, DISABLE_AFTER_MS } from './notifications/worker.js';
import { OpenHandsClient } from './openhands/client.js';
import { PushActivity } from './push/activity.js';
import { pushRoutes } from './push/routes.js';
import { PushService } from './push/service.js';
import { DEFAULT_BODY_LIMIT } from './rest/body.js';
import { restRoutes } from './rest/routes.js';
import { Poller } from './runs/poller.js';
import { RunService } from './runs/service.js';
import { RunStore } from './runs/store/index.js';
import { type Database, openDatabase } from './storage/database.js';
import { DATABASE_INPUT_MESSAGE, isDatabaseInputError } from './storage/input-errors.js';
import { pingDatabase } from './storage/ping.js';
import { DeliveryStore } from './webhooks/delivery-store.js';
import { DeliveryRetention } from './webhooks/retention.js';
import { webhookRoutes } from './webhooks/routes.js';
import { WebhookService } from './webhooks/service.js';

export const VERSION: string = JSON.parse(
  readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
).version;

export interface AppOptions {
  log?: Logger;
  /** Identifies this instance in poller leases; random by default. */
  instanceId?: string;
  /** Base delay between OpenHands retries (tests shorten it). */
  retryBaseMs?: number;
  /** Multiplies the notification retry schedule (5 s, 30 s, … for 24 h); tests shorten it. */
  notifyRetryScale?: number;
  /** How long an endpoint may fail before it is disabled (5 days); tests shorten it. */
  notifyDisableAfterMs?: number;
  /** Where the built dashboard is (dashboard/dist); tests build their own copy. */
  dashboardDir?: string;
}

export interface App {
  readonly config: Config;
  readonly database: Database;
  readonly store: RunStore;
  readonly runs: RunService;
  readonly poller: Poller;
  readonly notifications: NotificationService;
  readonly deliveryWorker: DeliveryWorker;
  readonly live: Subscriptions;
  readonly openhands: OpenHandsClient;
  readonly metrics: Metrics;
  readonly log: Logger;
  /** A token created on this start because none was configured; print it once. */
  readonly bootstrapToken: string | null;
  start(port?: number, host?: string): Promise<{ url: string; port: number }>;
  stop(): Promise<void>;
}

/** Builds the whole service (database, poller, HTTP with GraphQL) without starting it. */
export async function buildApp(config: Config, options: AppOptions = {}): Promise<App> {
  const log = options.log ?? createLogger(config.logLevel);
  const instanceId = options.instanceId ?? `${process.pid}-${randomBytes(4).toString('hex')}`;
  const database = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir });
  if (database.appliedMigrations.length)
    log.info({ migrations: database.appliedMigrations }, 'migrations applied');
  const prisma = database.prisma;
  const ops = config.ops;
  const metrics = new Metrics();
  if (ops.metricsTokenRequired && !ops.metricsToken)
    log.warn('GET /metrics answers 403 until METRICS_TOKEN is set (NODE_ENV=production)');

  // PostgreSQL: NOTIFY in each write transaction, LISTEN here, so every replica hears every write.
  // Embedded: a single process, so the store's after-commit callback is enough.
  const usePgNotify = database.kind === 'postgres' && !config.redis.url;
  // The notification outbox is written inside every run transition's transaction.
  const store = new RunStore(prisma, usePgNotify, writeOutbox);
  const bus = createBus(config, store, usePgNotify, log);
  await waitForBus(bus, log);
  const feeds = new RunFeeds(store, bus);
  const deliveries = new DeliveryStore(prisma);
  const openhands = new OpenHandsClient({
    baseUrl: config.openhands.baseUrl,
    token: config.openhands.token,
    apiVersion: config.openhands.apiVersion,
    timeoutMs: config.openhands.requestTimeoutMs,
    maxRetries: config.openhands.maxRetries,
    maxRequestsPerSecond: config.openhands.maxRequestsPerSecond,
    retryBaseMs: options.retryBaseMs,
    onRequest: metrics.onOpenHandsRequest,
  });
  const poller = new Poller(
    store,
    openhands,
    { owner: instanceId, ...config.poller },
    log.child({ component: 'poller' }),
  );
  // One bucket per token for every mutation, whichever service it reaches.
  const limitMutations = mutationLimiter(ops.limits.mutationsPerMinute, ops.limits.mutationBurst, () =>
    metrics.rateLimited.inc({ limit: 'mutations' }),
  );
  const notify = config.notifications;
  const secretBox = new SecretBox(notify.secretKey);
  const notificationStore = new NotificationStore(prisma);
  const deliveryWorker = new DeliveryWorker(
    notificationStore,
    secretBox,
    {
      owner: instanceId,
      intervalMs: notify.intervalMs,
      concurrency: notify.concurrency,
      leaseMs: notify.leaseMs,
      allowPrivate: notify.allowPrivate,
      schedule: { scale: options.notifyRetryScale ?? 1 },
      disableAfterMs: options.notifyDisableAfterMs ?? DISABLE_AFTER_MS,
    },
    log.child({ component: 'notifications' }),
    metrics.onNotificationAttempt,
  );
  // A change committed here may have queued a notification: look now rather than at the next round.
  store.onEvents(() => deliveryWorker.wake());
  // A push or a forge webhook that ended a run here left its outcome to read: the poller, now.
  store.onEvents(({ run }) => {
    if (run.outcomePending) poller.wake();
  });
  const notifications = new NotificationService(notificationStore, secretBox, {
    allowHttp: notify.allowHttp,
    allowPrivate: notify.allowPrivate,
    maxPageSize: config.maxPageSize,
    limitMutations,
    onWork: () => deliveryWorker.wake(),
  });
  const runs = new RunService(store, {
    maxPageSize: config.maxPageSize,
    onWork: () => poller.wake(),
    limitMutations,
    notifyTargets: notifications.runTargets,
  });
  const tokenStore = new TokenStore(prisma);
  const tokens = new TokenVerifier(tokenStore, config.apiTokens, config.authDisabled);
  const bootstrapToken = await ensureBootstrapToken(tokenStore, config.apiTokens, config.authDisabled);
  const live = new Subscriptions(feeds, runs, ops.limits.maxSubscriptionsPerToken);
  const yoga = createGraphQL({
    prisma,
    services: { runs, live, notifications },
    tokens,
    log,
    plugins: [
      useCsrfPrevention(),
      useOperationLimits({
        maxDepth: ops.limits.maxQueryDepth,
        maxCost: ops.limits.maxQueryCost,
        maxDocumentBytes: ops.limits.maxDocumentBytes,
        maxTokens: ops.limits.maxDocumentTokens,
        introspection: ops.introspection,
        defaultPageSize: Math.min(20, config.maxPageSize),
        maxPageSize: config.maxPageSize,
        maxAliases: ops.limits.maxAliases,
        maxResponseBytes: ops.limits.maxResponseBytes,
        limitQueries: queryLimiter(ops.limits.queriesPerMinute, ops.limits.queryBurst, () =>
          metrics.rateLimited.inc({ limit: 'queries' }),
        ),
      }),
      useGraphQLMetrics(metrics),
      useSharedSubscriptionRender(
        metrics.onSubscriptionEvent,
        capSubscriptionEvent(ops.limits.maxResponseBytes),
      ),
    ],
    maxRequestBodySize: ops.limits.graphqlMaxBodyBytes,
    graphiql: ops.introspection,
  });

  // Agent-server pushes: applied through the same lifecycle as polls (src/push/).
  const pushActivity = new PushActivity(Boolean(config.openhands.webhookSecret));
  const pushService = new PushService(
    store,
    { rules: config.poller, onEvents: (outcome, count) => metrics.pushEvents.inc({ outcome }, count) },
    log,
  );

  let accepting = false;
  const startedAt = Date.now();
  const healthDeps = {
    databaseReachable: () => pingDatabase(prisma),
    openhands,
    version: VERSION,
    startedAt,
    isReady: () => accepting,
    pushes: () => pushActivity.status(),
  };

  const router = new Router().add(
    { method: '*', path: '/graphql', handler: (req, res) => yoga(req, res) },
    { method: 'GET', path: '/health', handler: (req, res) => health(healthDeps, req, res) },
    { method: 'GET', path: '/ready', handler: (req, res) => ready(healthDeps, req, res) },
    metricsRoute(metrics, ops.metricsToken, ops.metricsTokenRequired),
    // Before the REST routes: it takes browser navigations to /runs/… and passes API calls on.
    ...dashboardRoutes(options.dashboardDir),
    ...restRoutes({ runs, notifications, tokens, log, maxPageSize: config.maxPageSize, version: VERSION }),
    ...webhookRoutes(new WebhookService(store, deliveries, log), config.webhooks, log),
    ...pushRoutes(
      pushService,
      {
        secret: config.openhands.webhookSecret,
        maxBodyBytes: config.webhooks.maxBodyBytes,
        onReceived: (route, outcome) => {
          metrics.pushesReceived.inc({ route, outcome });
          if (outcome !== 'rejected') pushActivity.received();
        },
        onRejected: (reason) => metrics.pushesRejected.inc({ reason }),
      },
      log,
    ),
  );

  // The largest body any route takes; each route checks its own, smaller limit as it reads.
  const maxBodyBytes = Math.max(
    ops.limits.graphqlMaxBodyBytes,
    config.webhooks.maxBodyBytes,
    DEFAULT_BODY_LIMIT,
  );
  const server: Server = createServer((req, res) => {
    // Every log line of this request carries its id (echoed as X-Request-Id).
    withRequestId(req, res, () => {
      if (applyCors(req, res, config.corsOrigins)) return;
      if (refuseOversizedBody(req, res, maxBodyBytes)) return;
      router.handle(req, res).catch((error) => {
        // The safety net for text PostgreSQL refuses: the client's mistake, so 422 and a warning.
        if (isDatabaseInputError(error) && !res.headersSent) {
          log.warn({ path: req.url?.split('?')[0] }, 'database refused client input');
          return sendError(res, 422, 'BAD_USER_INPUT', DATABASE_INPUT_MESSAGE);
        }
        log.error({ err: error, path: req.url?.split('?')[0] }, 'request failed');
        if (!res.headersSent) sendError(res, 500, 'INTERNAL_SERVER_ERROR', 'Internal server error');
        else res.destroy();
      });
    });
  });
  const websocket = attachWebSocket(server, yoga, tokens, {
    keepAliveMs: config.websocketKeepAliveMs,
    maxPayloadBytes: ops.limits.graphqlMaxBodyBytes,
    maxConnectionsPerToken: ops.limits.maxConnectionsPerToken,
    onConnectionLimit: () => metrics.rateLimited.inc({ limit: 'connections' }),
  });
  metrics.attach({
    runs: store,
    deliveries,
    notifications: notificationStore,
    openSubscriptions: () => live.open,
    websocketConnections: () => websocket.clients,
  });
  // Sockets first: closing one with 4403 tells its client why; SSE streams then just end.
  const revocation = new RevocationWatch(
    tokenStore,
    [websocket, live],
    ops.tokenRecheckMs,
    log.child({ component: 'tokens' }),
  );
  const retention = new DeliveryRetention(
    deliveries,
    config.webhooks.retentionDays,
    log.child({ component: 'webhooks' }),
  );

  let stopped = false;
  return {
    config,
    database,
    store,
    runs,
    poller,
    notifications,
    deliveryWorker,
    live,
    openhands,
    metrics,
    log,
    bootstrapToken,
    async start(port = config.port, host = config.host) {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      if (config.poller.enabled) poller.start();
      if (notify.enabled) deliveryWorker.start();
      revocation.start();
      retention.start();
      accepting = true;
      const address = server.address() as AddressInfo;
      const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
      return { url: `http://${shownHost}:${address.port}`, port: address.port };
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      accepting = false;
      // /ready now answers 503; give load balancers SHUTDOWN_DELAY_MS to notice before refusing.
      if (ops.shutdownDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, ops.shutdownDelayMs));
      await revocation.stop();
      await retention.stop();
      // Stop accepting, end subscriptions (they complete; sockets close with 1001), let the
      // poller finish its round and give back its leases, then drain HTTP and close the database.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      live.closeAll();
      await live.settled(1000);
      await websocket.close();
      server.closeIdleConnections();
      await poller.stop();
      await deliveryWorker.stop();
      const force = setTimeout(() => server.closeAllConnections(), 5000);
      await closed;
      clearTimeout(force);
      feeds.close();
      await bus.close();
      await database.close();
    },
  };
}

/**
 * Where this replica hears about writes: Redis pub/sub when REDIS_URL is set, otherwise PostgreSQL
 * LISTEN/NOTIFY, or in-process callbacks for the embedded database (a single process).
 */
function createBus(config: Config, store: RunStore, usePgNotify: boolean, log: Logger): NoticeBus {
  if (config.redis.url)
    return new RedisBus(
      config.redis.url,
      config.redis.channel,
      store,
      log.child({ component: 'redis' }),
      config.listenPingMs,
    );
  if (usePgNotify && config.databaseUrl)
    return new PgListenBus(config.databaseUrl, log.child({ component: 'listen' }), config.listenPingMs);
  return new LocalBus(store);
}

/** Gives the bus a moment to subscribe; if it cannot, subscribers still re-check the log periodically. */
async function waitForBus(bus: NoticeBus, log: Logger): Promise<void> {
  const ready = (bus as { ready?: Promise<void> }).ready;
  if (!ready) return;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(true), 5000);
  });
  if (await Promise.race([ready.then(() => false), timedOut])) {
    log.warn('live fan-out is not connected yet; subscriptions fall back to periodic log checks until it is');
  }
  clearTimeout(timer);
}
