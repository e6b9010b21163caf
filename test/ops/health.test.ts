import type { ServerResponse } from 'node:http';
import { describe, expect } from 'vitest';
import { VERSION } from '../../src/app.js';
import { type HealthDeps, ready } from '../../src/http/health.js';
import { adminUrl, createTestDatabase } from '../support/database.js';
import { test } from '../support/fixtures.js';
import { gql, waitFor } from '../support/graphql.js';
import { freePort } from '../support/ops.js';
import { sql } from '../support/runs.js';
import { startService } from '../support/service.js';

async function get(url: string) {
  const started = Date.now();
  const response = await fetch(url);
  return {
    status: response.status,
    body: (await response.json()) as Record<string, any>,
    ms: Date.now() - started,
  };
}

describe('GET /health and GET /ready', () => {
  test('/health is public and reports ok, the version and the uptime', async ({ service }) => {
    const res = await get(`${service.url}/health`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      status: 'ok',
      database: 'ok',
      openhands: 'ok',
      version: VERSION,
      uptimeSeconds: expect.any(Number),
      // Agent-server pushes (docs/push.md): none configured, none arrived.
      pushes: { configured: false, lastReceivedAt: null, receivedLastMinute: 0 },
    });
    expect((await get(`${service.url}/ready`)).body).toEqual({ ready: true });
  });

  test('/health stays 200, degraded, when OpenHands is unreachable, and answers quickly', async ({ db }) => {
    const nowhere = `http://127.0.0.1:${await freePort()}`;
    const lonely = await startService(db.url, nowhere, {
      POLLER_ENABLED: 'false',
      OPENHANDS_MAX_RETRIES: '3',
    });
    try {
      const res = await get(`${lonely.url}/health`);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ status: 'degraded', database: 'ok', openhands: 'unreachable' });
      expect(res.ms).toBeLessThan(3000);
      expect((await get(`${lonely.url}/ready`)).status).toBe(200);
    } finally {
      await lonely.stop();
    }
  });

  test('/health answers 503 while the database is unreachable, and ok again once it is back', async ({
    sim,
  }) => {
    const own = await createTestDatabase();
    const svc = await startService(own.url, sim.url, { OPENHANDS_API_VERSION: 'v1' });
    // Not the shared server: only this test's database refuses connections for a while.
    const block = async (allow: boolean) => {
      await sql(adminUrl(), `ALTER DATABASE ${own.name} WITH ALLOW_CONNECTIONS ${allow}`);
      if (!allow) {
        await sql(adminUrl(), 'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [
          own.name,
        ]);
      }
    };
    try {
      expect((await get(`${svc.url}/health`)).status).toBe(200);
      await block(false);
      const down = await get(`${svc.url}/health`);
      expect(down.status).toBe(503);
      expect(down.body).toMatchObject({ status: 'unavailable', database: 'unreachable', version: VERSION });
      expect(down.ms).toBeLessThan(4000);

      // What a client sees meanwhile: a masked error, no SQL, no connection details.
      const query = await gql(svc.graphqlUrl, '{ runs(first: 1) { totalCount } }');
      expect(query.errors?.[0]?.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
      const text = JSON.stringify(query);
      for (const leak of [own.name, 'postgres', 'SELECT', 'prisma', 'stack', '    at '])
        expect(text).not.toContain(leak);

      await block(true);
      await waitFor(
        '/health to recover',
        async () => (await get(`${svc.url}/health`)).status === 200,
        20_000,
        200,
      );
    } finally {
      await block(true).catch(() => {});
      await svc.stop();
      await own.drop();
    }
  });

  test('/ready answers 503 as soon as shutdown starts (SHUTDOWN_DELAY_MS) while requests are still served', async ({
    launch,
  }) => {
    const svc = await launch({ POLLER_ENABLED: 'false', SHUTDOWN_DELAY_MS: '1500' });
    expect((await get(`${svc.url}/ready`)).status).toBe(200);
    const stopping = svc.stop();
    try {
      const res = await get(`${svc.url}/ready`);
      expect(res.status).toBe(503);
      expect(res.body).toEqual({ ready: false });
      // Still serving during the delay, so in-flight clients are not cut off.
      expect((await get(`${svc.url}/health`)).status).toBe(200);
    } finally {
      await stopping;
    }
    await expect(fetch(`${svc.url}/ready`)).rejects.toThrow();
  });

  test('/ready answers 503 until the service is started (migrations are applied before that)', () => {
    let status = 0;
    let body = '';
    const res = {
      writeHead: (s: number) => {
        status = s;
      },
      end: (b: string) => {
        body = b;
      },
    } as unknown as ServerResponse;
    ready({ isReady: () => false } as HealthDeps, {} as never, res);
    expect(status).toBe(503);
    expect(JSON.parse(body)).toEqual({ ready: false });
  });
});
