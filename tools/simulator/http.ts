/**
 * Small HTTP helpers shared by the route modules: a route table, replies as plain
 * values (so the server can log the status in one place), and FastAPI-like errors.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** What a handler answers. `stream` takes over the response (used by stream-start). */
export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  stream?: (res: ServerResponse) => void;
}

export interface RequestContext {
  req: IncomingMessage;
  method: string;
  path: string;
  query: URLSearchParams;
  /** Raw request body ('' when none). */
  rawBody: string;
}

export interface Route {
  method: string;
  /** Anchored pattern; capture groups become `params`. */
  pattern: RegExp;
  handle(ctx: RequestContext, params: string[]): Reply;
}

/** A route whose pattern is anchored at both ends. */
export function route(method: string, pattern: string, handle: Route['handle']): Route {
  return { method, pattern: new RegExp(`^${pattern}$`), handle };
}

export type RouteMatch =
  | { kind: 'found'; route: Route; params: string[] }
  | { kind: 'method-not-allowed' }
  | { kind: 'not-found' };

/** First route whose pattern and method match; 405 when only the path matches (as FastAPI). */
export function matchRoute(routes: readonly Route[], method: string, path: string): RouteMatch {
  let pathMatched = false;
  for (const route of routes) {
    const m = route.pattern.exec(path);
    if (!m) continue;
    if (route.method !== method) {
      pathMatched = true;
      continue;
    }
    return { kind: 'found', route, params: m.slice(1).map((p) => safeDecode(p ?? '')) };
  }
  return pathMatched ? { kind: 'method-not-allowed' } : { kind: 'not-found' };
}

/** decodeURIComponent that keeps malformed escapes as they are instead of throwing. */
export function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

export const json = (status: number, body: unknown, headers?: Record<string, string>): Reply => ({
  status,
  body,
  ...(headers ? { headers } : {}),
});

export const ok = (body: unknown): Reply => json(200, body);

export const detail = (status: number, message: string): Reply => json(status, { detail: message });

export const notFound = (): Reply => detail(404, 'Not Found');

/** One entry of a FastAPI / pydantic validation error list. */
export interface ValidationIssue {
  type: string;
  loc: (string | number)[];
  msg: string;
  input?: unknown;
}

export const unprocessable = (issues: ValidationIssue[]): Reply => json(422, { detail: issues });

/** Parse a JSON body the way FastAPI reports failures (422 json_invalid / missing). */
export function parseJsonBody(raw: string): { ok: true; value: unknown } | { ok: false; reply: Reply } {
  if (raw.trim() === '') {
    return {
      ok: false,
      reply: unprocessable([{ type: 'missing', loc: ['body'], msg: 'Field required', input: null }]),
    };
  }
  try {
    return { ok: true, value: JSON.parse(raw) as unknown };
  } catch {
    return {
      ok: false,
      reply: unprocessable([{ type: 'json_invalid', loc: ['body', 0], msg: 'JSON decode error', input: {} }]),
    };
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Query integer with FastAPI-like validation; returns the default when absent. */
export function queryInt(
  query: URLSearchParams,
  name: string,
  fallback: number,
): { ok: true; value: number } | { ok: false; reply: Reply } {
  const raw = query.get(name);
  if (raw === null || raw === '') return { ok: true, value: fallback };
  if (!/^-?\d+$/.test(raw)) {
    return {
      ok: false,
      reply: unprocessable([
        {
          type: 'int_parsing',
          loc: ['query', name],
          msg: 'Input should be a valid integer, unable to parse string as an integer',
          input: raw,
        },
      ]),
    };
  }
  return { ok: true, value: Number(raw) };
}
