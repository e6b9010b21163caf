import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { guardedLookup, isPrivateAddress, RefusedAddressError } from './address.js';

export const REQUEST_TIMEOUT_MS = 10_000;
export const MAX_RESPONSE_BYTES = 64 * 1024;

export interface PostOptions {
  allowPrivate: boolean;
  timeoutMs?: number;
}

/** What one attempt got: an HTTP answer, or an error before one (network, timeout, refused address). */
export type PostResult =
  | { kind: 'response'; status: number; retryAfterMs: number | null; body: string }
  | { kind: 'error'; message: string; refused: boolean };

/**
 * POSTs `body` to `url` once. Redirects are not followed (a 3xx is the answer), the response body is
 * read up to 64 KiB and then dropped, and the whole exchange is bounded by the timeout. Internal
 * addresses are refused at connect time (see guardedLookup) unless `allowPrivate`.
 */
export function postWebhook(
  url: string,
  headers: Record<string, string>,
  body: string,
  options: PostOptions,
): Promise<PostResult> {
  const target = new URL(url);
  const literal = target.hostname.replace(/^\[|\]$/g, '');
  if (!options.allowPrivate && isIP(literal) && isPrivateAddress(literal)) {
    const error = new RefusedAddressError(target.hostname, literal);
    return Promise.resolve({ kind: 'error', message: error.message, refused: true });
  }
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve) => {
    let settled = false;
    const finish = (result: PostResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    const req = send(
      target,
      {
        method: 'POST',
        headers: {
          ...headers,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          'user-agent': 'openhands-runner-webhooks',
        },
        agent: false,
        ...(options.allowPrivate ? {} : { lookup: guardedLookup }),
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        const done = () =>
          finish({
            kind: 'response',
            status: res.statusCode ?? 0,
            retryAfterMs: parseRetryAfter(res.headers['retry-after']),
            body: Buffer.concat(chunks).toString('utf8'),
          });
        res.on('data', (chunk: Buffer) => {
          if (size >= MAX_RESPONSE_BYTES) return;
          chunks.push(chunk.subarray(0, MAX_RESPONSE_BYTES - size));
          size += chunk.length;
          if (size >= MAX_RESPONSE_BYTES) {
            done();
            res.destroy();
          }
        });
        res.on('end', done);
        res.on('error', done);
        res.on('close', done);
      },
    );
    const timer = setTimeout(() => {
      finish({
        kind: 'error',
        message: `no answer within ${options.timeoutMs ?? REQUEST_TIMEOUT_MS} ms`,
        refused: false,
      });
      req.destroy();
    }, options.timeoutMs ?? REQUEST_TIMEOUT_MS);
    req.on('error', (error) =>
      finish({ kind: 'error', message: error.message, refused: error instanceof RefusedAddressError }),
    );
    req.end(body);
  });
}

/** Retry-After in seconds or as an HTTP date; null when absent or unreadable. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | null {
  const raw = Array.isArray(value) ? value[0] : value;
  if (!raw) return null;
  if (/^\d+$/.test(raw.trim())) return Number(raw.trim()) * 1000;
  const at = Date.parse(raw);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}
