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
    const inner = original instanceof GraphQLError ? original : error;
    return inner.extensions?.code ? inner : withCode(inner, 'BAD_USER_INPUT');
  }
  return new GraphQLError(message, {
    path: error instanceof GraphQLError ? error.path : undefined,
    extensions: { code: 'INTERNAL_SERVER_ERROR' },
  });
}

export function withCode(error: GraphQLError, code: string): GraphQLError {
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    extensions: { ...error.extensions, code },
  });
}
