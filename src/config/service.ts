import { normaliseDatabaseUrl } from '../storage/database-url.js';
import { accountList, bool, ConfigError, type Env, httpUrl, int, oneOf, read, webhookSecret } from './env.js';
import { loadNotificationsConfig, type NotificationsConfig } from './notifications.js';
import { loadOpsConfig, type OpsConfig } from './ops.js';

export { ConfigError } from './env.js';

/** The poller's loop and the lifecycle's deadlines (src/runs/poller.ts, src/runs/lifecycle.ts). */
export interface PollerSettings {
  enabled: boolean;
  intervalMs: number;
  batchSize: number;
  leaseMs: number;
  maxActiveRuns: number;
  startTimeoutMs: number;
  stallTimeoutMs: number;
  maxRunMs: number;
  errorToleranceMs: number;
  maxStartAttempts: number;
  /** How long a run may wait for an answer before it times out (INPUT_TIMEOUT). */
  inputTimeoutMs: number;
  /** Ask the agent to put the run id in its PR description (webhook correlation). */
  askForRunMarker: boolean;
  /** A run pushed to within this long (OPENHANDS_PUSH_QUIET_MS) is only reconciled, not polled. */
  pushQuietMs: number;
  /** The poll interval of such a run (OPENHANDS_RECONCILE_MS). */
  reconcileMs: number;
}

/** Start-up configuration, read once from the environment. Every name is documented in .env.example. */
export interface Config {
  port: number;
  host: string;
  /** Browser origins allowed to call the API cross-origin (CORS_ORIGINS); '*' any; empty: none. */
  corsOrigins: string[];
  databaseUrl: string | undefined;
  dataDir: string;
  openhands: {
    baseUrl: string;
    token: string | undefined;
    apiVersion: 'auto' | 'v1' | 'v0';
    requestTimeoutMs: number;
    maxRequestsPerSecond: number;
    maxRetries: number;
    /** Bearer secret agent servers send with their pushes; unset: /openhands/* answers 503. */
    webhookSecret: string | undefined;
  };
  apiTokens: string[];
  authDisabled: boolean;
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  /** How runs are driven: the poller's loop and the lifecycle's deadlines. */
  poller: PollerSettings;
  maxPageSize: number;
  /** graphql-ws ping interval; an unanswered ping disconnects the client. */
  websocketKeepAliveMs: number;
  /** How often the LISTEN connection is pinged; no answer by the next ping means it is lost. */
  listenPingMs: number;
  /** Optional Redis pub/sub fan-out instead of PostgreSQL LISTEN/NOTIFY. */
  redis: { url: string | undefined; channel: string };
  webhooks: {
    /** Unset: POST /webhooks/github answers 503 (unsigned deliveries are never accepted). */
    githubSecret: string | undefined;
    /** A shared X-Gitlab-Token value, or a `whsec_…` signing token (Standard Webhooks signatures). */
    gitlabSecret: string | undefined;
    /** GITHUB_AGENT_LOGINS: when set, the branch rule takes only pull requests by these accounts. */
    githubAgentLogins: string[];
    /** GITLAB_AGENT_USERNAMES: the same for GitLab merge requests. */
    gitlabAgentUsernames: string[];
    maxBodyBytes: number;
    /** Delivery records older than this many days are deleted; 0 keeps them all. */
    retentionDays: number;
  };
  /** Limits, metrics, token checks and shutdown (src/config/ops.ts). */
  ops: OpsConfig;
  /** Run notifications: signed outbound webhooks (src/config/notifications.ts). */
  notifications: NotificationsConfig;
}

/** CORS_ORIGINS: comma-separated origins (scheme://host[:port]), or `*` for any. */
function corsOrigins(env: Env): string[] {
  const entries = (read(env, 'CORS_ORIGINS') ?? '')
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean);
  return entries.map((entry) => {
    if (entry === '*') return entry;
    let url: URL | undefined;
    try {
      url = new URL(entry);
    } catch {}
    // An origin has no path: "https://app.example.com/" is accepted, "https://a.com/x" is a mistake.
    if (!url || !/^https?:$/.test(url.protocol) || url.origin !== entry.replace(/\/$/, '').toLowerCase()) {
      throw new ConfigError(
        'CORS_ORIGINS',
        `expected origins like https://app.example.com or *, got "${entry}"`,
      );
    }
    return url.origin;
  });
}

function redisUrl(env: Env): string | undefined {
  const raw = read(env, 'REDIS_URL');
  if (raw === undefined) return undefined;
  if (!/^rediss?:\/\/[^\s]+$/.test(raw))
    throw new ConfigError('REDIS_URL', 'expected a redis:// or rediss:// URL');
  return raw;
}

