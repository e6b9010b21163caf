import { GraphQLError } from 'graphql';
import { AppError } from '../errors.js';

const HTTP_STATUS: Record<string, number> = {
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  RATE_LIMITED: 429,
};

export function toGraphQLError(error: AppError, path?: GraphQLError['path']): GraphQLError {
  const status = HTTP_STATUS[error.code];
  return new GraphQLError(error.message, {
    path,
    extensions: {
      code: error.code,
      ...error.details,
      ...(status ? { http: { status } } : {}),
    },
  });
}

/**
 * Yoga's error mask: our own errors keep their code and message; GraphQL's own errors (syntax,
 * validation) pass; everything else becomes a bare INTERNAL_SERVER_ERROR, so no stack trace, SQL
 * or upstream body reaches a client.
 */
export function maskError(error: unknown, message: string): Error {
  const original = error instanceof GraphQLError ? error.originalError : error;
  if (original instanceof AppError) {
    return toGraphQLError(original, error instanceof GraphQLError ? error.path : undefined);
  }
  if (error instanceof GraphQLError && (!original || original instanceof GraphQLError)) {
    if (error.extensions?.code && error.extensions.code !== 'BAD_USER_INPUT') return error;
    // Variable coercion: 'Variable "$input" got invalid value … at "input.gitProvider"; …'.
    const at = /got invalid value .*? at "([^"]+)"/.exec(error.message)?.[1];
    const missing = /Field "([^"]+)" of required type/.exec(error.message)?.[1];
    const field = at?.split('.').slice(1).join('.') || missing;
    return withCode(error, 'BAD_USER_INPUT', field ? { field } : {});
  }
  return new GraphQLError(message, {
    path: error instanceof GraphQLError ? error.path : undefined,
    extensions: { code: 'INTERNAL_SERVER_ERROR' },
  });
}

function withCode(error: GraphQLError, code: string, extra: Record<string, unknown>): GraphQLError {
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    extensions: { ...error.extensions, code, ...extra },
  });
}
