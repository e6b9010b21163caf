import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { RequestBudget } from '../../src/openhands/budget.js';
import { OpenHandsHttp, parseRetryAfter, shortDetail, UpstreamError } from '../../src/openhands/http.js';

type Handler = (req: IncomingMessage, res: ServerResponse, n: number) => void;

/** A loopback server whose answers each test scripts; records every request. */
let server: Server;
let baseUrl: string;
let handler: Handler;
let seen: Array<{ method: string; url: string; at: number; headers: IncomingMessage['headers'] }> = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push({ method: req.method!, url: req.url!, at: Date.now(), headers: req.headers });
    req.resume();
    req.on('end', () => handler(req, res, seen.length));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});
/** Requests left unanswered on purpose; their sockets (already given up by the client) are closed after each test. */
let hanging: ServerResponse[] = [];
afterEach(() => {
  seen = [];
  for (const res of hanging) res.destroy();
  hanging = [];
});

function reply(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}

function client(overrides: Partial<ConstructorParameters<typeof OpenHandsHttp>[0]> = {}) {
  return new OpenHandsHttp({
    baseUrl,
    token: 'tok',
    timeoutMs: 2000,
    maxRetries: 3,
    retryBaseMs: 20,
    budget: new RequestBudget(1000),
    ...overrides,
  });
}

const get = { method: 'GET' as const, path: '/api/thing', route: 'GET /api/thing', idempotent: true };
const post = {
  method: 'POST' as const,
  path: '/api/start',
  route: 'POST /api/start',
  idempotent: false,
  body: { a: 1 },
};

async function failure(promise: Promise<unknown>): Promise<UpstreamError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(UpstreamError);
    return error as UpstreamError;
  }
  throw new Error('expected the request to fail');
}

describe('OpenHandsHttp', () => {
  it('sends the token both ways, the query and a JSON body', async () => {
    handler = (_req, res) => reply(res, 200, { ok: true });
    const res = await client().request({ ...post, query: { ids: ['a', 'b'], limit: 5, skip: undefined } });
    expect(res).toEqual({ status: 200, body: { ok: true } });
    expect(seen[0].url).toBe('/api/start?ids=a&ids=b&limit=5');
    expect(seen[0].headers['x-session-api-key']).toBe('tok');
    expect(seen[0].headers.authorization).toBe('Bearer tok');
    expect(seen[0].headers['content-type']).toBe('application/json');
  });

  it('retries 5xx on idempotent requests with growing, jittered delays, then succeeds', async () => {
    handler = (_req, res, n) =>
      n <= 3 ? reply(res, 503, { detail: 'Internal Server Error' }) : reply(res, 200, [1]);
    const res = await client({ retryBaseMs: 40 }).request(get);
    expect(res.body).toEqual([1]);
    expect(seen).toHaveLength(4);
    const gaps = seen.slice(1).map((s, i) => s.at - seen[i].at);
    // Attempt i waits between half and all of base·2^i.
    for (const [i, gap] of gaps.entries()) expect(gap).toBeGreaterThanOrEqual((40 * 2 ** i) / 2 - 5);
  });

  it('gives up after maxRetries with a transient error that keeps the status and a short reason', async () => {
    handler = (_req, res) => reply(res, 500, { detail: 'Internal Server Error' });
    const error = await failure(client({ maxRetries: 2 }).request(get));
    expect(seen).toHaveLength(3);
    expect(error).toMatchObject({ kind: 'http', status: 500, detail: 'Internal Server Error' });
    expect(error.transient).toBe(true);
  });

  it('does not retry a non-idempotent request the server may have carried out (500)', async () => {
    handler = (_req, res) => reply(res, 500, { detail: 'boom' });
    const error = await failure(client().request(post));
    expect(seen).toHaveLength(1);
    expect(error.status).toBe(500);
  });

  it('retries a non-idempotent request on 429, which the server refused before doing anything', async () => {
    handler = (_req, res, n) =>
      n === 1
        ? reply(res, 429, { message: 'Too many requests' }, { 'retry-after': '0' })
        : reply(res, 200, { id: 'x' });
    const res = await client().request(post);
    expect(res.body).toEqual({ id: 'x' });
    expect(seen).toHaveLength(2);
  });

  it('honours Retry-After on 429, and holds back every other request meanwhile', async () => {
    handler = (req, res, n) =>
      n === 1
        ? reply(res, 429, { message: 'Too many requests' }, { 'retry-after': '1' })
        : reply(res, 200, { url: req.url });
    const http = client();
    const first = http.request(get);
    await vi.waitFor(() => expect(seen).toHaveLength(1));
    // Sent after the 429 arrived: must wait for the same second.
    await new Promise((r) => setTimeout(r, 50));
    const other = http.request({ ...get, path: '/api/other' });
    await Promise.all([first, other]);
    expect(seen).toHaveLength(3);
    for (const later of seen.slice(1)) expect(later.at - seen[0].at).toBeGreaterThanOrEqual(950);
  });

  it('returns 4xx answers to the caller without retrying', async () => {
    handler = (_req, res) => reply(res, 404, { detail: 'Not Found' });
    expect(await client().request(get)).toEqual({ status: 404, body: { detail: 'Not Found' } });
    handler = (_req, res) => reply(res, 401, { detail: 'Unauthorized' });
    expect((await client().request(get)).status).toBe(401);
    expect(seen).toHaveLength(2);
  });

  it('reads 200 null (V0 unknown conversation) and empty bodies as null', async () => {
    handler = (_req, res) => reply(res, 200, 'null');
    expect((await client().request(get)).body).toBeNull();
    handler = (_req, res) => {
      res.writeHead(204);
      res.end();
    };
    expect((await client().request(get)).body).toBeNull();
  });

  it('treats invalid JSON in a success as a protocol error', async () => {
    handler = (_req, res) => reply(res, 200, '{not json');
    const error = await failure(client().request(get));
    expect(error.kind).toBe('protocol');
  });

  it('times out a request that never gets an answer, and retries it when idempotent', async () => {
    handler = (_req, res) => hanging.push(res); // never answers
    const started = Date.now();
    const error = await failure(client({ timeoutMs: 150, maxRetries: 1 }).request(get));
    expect(error.kind).toBe('timeout');
    expect(error.transient).toBe(true);
    expect(seen).toHaveLength(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  });

  it('does not retry a timed-out non-idempotent request (it may have started something)', async () => {
    handler = (_req, res) => hanging.push(res);
    const error = await failure(client({ timeoutMs: 150 }).request(post));
    expect(error.kind).toBe('timeout');
    expect(seen).toHaveLength(1);
  });

  it('retries refused connections, even for non-idempotent requests, then reports a network error', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const attempts: number[] = [];
    const http = client({
      baseUrl: `http://127.0.0.1:${port}`,
      maxRetries: 2,
      onRequest: () => attempts.push(Date.now()),
    });
    const error = await failure(http.request(post));
    expect(error).toMatchObject({ kind: 'network', detail: 'ECONNREFUSED' });
    expect(attempts).toHaveLength(3);
  });
});

