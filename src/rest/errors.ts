import type { ServerResponse } from 'node:http';
import { AppError, type AppErrorCode } from '../errors.js';
import { sendJson } from '../http/respond.js';

/**
 * An error the REST layer itself raises (bad JSON, wrong content type, body too large, a field of
 * the wrong type). Service errors stay AppError and are translated by `toRestError` below.
 */
export class RestError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'RestError';
  }
}

/**
 * HTTP status per service error code. Field-level validation is 422, as the old FastAPI service
 * answered it (pydantic validation errors); 400 is kept for bodies that are not JSON at all.
 */
export const STATUS_BY_CODE: Record<AppErrorCode, number> = {
  BAD_USER_INPUT: 422,
  NOT_FOUND: 404,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  CONFLICT: 409,
  RATE_LIMITED: 429,
};

/** The service names fields as GraphQL does (camelCase, first/after); REST clients know these. */
const REST_FIELD: Record<string, string> = {
  projectId: 'project_id',
  compiledPrompt: 'compiled_prompt',
  idempotencyKey: 'idempotency_key',
  gitProvider: 'git_provider',
  notifyUrl: 'notify_url',
  overlapSeconds: 'overlap_seconds',
  deliveryId: 'delivery_id',
  first: 'limit',
  after: 'cursor',
};

export function restFieldName(field: string): string {
  return REST_FIELD[field] ?? field;
}

function restMessage(message: string, field: string | undefined): string {
  if (!field || !REST_FIELD[field]) return message;
  return message.replace(new RegExp(`\\b${field}\\b`, 'g'), REST_FIELD[field]);
}

export function toRestError(error: AppError): RestError {
  const field = typeof error.details.field === 'string' ? error.details.field : undefined;
  const headers: Record<string, string> = {};
  if (error.code === 'UNAUTHENTICATED') headers['www-authenticate'] = 'Bearer';
  const retryAfter = error.details.retryAfterSeconds;
  if (error.code === 'RATE_LIMITED' && typeof retryAfter === 'number' && retryAfter >= 0) {
    headers['retry-after'] = String(Math.ceil(retryAfter));
  }
  return new RestError(
    STATUS_BY_CODE[error.code] ?? 500,
    error.code,
    restMessage(error.message, field),
    field ? restFieldName(field) : undefined,
    headers,
  );
}

/**
 * Writes `{"error":{"code","message"[,"field"]}}` for errors a client caused and returns true.
 * Anything else is left to the app's catch-all, which logs it and answers a bare 500.
 */
export function sendRestError(res: ServerResponse, error: unknown): boolean {
  const rest = error instanceof AppError ? toRestError(error) : error instanceof RestError ? error : null;
  if (!rest) return false;
  const body: { code: string; message: string; field?: string } = { code: rest.code, message: rest.message };
  if (rest.field) body.field = rest.field;
  sendJson(res, rest.status, { error: body }, rest.headers);
  return true;
}
