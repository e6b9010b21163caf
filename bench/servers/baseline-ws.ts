/**
 * Baseline for scenario 2: a bare `ws` server. Clients connect to /?run=<id>; the server LISTENs on
 * PostgreSQL and sends each notification (the same message shape the service sends) to the sockets
 * of that run. No GraphQL, no auth, no replay, no log read.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { type WebSocket, WebSocketServer } from 'ws';
import { serveChild } from '../lib/child.js';
import { BASELINE_CHANNEL } from '../lib/common.js';

const byRun = new Map<string, Set<WebSocket>>();
const server = createServer();
const wss = new WebSocketServer({ server });
wss.on('connection', (socket, req) => {
  const runId = new URL(req.url ?? '/', 'http://x').searchParams.get('run') ?? '';
  const set = byRun.get(runId) ?? new Set<WebSocket>();
  byRun.set(runId, set);
  set.add(socket);
  socket.on('close', () => set.delete(socket));
});
const listener = new pg.Client({ connectionString: process.env.DATABASE_URL });
await listener.connect();
await listener.query(`LISTEN ${BASELINE_CHANNEL}`);
listener.on('notification', (message) => {
  if (!message.payload) return;
  const event = JSON.parse(message.payload) as { runId: string };
  const sockets = byRun.get(event.runId);
  if (!sockets) return;
  const text = JSON.stringify({ type: 'next', payload: { data: { runProgress: event } } });
  for (const socket of sockets) socket.send(text);
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address() as AddressInfo;
serveChild(
  `http://127.0.0.1:${port}`,
  async () => {
    for (const c of wss.clients) c.terminate();
    wss.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await listener.end();
  },
  {},
  (message) => (message.type === 'subscriptions' ? wss.clients.size : null),
);
