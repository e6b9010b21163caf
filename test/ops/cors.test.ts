import { describe, expect } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/service.js';
import { test as fixtures } from '../support/fixtures.js';
import { type RunningService, TEST_TOKEN } from '../support/service.js';

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

// Three services with different CORS_ORIGINS on the file's database and simulator; their pollers stay off.
const test = fixtures
  .extend('sameOrigin', { scope: 'file' }, ({ launch }) => launch({ POLLER_ENABLED: 'false' }))
  .extend('listed', { scope: 'file' }, ({ launch }) =>
    launch({ POLLER_ENABLED: 'false', CORS_ORIGINS: `${APP}, http://localhost:5173` }),
  )
  .extend('anyOrigin', { scope: 'file' }, ({ launch }) =>
    launch({ POLLER_ENABLED: 'false', CORS_ORIGINS: '*' }),
  );

describe('CORS', () => {
  describe('by default (no CORS_ORIGINS): same-origin only', () => {
    test('sends no CORS headers to a foreign origin, on GraphQL and REST', async ({ sameOrigin }) => {
      for (const response of [await postGraphQL(sameOrigin, EVIL), await getRest(sameOrigin, EVIL)]) {
        // The request itself is served (same-origin pages and non-browser clients send Origin too)…
        expect(response.status).toBe(200);
        // …but a foreign page may not read the answer, and never with credentials.
        expect(response.headers.get('access-control-allow-origin')).toBeNull();
        expect(response.headers.get('access-control-allow-credentials')).toBeNull();
        expect(response.headers.get('vary')).toMatch(/origin/i);
      }
    });

    test('refuses preflights with 403 and a JSON body naming CORS_ORIGINS', async ({ sameOrigin }) => {
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
    test('answers preflights of a listed origin, without credentials', async ({ listed }) => {
      for (const path of ['/graphql', '/runs']) {
        const response = await preflight(listed, path, APP);
        expect(response.status).toBe(204);
        expect(response.headers.get('access-control-allow-origin')).toBe(APP);
        expect(response.headers.get('access-control-allow-methods')).toContain('POST');
        expect(response.headers.get('access-control-allow-headers')).toBe('authorization, content-type');
        expect(response.headers.get('access-control-allow-credentials')).toBeNull();
      }
    });

    test('lets a listed origin read GraphQL and REST answers, and no other origin', async ({ listed }) => {
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

  test('with CORS_ORIGINS=* allows any origin, still without credentials', async ({ anyOrigin }) => {
    const response = await postGraphQL(anyOrigin, EVIL);
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    expect(response.headers.get('access-control-allow-credentials')).toBeNull();
    expect((await preflight(anyOrigin, '/runs', EVIL)).status).toBe(204);
  });

  test('names CORS_ORIGINS when an entry is not an origin', () => {
    expect(
      loadConfig({ CORS_ORIGINS: 'https://a.example.com/, http://b.example.com:8080' }).corsOrigins,
    ).toEqual(['https://a.example.com', 'http://b.example.com:8080']);
    for (const bad of ['app.example.com', 'https://a.example.com/path', 'ftp://a.example.com']) {
      expect(() => loadConfig({ CORS_ORIGINS: bad })).toThrow(ConfigError);
      expect(() => loadConfig({ CORS_ORIGINS: bad })).toThrow(/CORS_ORIGINS/);
    }
  });
});
