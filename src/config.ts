import { loadOpsConfig, type OpsConfig } from './ops-config.js';
import type { PollerOptions } from './runs/poller.js';
import { normaliseDatabaseUrl } from './storage/database-url.js';
import { parseAccounts } from './webhooks/trust.js';

/** Start-up configuration, read once from the environment. Every name is documented in .env.example. */
export interface Config {
  port: number;
  host: string;
  databaseUrl: string | undefined;
  dataDir: string;
  openhands: {
    baseUrl: string;
    token: string | undefined;
    apiVersion: 'auto' | 'v1' | 'v0';
    requestTimeoutMs: number;
    maxRequestsPerSecond: number;
    maxRetries: number;
  };
  apiTokens: string[];
  authDisabled: boolean;
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  /** The poller's settings (see PollerOptions); `owner` is chosen per instance. */
  poller: Omit<PollerOptions, 'owner'> & { enabled: boolean };
  maxPageSize: number;
  /** graphql-ws ping interval; an unanswered ping disconnects the client. */
  websocketKeepAliveMs: number;
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
  /** Limits, metrics, token checks and shutdown (src/ops-config.ts). */
  ops: OpsConfig;
}

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`Invalid ${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

export function read(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === '' ? undefined : value;
}

export function int(
  env: Env,
  name: string,
  fallback: number,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  const raw = read(env, name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(name, `expected a whole number, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max)
    throw new ConfigError(name, `must be between ${min} and ${max}, got ${value}`);
  return value;
}

export function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = read(env, name)?.toLowerCase();
  if (raw === undefined) return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(name, `expected true or false, got "${raw}"`);
}

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const raw = read(env, name)?.toLowerCase();
  if (raw === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(name, `expected one of ${allowed.join(', ')}, got "${raw}"`);
  }
  return raw as T;
}

function httpUrl(env: Env, name: string, fallback: string): string {
  const raw = read(env, name) ?? fallback;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(name, 'not a URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(name, `expected an http(s) URL, got protocol "${url.protocol}"`);
  }
  return raw.replace(/\/+$/, '');
}

/** A `whsec_` signing token must carry a real key; a typo would otherwise reject every delivery. */
function webhookSecret(env: Env, name: string): string | undefined {
  const raw = read(env, name);
  if (raw?.startsWith('whsec_')) {
    const key = raw.slice('whsec_'.length);
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(key) || Buffer.from(key, 'base64').length < 16) {
      throw new ConfigError(
        name,
        'a whsec_ signing token must be "whsec_" followed by a base64 key of at least 16 bytes',
      );
    }
  }
  return raw;
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
    databaseUrl,
    dataDir: read(env, 'DATA_DIR') ?? './.data',
    openhands: {
      baseUrl: httpUrl(env, 'OPENHANDS_BASE_URL', 'http://127.0.0.1:3000'),
      token: read(env, 'OPENHANDS_TOKEN'),
      apiVersion: oneOf(env, 'OPENHANDS_API_VERSION', ['auto', 'v1', 'v0'] as const, 'auto'),
      requestTimeoutMs: int(env, 'OPENHANDS_TIMEOUT_MS', 15 * second, 100),
      maxRequestsPerSecond: int(env, 'OPENHANDS_MAX_RPS', 8, 1, 1000),
      maxRetries: int(env, 'OPENHANDS_MAX_RETRIES', 3, 0, 10),
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
      askForRunMarker: bool(env, 'ASK_AGENT_FOR_RUN_MARKER', true),
    },
    maxPageSize: int(env, 'MAX_PAGE_SIZE', 100, 1, 1000),
    websocketKeepAliveMs: int(env, 'WS_KEEPALIVE_MS', 12_000, 1000),
    redis: {
      url: redisUrl(env),
      channel: read(env, 'REDIS_CHANNEL') ?? 'openhands-runner:run-events',
    },
    webhooks: {
      githubSecret: read(env, 'GITHUB_WEBHOOK_SECRET'),
      gitlabSecret: webhookSecret(env, 'GITLAB_WEBHOOK_SECRET'),
      githubAgentLogins: parseAccounts(read(env, 'GITHUB_AGENT_LOGINS')),
      gitlabAgentUsernames: parseAccounts(read(env, 'GITLAB_AGENT_USERNAMES')),
      maxBodyBytes: int(env, 'WEBHOOK_MAX_BODY_BYTES', 1024 * 1024, 1024, 25 * 1024 * 1024),
      retentionDays: int(env, 'WEBHOOK_RETENTION_DAYS', 30, 0, 100 * 365),
    },
    ops: loadOpsConfig(env),
  };
}
