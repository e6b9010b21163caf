/**
 * The simulator's HTTP server: one pipeline for every request, in the order the real
 * server applies things — rate limiter (middleware on every path), then auth (a route
 * dependency, skipped by health routes), then the route. Test-controlled faults
 * (setDown, failNext) and scenario faults sit in between.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { AGENT_SERVER_PREFIX } from './agent-server.js';
import { errorReply, FailQueue, runsAbout, scenarioFault, tooManyRequests } from './faults.js';
import { HEALTH_PATHS, healthRoutes } from './health.js';
import { detail, matchRoute, type Reply, type RequestContext, type Route } from './http.js';
import { AgentServerPusher } from './push.js';
import { RATE_LIMIT_DELAY_MS, RateLimiter } from './rate-limit.js';
import type { RunEnv } from './run.js';
import type { VersionApi } from './store.js';
import type { ConversationInfo, RequestLogEntry, Simulator, SimulatorOptions } from './types.js';
import { V0Api } from './v0.js';
import { V1Api } from './v1.js';

const MAX_BODY_BYTES = 5 * 1024 * 1024;

export async function startSimulator(opts: SimulatorOptions = {}): Promise<Simulator> {
  const version = opts.apiVersion ?? 'v1';
  let prCounter = 0;
  let baseUrl = '';
  const pusher = opts.push && version === 'v1' ? new AgentServerPusher(opts.push) : null;
  const env: RunEnv = {
    stepMs: opts.stepMs ?? 150,
    nextPrNumber: () => ++prCounter,
    baseUrl: () => baseUrl,
    ...(pusher ? { push: pusher } : {}),
  };
  const api: VersionApi =
    version === 'v1'
      ? new V1Api(env, opts.maxConversations ?? Number.POSITIVE_INFINITY, opts.sendMessageRoute ?? true)
      : new V0Api(env, opts.maxConversations ?? 3);
  const limiter = opts.rateLimit === false ? null : new RateLimiter();
  const startedMs = Date.now();
  let lastRequestMs = startedMs;
  const routes: Route[] = [...healthRoutes(version, startedMs, () => lastRequestMs), ...api.routes];
  const requests: RequestLogEntry[] = [];
  const failures = new FailQueue();
  const sockets = new Set<Socket>();
  const delays = new Set<NodeJS.Timeout>();
  let down = false;
  let stopped = false;
  /** While set, requests are logged but wait here, unanswered, until hold(false). */
  let held: { released: Promise<void>; release: () => void } | null = null;

  /** Decide the reply; null means the socket was dropped and nothing is to be sent. */
  async function decide(req: IncomingMessage, ctx: RequestContext): Promise<Reply | null> {
    // The limiter lives in the app server only; agent servers check their own session key.
    const agentServer = ctx.path.startsWith(AGENT_SERVER_PREFIX);
    if (limiter && !agentServer) {
      const decision = limiter.check(req.socket.remoteAddress ?? 'unknown');
      if (decision === 'reject') return tooManyRequests(1);
      if (decision === 'delay') {
        await new Promise<void>((resolve) => {
          const t = setTimeout(() => {
            delays.delete(t);
            resolve();
          }, RATE_LIMIT_DELAY_MS);
          delays.add(t);
        });
        if (down || stopped) return null;
      }
    }
    const injected = failures.take(ctx.path);
    if (injected) return injected;
    const isHealth = HEALTH_PATHS.has(ctx.path);
    if (
      !isHealth &&
      !agentServer &&
      opts.sessionApiKey !== undefined &&
      req.headers['x-session-api-key'] !== opts.sessionApiKey
    ) {
      return errorReply(401);
    }
    const match = matchRoute(routes, ctx.method, ctx.path);
    if (match.kind === 'not-found') return detail(404, 'Not Found');
    if (match.kind === 'method-not-allowed') return detail(405, 'Method Not Allowed');
    if (!isHealth) {
      const about = runsAbout(api.runs(), ctx.path, ctx.query);
      const fault = scenarioFault(about, api.isStatusRead(ctx.method, ctx.path));
      if (fault) return fault;
    }
    return match.route.handle(ctx, match.params);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://simulator.local');
    const entry: RequestLogEntry = {
      method: req.method ?? 'GET',
      path: url.pathname,
      status: 0,
      at: Date.now(),
    };
    requests.push(entry);
    lastRequestMs = entry.at;
    if (down) {
      req.socket.destroy();
      return;
    }
    let reply: Reply | null;
    try {
      const rawBody = await readBody(req);
      // Held after the body is in: the request is carried out on release even if its client is gone.
      if (held) await held.released;
      if (stopped) {
        req.socket.destroy();
        return;
      }
      reply = await decide(req, {
        req,
        method: entry.method,
        path: entry.path,
        query: url.searchParams,
        rawBody,
      });
    } catch (err) {
      if (err instanceof BodyTooLarge) reply = detail(413, 'Request Entity Too Large');
      else {
        console.error('[simulator] handler error', err);
        reply = errorReply(500);
      }
    }
    if (reply === null || res.destroyed) {
      req.socket.destroy();
      return;
    }
    entry.status = reply.status;
    if (reply.stream) {
      reply.stream(res);
      return;
    }
    const payload = JSON.stringify(reply.body ?? null);
    res.writeHead(reply.status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(payload),
      ...reply.headers,
    });
    res.end(payload);
  }

  const server = createServer((req, res) => void handle(req, res));
  server.on('connection', (socket) => {
    // While down, connections are dropped before any byte is read: clients see a reset.
    if (down) {
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const host = opts.host ?? '127.0.0.1';
  baseUrl = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  const destroySockets = () => {
    for (const socket of sockets) socket.destroy();
    sockets.clear();
  };

  return {
    url: baseUrl,
    port,
    requests,
    failNext(count, status, failOpts) {
      failures.add(count, status, failOpts);
    },
    setDown(value) {
      down = value;
      if (value) destroySockets();
    },
    hold(value) {
      if (value && !held) {
        let release = () => {};
        const released = new Promise<void>((resolve) => {
          release = resolve;
        });
        held = { released, release };
      } else if (!value && held) {
        held.release();
        held = null;
      }
    },
    restart() {
      api.restart();
      // Sockets are left open on purpose: dropping keep-alive connections would make the
      // client's next request fail at random; use setDown() to simulate unreachability.
      limiter?.reset();
    },
    pusher,
    conversations(): ConversationInfo[] {
      return api.conversations();
    },
    complete(marker) {
      for (const run of api.runs()) {
        if (marker === undefined || run.ids().includes(marker) || run.prompt.includes(marker)) run.release();
      }
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      held?.release();
      held = null;
      pusher?.stop();
      api.shutdown();
      for (const t of delays) clearTimeout(t);
      delays.clear();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      destroySockets();
      await closed;
    },
  };
}

class BodyTooLarge extends Error {}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new BodyTooLarge());
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