describe('helpers', () => {
  it('parseRetryAfter reads seconds and HTTP dates', () => {
    expect(parseRetryAfter('3')).toBe(3000);
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
    const inTwo = new Date(Date.now() + 2000).toUTCString();
    expect(parseRetryAfter(inTwo)).toBeGreaterThan(500);
    expect(parseRetryAfter(new Date(Date.now() - 5000).toUTCString())).toBe(0);
  });

  it('shortDetail keeps the short reason only', () => {
    expect(shortDetail({ detail: 'Unauthorized' })).toBe('Unauthorized');
    expect(shortDetail({ status: 'error', message: 'x', msg_id: 'STATUS$ERROR_LLM_AUTHENTICATION' })).toBe(
      'STATUS$ERROR_LLM_AUTHENTICATION',
    );
    expect(shortDetail('Unable to access repo a/b')).toBe('Unable to access repo a/b');
    expect(shortDetail({ detail: [{ type: 'extra_forbidden' }] })).toBeUndefined();
    expect(shortDetail('x'.repeat(500))!.length).toBeLessThanOrEqual(201);
  });
});

describe('RequestBudget', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('lets at most perSecond requests go within any one-second window', async () => {
    vi.useFakeTimers({ now: 0 });
    const budget = new RequestBudget(8);
    const granted: number[] = [];
    for (let i = 0; i < 30; i++) void budget.take().then(() => granted.push(Date.now()));
    await vi.advanceTimersByTimeAsync(0);
    expect(granted).toHaveLength(8);
    await vi.advanceTimersByTimeAsync(999);
    expect(granted).toHaveLength(8);
    await vi.advanceTimersByTimeAsync(1);
    expect(granted).toHaveLength(16);
    await vi.advanceTimersByTimeAsync(3000);
    expect(granted).toHaveLength(30);
    for (let i = 0; i < granted.length; i++) {
      const inWindow = granted.filter((t) => t >= granted[i] && t < granted[i] + 1000).length;
      expect(inWindow).toBeLessThanOrEqual(8);
    }
  });

  it('spreads a steady trickle without delaying it', async () => {
    vi.useFakeTimers({ now: 0 });
    const budget = new RequestBudget(8);
    const waits: number[] = [];
    for (let i = 0; i < 20; i++) {
      const asked = Date.now();
      await budget.take();
      waits.push(Date.now() - asked);
      await vi.advanceTimersByTimeAsync(200); // 5 per second: under the budget
    }
    expect(Math.max(...waits)).toBe(0);
  });

  it('pause() holds everyone back until the time is up', async () => {
    vi.useFakeTimers({ now: 0 });
    const budget = new RequestBudget(8);
    budget.pause(1000);
    let done = false;
    void budget.take().then(() => {
      done = true;
    });
    await vi.advanceTimersByTimeAsync(999);
    expect(done).toBe(false);
    expect(budget.waiting).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(done).toBe(true);
  });
});
