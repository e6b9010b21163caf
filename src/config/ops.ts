import { bool, type Env, int, read } from './env.js';

/**
 * Settings an operator tunes for production: abuse limits, metrics access, how quickly revoked
 * tokens lose their subscriptions, and shutdown timing. Kept apart from config.ts so that file stays
 * about wiring; every name is documented in .env.example and docs/operations.md.
 */
export interface OpsConfig {
  limits: {
    /** Deepest field nesting an operation may have (QUERY_TOO_DEEP). */
    maxQueryDepth: number;
    /** Estimated fields resolved, lists multiplied by their page size (QUERY_TOO_COMPLEX). */
    maxQueryCost: number;
    /** Size of the GraphQL document text, variables excluded (DOCUMENT_TOO_LARGE). */
    maxDocumentBytes: number;
    /** Lexical tokens in the document, which bounds parsing work (DOCUMENT_TOO_LARGE). */
    maxDocumentTokens: number;
    /** Size of a GraphQL HTTP body or WebSocket message (REQUEST_ENTITY_TOO_LARGE / 413). */
    graphqlMaxBodyBytes: number;
    /** Mutations (startRun, cancelRun, REST POSTs) per token per minute; 0 turns the limit off. */
    mutationsPerMinute: number;
    /** Mutations a token may send at once before the per-minute rate applies. */
    mutationBurst: number;
    /** GraphQL queries per token per minute; 0 turns the limit off. */
    queriesPerMinute: number;
    /** Queries a token may send at once before the per-minute rate applies. */
    queryBurst: number;
    /** Aliased fields in one GraphQL document (TOO_MANY_ALIASES). */
    maxAliases: number;
    /** Bytes of `data` in one query or mutation answer (RESPONSE_TOO_LARGE). */
    maxResponseBytes: number;
    /** Open subscriptions per token on one replica; 0 turns the limit off. */
    maxSubscriptionsPerToken: number;
    /** Open graphql-ws connections per token on one replica; 0 turns the limit off. */
    maxConnectionsPerToken: number;
  };
  /** Schema introspection (and GraphiQL, which needs it); off by default when NODE_ENV=production. */
  introspection: boolean;
  /** When set, GET /metrics needs `Authorization: Bearer <METRICS_TOKEN>`. */
  metricsToken: string | undefined;
  /** NODE_ENV=production: without METRICS_TOKEN, GET /metrics is refused (403) instead of public. */
  metricsTokenRequired: boolean;
  /** How often open subscriptions' tokens are checked for revocation. */
  tokenRecheckMs: number;
  /** After SIGTERM: how long /ready answers 503 before the server stops accepting connections. */
  shutdownDelayMs: number;
  /** After SIGTERM: exit 1 if a clean stop takes longer (Cloud Run and `docker stop` allow 10 s). */
  shutdownTimeoutMs: number;
}

export function loadOpsConfig(env: Env): OpsConfig {
  const production = read(env, 'NODE_ENV') === 'production';
  const mutationsPerMinute = int(env, 'RATE_LIMIT_MUTATIONS_PER_MINUTE', 300, 0, 1_000_000);
  const queriesPerMinute = int(env, 'RATE_LIMIT_QUERIES_PER_MINUTE', 1200, 0, 1_000_000);
  return {
    limits: {
      maxQueryDepth: int(env, 'GRAPHQL_MAX_DEPTH', 12, 2, 1000),
      maxQueryCost: int(env, 'GRAPHQL_MAX_COST', 20_000, 10, 100_000_000),
      maxDocumentBytes: int(env, 'GRAPHQL_MAX_DOCUMENT_BYTES', 256 * 1024, 256, 10 * 1024 * 1024),
      maxDocumentTokens: int(env, 'GRAPHQL_MAX_TOKENS', 5000, 50, 1_000_000),
      graphqlMaxBodyBytes: int(env, 'GRAPHQL_MAX_BODY_BYTES', 1024 * 1024, 1024, 100 * 1024 * 1024),
      mutationsPerMinute,
      mutationBurst: int(
        env,
        'RATE_LIMIT_MUTATIONS_BURST',
        Math.min(60, mutationsPerMinute) || 1,
        1,
        1_000_000,
      ),
      queriesPerMinute,
      queryBurst: int(env, 'RATE_LIMIT_QUERIES_BURST', Math.min(120, queriesPerMinute) || 1, 1, 1_000_000),
      maxAliases: int(env, 'GRAPHQL_MAX_ALIASES', 30, 0, 10_000),
      maxResponseBytes: int(env, 'GRAPHQL_MAX_RESPONSE_BYTES', 4 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
      maxSubscriptionsPerToken: int(env, 'MAX_SUBSCRIPTIONS_PER_TOKEN', 2000, 0, 1_000_000),
      maxConnectionsPerToken: int(env, 'MAX_CONNECTIONS_PER_TOKEN', 2000, 0, 1_000_000),
    },
    introspection: bool(env, 'GRAPHQL_INTROSPECTION', !production),
    metricsToken: read(env, 'METRICS_TOKEN'),
    metricsTokenRequired: production,
    tokenRecheckMs: int(env, 'TOKEN_RECHECK_MS', 5000, 100, 10 * 60 * 1000),
    shutdownDelayMs: int(env, 'SHUTDOWN_DELAY_MS', 0, 0, 60_000),
    shutdownTimeoutMs: int(env, 'SHUTDOWN_TIMEOUT_MS', 9000, 1000, 10 * 60 * 1000),
  };
}