export function loadConfig(env: Env = process.env): Config {
  const rawDbUrl = read(env, 'DATABASE_URL');
  let databaseUrl: string | undefined;
  if (rawDbUrl !== undefined) {
    try {
      databaseUrl = normaliseDatabaseUrl(rawDbUrl);
    } catch (error) {
      throw new ConfigError('DATABASE_URL', (error as Error).message);
    }
  }
  const second = 1000;
  const minute = 60 * second;
  return {
    port: int(env, 'PORT', 8080, 0, 65535),
    host: read(env, 'HOST') ?? '0.0.0.0',
    corsOrigins: corsOrigins(env),
    databaseUrl,
    dataDir: read(env, 'DATA_DIR') ?? './.data',
    openhands: {
      baseUrl: httpUrl(env, 'OPENHANDS_BASE_URL', 'http://127.0.0.1:3000'),
      token: read(env, 'OPENHANDS_TOKEN'),
      apiVersion: oneOf(env, 'OPENHANDS_API_VERSION', ['auto', 'v1', 'v0'] as const, 'auto'),
      requestTimeoutMs: int(env, 'OPENHANDS_TIMEOUT_MS', 15 * second, 100),
      maxRequestsPerSecond: int(env, 'OPENHANDS_MAX_RPS', 8, 1, 1000),
      maxRetries: int(env, 'OPENHANDS_MAX_RETRIES', 3, 0, 10),
      webhookSecret: read(env, 'OPENHANDS_WEBHOOK_SECRET'),
    },
    apiTokens: (read(env, 'API_TOKENS') ?? '')
      .split(',')
      .map((t) => t.trim())
      .filter(Boolean),
    authDisabled: bool(env, 'AUTH_DISABLED', false),
    logLevel: oneOf(env, 'LOG_LEVEL', ['debug', 'info', 'warn', 'error', 'silent'] as const, 'info'),
    poller: {
      enabled: bool(env, 'POLLER_ENABLED', true),
      intervalMs: int(env, 'POLL_INTERVAL_MS', 2 * second, 10, 10 * minute),
      batchSize: int(env, 'POLL_BATCH_SIZE', 50, 1, 1000),
      leaseMs: int(env, 'POLL_LEASE_MS', 30 * second, 1000),
      maxActiveRuns: int(env, 'MAX_ACTIVE_RUNS', 20, 1),
      startTimeoutMs: int(env, 'RUN_START_TIMEOUT_MS', 10 * minute, 100),
      stallTimeoutMs: int(env, 'RUN_STALL_TIMEOUT_MS', 30 * minute, 100),
      maxRunMs: int(env, 'RUN_MAX_DURATION_MS', 4 * 60 * minute, 100),
      errorToleranceMs: int(env, 'UPSTREAM_ERROR_TOLERANCE_MS', 10 * second, 0),
      maxStartAttempts: int(env, 'RUN_MAX_START_ATTEMPTS', 5, 1, 100),
      inputTimeoutMs: int(env, 'RUN_INPUT_TIMEOUT_MS', 24 * 60 * minute, 100),
      askForRunMarker: bool(env, 'ASK_AGENT_FOR_RUN_MARKER', true),
      pushQuietMs: int(env, 'OPENHANDS_PUSH_QUIET_MS', minute, 0),
      reconcileMs: int(env, 'OPENHANDS_RECONCILE_MS', minute, 10, 60 * minute),
    },
    maxPageSize: int(env, 'MAX_PAGE_SIZE', 100, 1, 1000),
    websocketKeepAliveMs: int(env, 'WS_KEEPALIVE_MS', 12_000, 1000),
    listenPingMs: int(env, 'LISTEN_PING_MS', 15_000, 100, 10 * minute),
    redis: {
      url: redisUrl(env),
      channel: read(env, 'REDIS_CHANNEL') ?? 'openhands-runner:run-events',
    },
    webhooks: {
      githubSecret: read(env, 'GITHUB_WEBHOOK_SECRET'),
      gitlabSecret: webhookSecret(env, 'GITLAB_WEBHOOK_SECRET'),
      githubAgentLogins: accountList(env, 'GITHUB_AGENT_LOGINS'),
      gitlabAgentUsernames: accountList(env, 'GITLAB_AGENT_USERNAMES'),
      maxBodyBytes: int(env, 'WEBHOOK_MAX_BODY_BYTES', 1024 * 1024, 1024, 25 * 1024 * 1024),
      retentionDays: int(env, 'WEBHOOK_RETENTION_DAYS', 30, 0, 100 * 365),
    },
    ops: loadOpsConfig(env),
    notifications: loadNotificationsConfig(env),
  };
}
