/**
 * The simulator's agent-server webhooks against a plain receiving HTTP server: what the runner gets
 * must look like what an agent server sends (shared/openhands-api.md, "Agent-server webhooks").
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../tools/simulator/index.js';
import { waitFor } from '../support/graphql.js';

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: any;
}

let receiver: Server;
let receiverUrl: string;
const received: Received[] = [];
/** The receiver answers this status to the next `failures.count` requests. */
const failures = { count: 0, status: 503 };

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let text = '';
    req.on('data', (chunk) => {
      text += chunk;
    });
    req.on('end', () => {
      received.push({ path: req.url ?? '', headers: req.headers, body: JSON.parse(text) });
      const failing = failures.count > 0;
      if (failing) failures.count--;
      res.writeHead(failing ? failures.status : 200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/openhands`;
});

afterAll(async () => {
  await new Promise((resolve) => receiver.close(resolve));
});

async function startRun(sim: Simulator, prompt: string): Promise<string> {
  const response = await fetch(`${sim.url}/api/v1/app-conversations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ initial_message: { role: 'user', content: [{ type: 'text', text: prompt }] } }),
  });
  return ((await response.json()) as { id: string }).id;
}

describe('simulator pushes', () => {
  it('posts event batches and ConversationInfo with the configured headers and the session key', async () => {
    received.length = 0;
    const sim = await startSimulator({
      stepMs: 10,
      rateLimit: false,
      push: { url: receiverUrl, secret: 'hook-secret', bufferSize: 3, flushDelayMs: 30 },
    });
    try {
      await startRun(sim, 'Fix it');
      await waitFor('the run to finish upstream', async () => sim.conversations()[0]?.status === 'finished');
      await sim.pusher!.drain();
      const [conversation] = sim.conversations();
      const events = received.filter((r) => r.path.startsWith('/openhands/events/'));
      const infos = received.filter((r) => r.path === '/openhands/conversations');
      expect(events.every((r) => r.path === `/openhands/events/${conversation.id}`)).toBe(true);
      expect(events.every((r) => Array.isArray(r.body) && r.body.length >= 1 && r.body.length <= 3)).toBe(
        true,
      );
      const pushed = events.flatMap((r) => r.body);
      expect(pushed).toHaveLength(conversation.eventCount);
      expect(pushed.at(-1)).toMatchObject({ kind: 'ConversationStateUpdateEvent', value: 'finished' });
      expect(infos[0].body).toMatchObject({ execution_status: 'running' });
      expect(infos[0].body.id.replaceAll('-', '')).toBe(conversation.id);
      for (const r of received) {
        expect(r.headers.authorization).toBe('Bearer hook-secret');
        expect(r.headers['x-session-api-key']).toMatch(/^[0-9a-f]{32}$/);
      }
    } finally {
      await sim.stop();
    }
  });

  it('retries a failed batch, and drops the configured share of batches without a word', async () => {
    received.length = 0;
    failures.count = 2;
    const sim = await startSimulator({
      stepMs: 10,
      rateLimit: false,
      push: { url: receiverUrl, bufferSize: 100, flushDelayMs: 20, retries: 3, retryDelayMs: 20 },
    });
    try {
      await startRun(sim, 'Retry [sim:hang]');
      await waitFor('a batch to arrive after two failures', async () => received.length >= 3 && received);
      await sim.pusher!.drain();
      expect(sim.pusher!.stats.failedAttempts).toBe(2);
      expect(sim.pusher!.stats.batchesFailed).toBe(0);
      const before = received.length;
      sim.pusher!.setLossRate(1);
      sim.complete();
      await waitFor('the run to finish upstream', async () => sim.conversations()[0]?.status === 'finished');
      await sim.pusher!.drain();
      expect(received.length).toBe(before);
      expect(sim.pusher!.stats.batchesLost).toBeGreaterThan(0);
    } finally {
      await sim.stop();
    }
  });
});
