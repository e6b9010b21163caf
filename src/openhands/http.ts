import type { RequestBudget } from './budget.js';

export type UpstreamFaultKind = 'network' | 'timeout' | 'http' | 'protocol';

/**
 * A failed call to OpenHands. `message` is ours and safe to show; upstream bodies are kept out of it
 * (they may echo secrets) and only their short, parsed reason is kept in `detail`.
 */
export class UpstreamError extends Error {
  constructor(
    readonly kind: UpstreamFaultKind,
    message: string,
    readonly status?: number,
    readonly detail?: string,
  ) {
    super(message);
    this.name = 'UpstreamError';
  }

  /** Worth trying again later: the server may recover. */
  get transient(): boolean {
    return this.kind !== 'http' || this.status === 429 || (this.status ?? 0) >= 500;
  }
}

export interface HttpOptions {
  baseUrl: string;
  token?: string;
  timeoutMs: number;
  maxRetries: number;
  budget: RequestBudget;
  /** Base delay of the exponential backoff between retries. */
  retryBaseMs?: number;
  onRequest?: (info: { method: string; route: string; status: number | 'error'; ms: number }) => void;
}

export interface RequestSpec {
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  query?: Record<string, string | number | string[] | undefined>;
  body?: unknown;
  /** Label for metrics and logs (the path without ids). */
  route: string;
  /**
   * A conversation's agent server instead of the app server: `path` is appended to this absolute URL,
   * and the conversation's session key replaces the configured token.
   */
  agentServer?: { url: string; sessionKey: string | null };
  /**
   * Whether a failure after the request may have reached the server can be retried. Starting a
   * conversation is not idempotent, so it only retries what surely did not start anything.
   */
  idempotent: boolean;
}

export interface UpstreamResponse {
  status: number;
  body: unknown;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class OpenHandsHttp {
  constructor(private readonly options: HttpOptions) {}

  /** Sends the request with retries; returns any 2xx/4xx response, throws UpstreamError otherwise. */
  async request(spec: RequestSpec): Promise<UpstreamResponse> {
    const { maxRetries } = this.options;
    for (let attempt = 0; ; attempt++) {
      try {
        const response = await this.once(spec);
        if (response.status === 429 || response.status >= 500) {
          const retryAfterMs = (response as { retryAfterMs?: number }).retryAfterMs;
          const error = new UpstreamError(
            'http',
            `OpenHands answered HTTP ${response.status} on ${spec.route}`,
            response.status,
            shortDetail(response.body),
          );
          if (
            attempt >= maxRetries ||
            (response.status !== 429 && !spec.idempotent && response.status < 502)
          ) {
            throw error;
          }
          await sleep(this.backoff(attempt, retryAfterMs));
          continue;
        }
        return response;
      } catch (error) {
        if (!(error instanceof UpstreamError) || error.kind === 'http') throw error;
        // A refused connection never reached the server; anything else might have.
        const safe = spec.idempotent || error.detail === 'ECONNREFUSED';
        if (attempt >= maxRetries || !safe) throw error;
        await sleep(this.backoff(attempt));
      }
    }
  }

  private backoff(attempt: number, retryAfterMs?: number): number {
    const base = this.options.retryBaseMs ?? 250;
    const exponential = Math.min(10_000, base * 2 ** attempt);
    const jittered = exponential / 2 + Math.random() * (exponential / 2);
    return Math.max(jittered, retryAfterMs ?? 0);
  }

  private async once(spec: RequestSpec): Promise<UpstreamResponse & { retryAfterMs?: number }> {
    const { baseUrl, token, timeoutMs, budget } = this.options;
    await budget.take();
    const url = new URL((spec.agentServer?.url ?? baseUrl) + spec.path);
    for (const [key, value] of Object.entries(spec.query ?? {})) {
      if (value === undefined) continue;
      for (const v of Array.isArray(value) ? value : [value]) url.searchParams.append(key, String(v));
    }
    const headers: Record<string, string> = { accept: 'application/json' };
    if (spec.agentServer) {
      if (spec.agentServer.sessionKey) headers['x-session-api-key'] = spec.agentServer.sessionKey;
    } else if (token) {
      // Self-hosted servers check X-Session-API-Key, OpenHands Cloud a bearer token; both are harmless.
      headers['x-session-api-key'] = token;
      headers.authorization = `Bearer ${token}`;
    }
    if (spec.body !== undefined) headers['content-type'] = 'application/json';
    const started = Date.now();
    let response: Response;
    try {
      response = await fetch(url, {
        method: spec.method,
        headers,
        body: spec.body === undefined ? undefined : JSON.stringify(spec.body),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      this.options.onRequest?.({
        method: spec.method,
        route: spec.route,
        status: 'error',
        ms: Date.now() - started,
      });
      throw networkError(error, spec.route, timeoutMs);
    }
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      throw networkError(error, spec.route, timeoutMs);
    }
    this.options.onRequest?.({
      method: spec.method,
      route: spec.route,
      status: response.status,
      ms: Date.now() - started,
    });
    let body: unknown = text;
    if (text.length > 0) {
      try {
        body = JSON.parse(text);
      } catch {
        if (response.ok) throw new UpstreamError('protocol', `OpenHands sent invalid JSON on ${spec.route}`);
      }
    } else {
      body = null;
    }
    if (response.status === 429) {
      const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
      budget.pause(retryAfterMs ?? 1000);
      return { status: response.status, body, retryAfterMs };
    }
    return { status: response.status, body };
  }
}

function networkError(error: unknown, route: string, timeoutMs: number): UpstreamError {
  const name = (error as { name?: string })?.name;
  if (name === 'TimeoutError' || name === 'AbortError') {
    return new UpstreamError('timeout', `OpenHands did not answer ${route} within ${timeoutMs} ms`);
  }
  const code = (error as { cause?: { code?: string } })?.cause?.code ?? 'network error';
  return new UpstreamError('network', `Could not reach OpenHands (${code}) on ${route}`, undefined, code);
}

export function parseRetryAfter(value: string | null): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/** The short reason OpenHands gives (`detail`, `message`, `msg_id` or a bare string), capped in length. */
export function shortDetail(body: unknown): string | undefined {
  let detail: unknown = body;
  if (body && typeof body === 'object') {
    const b = body as Record<string, unknown>;
    detail = b.msg_id ?? b.message ?? b.detail;
  }
  if (typeof detail !== 'string') return undefined;
  return detail.length > 200 ? `${detail.slice(0, 200)}…` : detail;
}

/** The body of a 2xx answer; anything else becomes an UpstreamError naming the route and status. */
export function expectOk(response: UpstreamResponse, route: string): unknown {
  if (response.status >= 200 && response.status < 300) return response.body;
  throw new UpstreamError(
    'http',
    `OpenHands answered HTTP ${response.status} on ${route}`,
    response.status,
    shortDetail(response.body),
  );
}
