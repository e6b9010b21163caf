import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/service.js';
import { type Simulator, startSimulator } from '../../tools/simulator/index.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { type RunningService, startService, TEST_TOKEN } from '../support/service.js';

const APP = 'https://app.example.com';
const EVIL = 'https://evil.example.net';
const QUERY = JSON.stringify({ query: '{ runs(first: 1) { totalCount } }' });

/** A JSON POST to /graphql as a browser page on `origin` sends it. */
function postGraphQL(service: RunningService, origin: string) {
  return fetch(service.graphqlUrl, {
    method: 'POST',
    headers: { origin, authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' },
    body: QUERY,
  });
}

function getRest(service: RunningService, origin: string) {
  return fetch(`${service.url}/runs`, { headers: { origin, authorization: `Bearer ${TEST_TOKEN}` } });
}

/** The preflight a browser sends before a cross-origin JSON POST with a bearer token. */
function preflight(service: RunningService, path: string, origin: string) {
  return fetch(`${service.url}${path}`, {
    method: 'OPTIONS',
    headers: {
      origin,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'authorization, content-type',
    },
  });
}

describe('CORS', () => {
  let db: TestDatabase;
  let sim: Simulator;
  let sameOrigin: RunningService;
  let listed: RunningService;
  let anyOrigin: RunningService;

  beforeAll(async () => {
    db = await createTestDatabase();
    sim = await startSimulator({ rateLimit: false });
    const base = { POLLER_ENABLED: 'false' };
    sameOrigin = await startService(db.url, sim.url, base);
    listed = await startService(db.url, sim.url, { ...base, CORS_ORIGINS: `${APP}, http://localhost:5173` });
    anyOrigin = await startService(db.url, sim.url, { ...base, CORS_ORIGINS: '*' });
  });
  afterAll(async () => {
    await Promise.all([sameOrigin, listed, anyOrigin].map((s) => s?.stop()));
    await sim?.stop();
    await db?.drop();
  });

  describe('by default (no CORS_ORIGINS): same-origin only', () => {
    it('sends no CORS headers to a foreign origin, on GraphQL and REST', async () => {
      for (const response of [await postGraphQL(sameOrigin, EVIL), await getRest(sameOrigin, EVIL)]) {
        // The request itself is served (same-origin pages and non-browser clients send Origin too)…
        expect(response.status).toBe(200);
        // …but a foreign page may not read the answer, and never with credentials.
        expect(response.headers.get('access-control-allow-origin')).toBeNull();
        expect(response.headers.get('access-control-allow-credentials')).toBeNull();
        expect(response.headers.get('vary')).toMatch(/origin/i);
      }
    });

    it('refuses preflights with 403 and a JSON body naming CORS_ORIGINS', async () => {
      for (const path of ['/graphql', '/runs']) {
        const response = await preflight(sameOrigin, path, EVIL);
        expect(response.status).toBe(403);
        expect(response.headers.get('access-control-allow-origin')).toBeNull();
        const body = (await response.json()) as { error: { code: string; message: string } };
        expect(body.error.code).toBe('CORS_ORIGIN_NOT_ALLOWED');
        expect(body.error.message).toContain('CORS_ORIGINS');
      }
    });
  });

  describe('with CORS_ORIGINS listing origins', () => {
    it('answers preflights of a listed origin, without credentials', async () => {
      for (const path of ['/graphql', '/runs']) {
        const response = await preflight(listed, path, APP);
        expect(response.status).toBe(204);
        expect(response.headers.get('access-control-allow-origin')).toBe(APP);
        expect(response.headers.get('access-control-allow-methods')).toContain('POST');
        expect(response.headers.get('access-control-allow-headers')).toBe('authorization, content-type');
        expect(response.headers.get('access-control-allow-credentials')).toBeNull();
      }
    });

    it('lets a listed origin read GraphQL and REST answers, and no other origin', async () => {
      for (const origin of [APP, 'http://localhost:5173']) {
        for (const response of [await postGraphQL(listed, origin), await getRest(listed, origin)]) {
          expect(response.status).toBe(200);
          expect(response.headers.get('access-control-allow-origin')).toBe(origin);
          expect(response.headers.get('access-control-allow-credentials')).toBeNull();
          expect(response.headers.get('access-control-expose-headers')).toContain('X-Request-Id');
        }
      }
      expect((await postGraphQL(listed, EVIL)).headers.get('access-control-allow-origin')).toBeNull();
      expect((await preflight(listed, '/graphql', EVIL)).status).toBe(403);
    });
  });

  it('with CORS_ORIGINS=* allows any origin, still without credentials', async () => {
    const response = await postGraphQL(anyOrigin, EVIL);
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    expect(response.headers.get('access-control-allow-credentials')).toBeNull();
    expect((await preflight(anyOrigin, '/runs', EVIL)).status).toBe(204);
  });

  it('names CORS_ORIGINS when an entry is not an origin', () => {
    expect(
      loadConfig({ CORS_ORIGINS: 'https://a.example.com/, http://b.example.com:8080' }).corsOrigins,
    ).toEqual(['https://a.example.com', 'http://b.example.com:8080']);
    for (const bad of ['app.example.com', 'https://a.example.com/path', 'ftp://a.example.com']) {
      expect(() => loadConfig({ CORS_ORIGINS: bad })).toThrow(ConfigError);
      expect(() => loadConfig({ CORS_ORIGINS: bad })).toThrow(/CORS_ORIGINS/);
    }
  });
});
