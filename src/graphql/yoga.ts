import { GraphQLError } from 'graphql';
import { createYoga, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import { authenticate } from '../auth/authenticate.js';
import type { Principal } from '../auth/principal.js';
import type { TokenVerifier } from '../auth/tokens.js';
import { AppError } from '../errors.js';
import { useRequestBodyLimit } from '../limits/request-body.js';
import type { Logger } from '../logger.js';
import type { Db } from '../storage/database.js';
import type { GraphQLContext, Services } from './context.js';
import { logYogaError, maskError, toGraphQLError } from './errors.js';
import { runLoader } from './run-loader.js';
import { schema } from './schema/index.js';

export interface YogaDeps {
  prisma: Db;
  services: Services;
  tokens: TokenVerifier;
  log: Logger;
  /** Limits, CSRF prevention, metrics (wired in app.ts). */
  plugins?: Plugin[];
  /** GRAPHQL_MAX_BODY_BYTES: larger bodies get 413 REQUEST_ENTITY_TOO_LARGE. */
  maxRequestBodySize?: number;
  /** GraphiQL needs introspection, so it is served only where introspection is on. */
  graphiql?: boolean;
}

export type Yoga = YogaServerInstance<Record<string, unknown>, GraphQLContext>;

export function createGraphQL({ prisma, services, tokens, log, ...options }: YogaDeps): Yoga {
  const principals = new WeakMap<Request, Principal>();
  return createYoga<Record<string, unknown>, GraphQLContext>({
    schema,
    graphqlEndpoint: '/graphql',
    // CORS is decided for every route in src/http/cors.ts (CORS_ORIGINS); yoga's own would
    // reflect any origin with credentials.
    cors: false,
    landingPage: false,
    graphiql:
      options.graphiql === false
        ? false
        : { title: 'openhands-runner', headers: JSON.stringify({ Authorization: 'Bearer <token>' }) },
    plugins: [
      authenticateFirst(tokens, principals),
      ...(options.plugins ?? []),
      // Yoga's own default when none is given.
      useRequestBodyLimit(options.maxRequestBodySize ?? 25_000_000),
    ],
    // Ours above (src/limits/request-body.ts) counts only chunked bodies; yoga's counts every one.
    maxRequestBodySize: false,
    logging: {
      debug: (...args) => log.debug({ args }, 'yoga'),
      info: (...args) => log.info({ args }, 'yoga'),
      warn: (...args) => log.warn({ args }, 'yoga'),
      error: (...args) => logYogaError(log, args),
    },
    maskedErrors: { maskError: (error, message) => maskError(error, message) },
    // Every operation needs a token: over HTTP in the Authorization header (checked before the
    // document is parsed, see authenticateFirst), over WebSocket in connectionParams.authorization.
    context: async ({ request, params: _params, ...rest }) => {
      const connectionParams = (rest as { connectionParams?: Record<string, unknown> }).connectionParams;
      const header =
        (typeof connectionParams?.authorization === 'string' ? connectionParams.authorization : null) ??
        request?.headers.get('authorization') ??
        null;
      const principal =
        (request && principals.get(request)) ?? (await authenticateForGraphQL(tokens, header));
      return { prisma, services, principal, log, loadRun: runLoader(prisma) };
    },
  });
}

/** The shared token check, its refusal as a GraphQL error. */
function authenticateForGraphQL(tokens: TokenVerifier, header: string | null): Promise<Principal> {
  return authenticate(tokens, header).catch((error) => {
    throw error instanceof AppError ? toGraphQLError(error) : error;
  });
}

/**
 * Over HTTP the token is checked before the document is parsed or validated, so a caller without
 * one learns nothing about the schema (no "Did you mean …" hints): 401 UNAUTHENTICATED first.
 */
function authenticateFirst(tokens: TokenVerifier, principals: WeakMap<Request, Principal>): Plugin {
  return {
    async onParams({ request, setResult }) {
      try {
        principals.set(request, await authenticateForGraphQL(tokens, request.headers.get('authorization')));
      } catch (error) {
        if (!(error instanceof GraphQLError)) throw error;
        setResult({ errors: [error] });
      }
    },
  };
}
