import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { describe, expect } from 'vitest';
import type { Simulator } from '../../tools/simulator/index.js';
import type { TestDatabase } from '../support/database.js';
import { test } from '../support/fixtures.js';
import { GET_RUN, gql, START_RUN, waitFor } from '../support/graphql.js';
import { collectWs, RUN_PROGRESS, wsClient } from '../support/live.js';
import { childEnv, freePort, ROOT } from '../support/ops.js';
import { sql } from '../support/runs.js';
import { TEST_TOKEN } from '../support/service.js';

interface Child {
  process: ChildProcess;
  url: string;
  logs: Array<Record<string, any>>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `npm start` as a real process: src/main.ts with its signal handlers, on a free loopback port. */
async function startMain(env: Record<string, string>): Promise<Child> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: childEnv({
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      NODE_ENV: 'production',
      ...env,
    }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Array<Record<string, any>> = [];
  let stderr = '';
  child.stderr!.on('data', (d) => {
    stderr += d;
  });
  const exited = once(child, 'exit').then(
    ([code, signal]) => ({ code, signal }) as { code: number | null; signal: NodeJS.Signals | null },
  );
  const listening = new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        const entry = JSON.parse(line);
        logs.push(entry);
        if (entry.msg === 'openhands-runner listening') resolve();
      } catch {
        // not a log line
      }
    });
    void exited.then(({ code }) => reject(new Error(`service exited early (${code}): ${stderr}`)));
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 45_000);
  try {
    await listening;
  } finally {
    clearTimeout(timer);
  }
  return { process: child, url: `http://127.0.0.1:${port}`, logs, exited };
}

describe('shutdown of the real process', () => {
  const env = (db: TestDatabase, sim: Simulator) => ({
    DATABASE_URL: db.url,
    OPENHANDS_BASE_URL: sim.url,
    OPENHANDS_API_VERSION: 'v1',
    API_TOKENS: TEST_TOKEN,
    POLL_INTERVAL_MS: '50',
    SHUTDOWN_DELAY_MS: '1000',
    SHUTDOWN_TIMEOUT_MS: '10000',
  });

  test('SIGTERM during a run and a subscription: ready 503, requests still served, 1001 close, leases released, exit 0', async ({
    db,
    sim,
  }) => {
    const main = await startMain(env(db, sim));
    let killed = false;
    try {
      const graphqlUrl = `${main.url}/graphql`;
      const started = await gql(graphqlUrl, START_RUN, {
        input: {
          projectId: 'shutdown',
          compiledPrompt: 'Keep working [sim:hang]',
          repository: 'acme/widgets',
        },
      });
      const runId = started.data!.startRun.run.id as string;
      await waitFor(
        'the run to be RUNNING',
        async () => (await gql(graphqlUrl, GET_RUN, { id: runId })).data?.run?.status === 'RUNNING',
      );

      const closes: number[] = [];
      const client = wsClient(main.url, TEST_TOKEN, {
        lazy: false,
        // The close below is expected; graphql-ws would print it.
        onNonLazyError: () => {},
        on: { closed: (event) => closes.push((event as { code: number }).code) },
      });
      const sub = collectWs(client, RUN_PROGRESS, { runId });
      await waitFor('the subscription to deliver', async () => sub.items.length > 0);

      const signalledAt = Date.now();
      main.process.kill('SIGTERM');
      killed = true;
      // During SHUTDOWN_DELAY_MS: not ready, but still answering.
      await waitFor(
        '/ready to answer 503',
        async () => (await fetch(`${main.url}/ready`)).status === 503,
        900,
        20,
      );
      const during = await gql(graphqlUrl, GET_RUN, { id: runId });
      expect(during.status).toBe(200);
      expect(during.data!.run.id).toBe(runId);

      const { code, signal } = await main.exited;
      expect({ code, signal }).toEqual({ code: 0, signal: null });
      expect(Date.now() - signalledAt).toBeLessThan(10_000);

      // The subscription was ended by the server, and its socket closed with 1001 Going Away.
      await waitFor('the socket to close', async () => closes.length > 0, 5000);
      expect(closes[0]).toBe(1001);
      await sub.done; // completed by the server before the socket went, not errored
      expect(sub.errors).toEqual([]);
      await client.dispose();

      // Leases given back: another replica may take the run at once; the run itself is untouched.
      const rows = await sql<{ status: string; leaseOwner: string | null }>(
        db.url,
        'SELECT status, "leaseOwner" FROM "Run" WHERE id = $1',
        [runId],
      );
      expect(rows[0]).toEqual({ status: 'RUNNING', leaseOwner: null });
      const messages = main.logs.map((l) => l.msg);
      expect(messages).toContain('shutting down');
      expect(messages).not.toContain('shutdown failed');
    } finally {
      if (!killed || main.process.exitCode === null) main.process.kill('SIGKILL');
    }
  });

  test('SIGINT on an idle service exits 0 too', async ({ db, sim }) => {
    const main = await startMain({ ...env(db, sim), SHUTDOWN_DELAY_MS: '0' });
    main.process.kill('SIGINT');
    const result = await Promise.race([
      main.exited,
      new Promise((resolve) => setTimeout(() => resolve('timeout'), 10_000)),
    ]);
    if (result === 'timeout') main.process.kill('SIGKILL');
    expect(result).toEqual({ code: 0, signal: null });
  });
});
