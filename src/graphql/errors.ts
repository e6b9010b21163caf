import { GraphQLError } from 'graphql';
import { AppError } from '../errors.js';
import type { Logger } from '../logger.js';
import { DATABASE_INPUT_MESSAGE, isDatabaseInputError } from '../storage/input-errors.js';

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
  if (isDatabaseInputError(original)) {
    return new GraphQLError(DATABASE_INPUT_MESSAGE, {
      path: error instanceof GraphQLError ? error.path : undefined,
      extensions: { code: 'BAD_USER_INPUT' },
    });
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

/**
 * How loudly an error yoga reports (every one it masks) is logged: a client's mistake is no
 * error of the service, and logging it at error level would let any token holder flood the logs.
 * Input the database refused is a warning (a check is missing); anything else is an error.
 */
export function logLevelOf(error: unknown): 'debug' | 'warn' | 'error' {
  const original = error instanceof GraphQLError ? error.originalError : error;
  if (original instanceof AppError) return 'debug';
  if (error instanceof GraphQLError && (!original || original instanceof GraphQLError)) return 'debug';
  if (isDatabaseInputError(original)) return 'warn';
  return 'error';
}

/** Yoga's error log: client errors by code and path only (their messages may quote input). */
export function logYogaError(log: Logger, args: unknown[]): void {
  const levels = args.map(logLevelOf);
  if (levels.includes('error')) {
    log.error({ args }, 'yoga');
    return;
  }
  const errors = args.map((error) => {
    const original = error instanceof GraphQLError ? error.originalError : error;
    const code =
      original instanceof AppError
        ? original.code
        : error instanceof GraphQLError
          ? (error.extensions?.code ?? null)
          : null;
    return { code, path: error instanceof GraphQLError ? error.path : undefined };
  });
  const level = levels.includes('warn') ? 'warn' : 'debug';
  log[level]({ errors }, level === 'warn' ? 'database refused client input' : 'graphql request refused');
}
