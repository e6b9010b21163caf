import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contentSecurityPolicy } from '../../src/http/dashboard.js';
import { buildDashboardCopy } from '../support/dashboard.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { type RunningService, startService, TEST_TOKEN } from '../support/service.js';

const BUDGET_GZIP_BYTES = 150 * 1024;

describe('the dashboard as the service serves it', () => {
  let db: TestDatabase;
  let service: RunningService;
  let build: ReturnType<typeof buildDashboardCopy>;

  beforeAll(async () => {
    build = buildDashboardCopy();
    db = await createTestDatabase();
    // No run is started here, so OpenHands is never called.
    service = await startService(db.url, 'http://127.0.0.1:9', {}, { app: { dashboardDir: build.dir } });
  });
  afterAll(async () => {
    await service?.stop();
    await db?.drop();
    build?.remove();
  });

  const get = (path: string, headers: Record<string, string> = {}) =>
    fetch(`${service.url}${path}`, { headers });
  const scriptOf = (html: string) => /<script[^>]+src="(\/assets\/[^"]+)"/.exec(html)![1];

  it('answers / with index.html, never cached, under a same-origin Content-Security-Policy', async () => {
    const res = await get('/');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-cache');
    const csp = res.headers.get('content-security-policy')!;
    const host = new URL(service.url).host;
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain(`connect-src 'self' ws://${host} wss://${host}`);
    expect(csp).toContain("default-src 'none'");
    const html = await res.text();
    expect(html).toContain('<div id="app">');
    // Nothing from another origin: no CDN, no web fonts.
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
  });

  it('serves hashed assets as immutable, gzipped for clients that take it', async () => {
    const script = scriptOf(await (await get('/')).text());
    const plain = await get(script, { 'accept-encoding': 'identity' });
    expect(plain.status).toBe(200);
    expect(plain.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(plain.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    const body = Buffer.from(await plain.arrayBuffer());
    // fetch undoes the gzip itself, so the same bytes must come out of the gzipped answer.
    const zipped = await get(script, { 'accept-encoding': 'gzip' });
    expect(zipped.headers.get('content-encoding')).toBe('gzip');
    expect(Buffer.from(await zipped.arrayBuffer()).equals(body)).toBe(true);
    expect(gunzipSync(readFileSync(join(build.dir, `${script.slice(1)}.gz`))).equals(body)).toBe(true);
  });

  it('keeps the first load within 150 KB of JavaScript gzipped', async () => {
    const html = await (await get('/')).text();
    const scripts = [...html.matchAll(/<script[^>]+src="\/assets\/([^"]+)"/g)].map((m) => m[1]);
    expect(scripts.length).toBeGreaterThan(0);
    const gzipped = scripts.reduce(
      (sum, name) => sum + gzipSync(readFileSync(join(build.dir, 'assets', name))).length,
      0,
    );
    expect(gzipped).toBeLessThanOrEqual(BUDGET_GZIP_BYTES);
    // Every script the page loads is in the count: no further chunk is fetched at start.
    expect(readdirSync(join(build.dir, 'assets')).filter((n) => n.endsWith('.js'))).toEqual(scripts);
  });

  it('gives browser navigations under /runs/ the page and API calls the JSON', async () => {
    const auth = { authorization: `Bearer ${TEST_TOKEN}` };
    for (const path of ['/runs', '/runs/run_abc', '/runs/run_abc/anything']) {
      const page = await get(path, { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' });
      expect(page.status, path).toBe(200);
      expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    }
    const list = await get('/runs', { ...auth, accept: '*/*' });
    expect(list.status).toBe(200);
    expect(list.headers.get('content-type')).toContain('application/json');
    expect(await list.json()).toHaveProperty('runs');
    const one = await get('/runs/run_missing', { ...auth, accept: 'application/json' });
    expect(one.status).toBe(404);
    expect((await one.json()).error.code).toBe('NOT_FOUND');
    // Without a token the API still says so, however the client asks.
    expect((await get('/runs')).status).toBe(401);
  });

  it('leaves /health, /ready and /graphql alone and 404s unknown assets and paths', async () => {
    expect((await get('/health', { accept: 'text/html' })).headers.get('content-type')).toContain(
      'application/json',
    );
    expect((await get('/ready', { accept: 'text/html' })).status).toBe(200);
    const graphiql = await get('/graphql', { accept: 'text/html' });
    expect(await graphiql.text()).not.toContain('<div id="app">');
    for (const path of [
      '/assets/nope-ABCDEFGH.js',
      '/assets/..%2F..%2Fpackage.json',
      '/assets/.hidden.js',
      '/elsewhere',
    ]) {
      const res = await get(path, { accept: 'text/html' });
      expect(res.status, path).toBe(404);
      expect((await res.json()).error.code).toBe('NOT_FOUND');
    }
  });

  it('refuses to echo a strange Host header into the policy', () => {
    expect(contentSecurityPolicy('evil.example; script-src *')).toContain("connect-src 'self';");
    expect(contentSecurityPolicy('[::1]:8080')).toContain('ws://[::1]:8080');
  });
});
