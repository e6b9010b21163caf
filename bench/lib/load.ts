/**
 * A small closed-loop HTTP load generator: `connections` keep-alive sockets, each sending its next
 * request as soon as the previous answer arrived, for `durationMs`. Latency is measured per request
 * from write to the end of the answer.
 */
import http from 'node:http';
import { type Summary, summarize } from './common.js';

export interface LoadResult {
  requests: number;
  ok: number;
  errors: number;
  /** Non-2xx answers or GraphQL errors, by status. */
  failures: Record<string, number>;
  /** Successful answers per base URL (per instance). */
  okPerUrl: number[];
  seconds: number;
  rps: number;
  latency: Summary;
}

export interface LoadOptions {
  /** One or more base URLs; connections are spread across them round-robin. */
  urls: string[];
  /** The path, or the path of request number `i` (with the body of the same number). */
  path: string | ((i: number) => string);
  /** POST (default: `body` is the JSON payload) or GET (no body). */
  method?: 'GET' | 'POST';
  connections: number;
  durationMs: number;
  headers?: Record<string, string>;
  /** The JSON body of request number `i` (POST only). */
  body?: (i: number) => unknown;
  /** Checks a 200 answer's body (e.g. no GraphQL errors). */
  accept?: (body: string) => boolean;
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const latencies: number[] = [];
  const failures: Record<string, number> = {};
  let ok = 0;
  const okPerUrl = options.urls.map(() => 0);
  let errors = 0;
  let counter = 0;
  const started = performance.now();
  const deadline = started + options.durationMs;
  const agents = options.urls.map(() => new http.Agent({ keepAlive: true, maxSockets: options.connections }));

  const one = (urlIndex: number): Promise<void> =>
    new Promise((resolve) => {
      const i = counter++;
      const url = new URL(
        typeof options.path === 'string' ? options.path : options.path(i),
        options.urls[urlIndex],
      );
      const post = (options.method ?? 'POST') === 'POST';
      const payload = post ? JSON.stringify(options.body?.(i) ?? {}) : '';
      const t0 = performance.now();
      const req = http.request(
        url,
        {
          method: post ? 'POST' : 'GET',
          agent: agents[urlIndex],
          headers: {
            ...(post
              ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }
              : {}),
            ...options.headers,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            latencies.push(performance.now() - t0);
            const text = Buffer.concat(chunks).toString('utf8');
            if (res.statusCode === 200 && (options.accept?.(text) ?? true)) {
              ok++;
              okPerUrl[urlIndex]++;
            } else {
              const key = res.statusCode === 200 ? 'graphql-error' : String(res.statusCode);
              failures[key] = (failures[key] ?? 0) + 1;
            }
            resolve();
          });
          res.on('error', () => {
            errors++;
            resolve();
          });
        },
      );
      req.on('error', () => {
        errors++;
        resolve();
      });
      req.end(post ? payload : undefined);
    });

  await Promise.all(
    Array.from({ length: options.connections }, async (_, c) => {
      const urlIndex = c % options.urls.length;
      while (performance.now() < deadline) await one(urlIndex);
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  for (const agent of agents) agent.destroy();
  const requests = latencies.length;
  return {
    requests,
    ok,
    errors,
    failures,
    okPerUrl,
    seconds,
    rps: ok / seconds,
    latency: summarize(latencies),
  };
}
