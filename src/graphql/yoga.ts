import { createYoga, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import type { TokenVerifier } from '../auth/tokens.js';
import { bearerToken } from '../auth/tokens.js';
import { AppError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Db } from '../storage/database.js';
import type { GraphQLContext, Services } from './context.js';
import { logYogaError, maskError, toGraphQLError } from './errors.js';
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
  return createYoga<Record<string, unknown>, GraphQLContext>({
    schema,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    graphiql:
      options.graphiql === false
        ? false
        : { title: 'openhands-runner', headers: JSON.stringify({ Authorization: 'Bearer <token>' }) },
    plugins: options.plugins ?? [],
    maxRequestBodySize: options.maxRequestBodySize,
    logging: {
      debug: (...args) => log.debug({ args }, 'yoga'),
      info: (...args) => log.info({ args }, 'yoga'),
      warn: (...args) => log.warn({ args }, 'yoga'),
      error: (...args) => logYogaError(log, args),
    },
    maskedErrors: { maskError: (error, message) => maskError(error, message) },
    // Every operation needs a token: over HTTP in the Authorization header, over WebSocket in
    // connectionParams.authorization. The check lives in the context so both transports share it.
    context: async ({ request, params: _params, ...rest }) => {
      const connectionParams = (rest as { connectionParams?: Record<string, unknown> }).connectionParams;
      const header =
        (typeof connectionParams?.authorization === 'string' ? connectionParams.authorization : null) ??
        request?.headers.get('authorization') ??
        null;
      const principal = await tokens.verify(bearerToken(header));
      if (!principal) {
        throw toGraphQLError(
          new AppError(
            'UNAUTHENTICATED',
            header
              ? 'The API token is not valid'
              : 'An API token is required: send Authorization: Bearer <token>',
          ),
        );
      }
      return { prisma, services, principal, log };
    },
  });
}
