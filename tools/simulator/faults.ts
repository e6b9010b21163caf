/**
 * Fault injection: `failNext` rules set by tests, plus the per-conversation scenario
 * faults ([sim:flaky] 500s and [sim:429] throttling) decided from the request's ids.
 */
import { STATUS_CODES } from 'node:http';
import { json, type Reply, safeDecode } from './http.js';
import { normalizeUuid } from './ids.js';
import type { Run } from './run.js';
import { FLAKY_EVERY } from './scenarios.js';
import type { FailNextOptions } from './types.js';

export function tooManyRequests(retryAfterSeconds = 1): Reply {
  return json(429, { message: 'Too many requests' }, { 'retry-after': String(retryAfterSeconds) });
}

/** The body a real server would send with this status. */
export function errorReply(status: number, retryAfter?: number): Reply {
  if (status === 429) return tooManyRequests(retryAfter ?? 1);
  if (status >= 500) return json(status, { detail: 'Internal Server Error' });
  if (status === 401) return json(status, { detail: 'Unauthorized' });
  return json(status, { detail: STATUS_CODES[status] ?? 'Error' });
}

interface FailRule {
  remaining: number;
  status: number;
  opts: FailNextOptions;
}

export class FailQueue {
  private rules: FailRule[] = [];

  add(count: number, status: number, opts: FailNextOptions = {}): void {
    if (count > 0) this.rules.push({ remaining: count, status, opts });
  }

  /** The injected reply for this request, consuming one use of the first matching rule. */
  take(path: string): Reply | null {
    const rule = this.rules.find(
      (r) => r.opts.pathIncludes === undefined || path.includes(r.opts.pathIncludes),
    );
    if (!rule) return null;
    rule.remaining -= 1;
    if (rule.remaining <= 0) this.rules = this.rules.filter((r) => r !== rule);
    return errorReply(rule.status, rule.opts.retryAfter);
  }
}

/** Runs a request is "about": any path segment or query value naming one of their ids. */
export function runsAbout<R extends Run>(runs: readonly R[], path: string, query: URLSearchParams): R[] {
  const tokens = new Set<string>();
  const add = (t: string) => {
    if (!t) return;
    tokens.add(t);
    const id = normalizeUuid(t);
    if (id) tokens.add(id);
  };
  for (const segment of path.split('/')) add(safeDecode(segment));
  for (const value of query.values()) add(value);
  return runs.filter((run) => run.ids().some((id) => tokens.has(id)));
}

/** [sim:429] then [sim:flaky] for the runs a request is about; null when it goes through. */
export function scenarioFault(about: readonly Run[], statusRead: boolean): Reply | null {
  for (const run of about) {
    if (statusRead && run.throttledReadsLeft > 0) {
      run.throttledReadsLeft -= 1;
      return tooManyRequests(1);
    }
  }
  let fault: Reply | null = null;
  for (const run of about) {
    if (!run.scenario.has('flaky')) continue;
    run.requestsSeen += 1;
    if (run.requestsSeen % FLAKY_EVERY === 0) fault = errorReply(500);
  }
  return fault;
}
