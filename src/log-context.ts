import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Fields added to every log line written while handling one request (see the logger's mixin). */
export interface LogContext {
  requestId?: string;
  runId?: string;
}

const storage = new AsyncLocalStorage<LogContext>();

/** The current request's fields, or nothing outside a request. */
export function currentLogContext(): LogContext | undefined {
  return storage.getStore();
}

/** Runs `fn` with these fields added to every line it logs (e.g. `{ runId }` around work on one run). */
export function withLogContext<T>(context: LogContext, fn: () => T): T {
  return storage.run({ ...currentLogContext(), ...context }, fn);
}

// A client's id is kept if it looks like an id, so it cannot inject anything into log lines.
const CLIENT_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Runs `fn` as one request: honours an `X-Request-Id` sent by a proxy or client (else makes one),
 * echoes it on the response, and puts it on every log line written meanwhile.
 */
export function withRequestId<T>(req: IncomingMessage, res: ServerResponse, fn: () => T): T {
  const sent = req.headers['x-request-id'];
  const requestId = typeof sent === 'string' && CLIENT_ID.test(sent) ? sent : randomUUID();
  res.setHeader('x-request-id', requestId);
  return storage.run({ requestId }, fn);
}
