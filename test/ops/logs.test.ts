import { sign } from '@octokit/webhooks-methods';
import { afterAll, describe, expect, it } from 'vitest';
import { type App, buildApp } from '../../src/app.js';
import { createApiToken } from '../../src/auth/token-admin.js';
import { TokenStore } from '../../src/auth/token-store.js';
import { hashToken } from '../../src/auth/tokens.js';
import { loadConfig } from '../../src/config/service.js';
import { createLogger } from '../../src/logger.js';
import { test } from '../support/fixtures.js';
import { GET_RUN, gql, waitFor } from '../support/graphql.js';
import { collectWs, wsClient } from '../support/live.js';
import { getMetrics } from '../support/ops.js';
import { postGitHub, pullRequestPayload } from '../support/webhooks.js';

// Every secret the service handles; none may appear in a log line.
const ENV_TOKEN = 'env-token-3f9a7c1e5b2d';
const WRONG_TOKEN = 'ohr_wrong-but-looks-real-8d1f3a';
const OPENHANDS_KEY = 'openhands-session-key-77c2e9';
const GITHUB_SECRET = 'github-hook-secret-41bb0a';
const METRICS_TOKEN = 'metrics-token-a91c44';

test.override({ simulatorOptions: { sessionApiKey: OPENHANDS_KEY } });

describe('logs', () => {
  let app: App;
  let url: string;
  let stored: string;
  const lines: string[] = [];

  // The app is built here rather than by the service fixture: it needs the real logger writing into `lines`.
  test.beforeAll(async ({ db, sim }) => {
    const config = loadConfig({
      DATABASE_URL: db.url,
      OPENHANDS_BASE_URL: sim.url,
      OPENHANDS_TOKEN: OPENHANDS_KEY,
      OPENHANDS_API_VERSION: 'v1',
      API_TOKENS: ENV_TOKEN,
      GITHUB_WEBHOOK_SECRET: GITHUB_SECRET,
      METRICS_TOKEN,
      POLL_INTERVAL_MS: '50',
      LOG_LEVEL: 'debug',
    });
    // The real logger (redaction, request-id mixin) writing into memory.
    const log = createLogger('debug', { write: (line: string) => void lines.push(line) });
    app = await buildApp(config, { log, retryBaseMs: 20 });
    url = (await app.start(0, '127.0.0.1')).url;
    stored = (await createApiToken(new TokenStore(app.database.prisma), { name: 'logged', projects: [] }))
      .token;
  });
  afterAll(async () => {
    await app?.stop();
  });

  const parsed = () => lines.map((line) => JSON.parse(line) as Record<string, any>);

  it('keeps tokens, secrets and signatures out of every line while the service is used in every way', async () => {
    const graphqlUrl = `${url}/graphql`;
    expect((await gql(graphqlUrl, '{ runs(first: 1) { totalCount } }', {}, ENV_TOKEN)).status).toBe(200);
    expect((await gql(graphqlUrl, '{ runs(first: 1) { totalCount } }', {}, WRONG_TOKEN)).status).toBe(401);
    expect((await gql(graphqlUrl, '{ runs(first: 1) { totalCount } }', {}, stored)).status).toBe(200);
    expect(
      (await fetch(`${url}/runs/run_missing`, { headers: { authorization: `Bearer ${WRONG_TOKEN}` } }))
        .status,
    ).toBe(401);
    expect(
      (await fetch(`${url}/runs/run_missing`, { headers: { authorization: `Bearer ${stored}` } })).status,
    ).toBe(404);
    expect((await getMetrics(url, METRICS_TOKEN)).status).toBe(200);
    expect((await getMetrics(url, WRONG_TOKEN)).status).toBe(401);

    const client = wsClient(url, stored);
    const sub = collectWs(client, 'subscription { runsChanged { seq } }', {});
    const refusedWs = wsClient(url, WRONG_TOKEN);
    await collectWs(refusedWs, 'subscription { runsChanged { seq } }', {}).done.catch(() => {});
    await refusedWs.dispose();

    // A run that talks to OpenHands with its key.
    const started = await gql(
      graphqlUrl,
      'mutation($i: StartRunInput!) { startRun(input: $i) { run { id } } }',
      { i: { projectId: 'logs', compiledPrompt: 'logged run', repository: 'acme/widgets' } },
      ENV_TOKEN,
    );
    const run = started.data!.startRun.run as { id: string };
    await waitFor('the run to finish', async () => {
      const res = await gql(graphqlUrl, GET_RUN, { id: run.id }, ENV_TOKEN);
      return ['COMPLETED', 'FAILED'].includes(res.data?.run?.status);
    });
    sub.stop();
    await client.dispose();

    // Webhooks: a good signature and a bad one.
    const service = { url } as Parameters<typeof postGitHub>[0];
    const payload = pullRequestPayload('opened', { repository: 'acme/other', number: 7, headRef: 'x' });
    const signature = await sign(GITHUB_SECRET, JSON.stringify(payload));
    expect((await postGitHub(service, payload, { secret: GITHUB_SECRET })).status).toBeLessThan(300);
    expect((await postGitHub(service, payload, { signature: `sha256=${'ab'.repeat(32)}` })).status).toBe(401);

    // Someone logs a whole request or the whole config by mistake.
    app.log.info(
      { headers: { authorization: `Bearer ${ENV_TOKEN}`, 'x-hub-signature-256': signature } },
      'careless',
    );
    app.log.info({ config: app.config }, 'careless config');
    app.log.info(
      { req: { headers: { authorization: `Bearer ${stored}`, cookie: 'session=1' } } },
      'careless req',
    );

    const text = lines.join('');
    expect(lines.length).toBeGreaterThan(20);
    for (const secret of [
      ENV_TOKEN,
      WRONG_TOKEN,
      stored,
      hashToken(stored),
      OPENHANDS_KEY,
      GITHUB_SECRET,
      signature,
      METRICS_TOKEN,
    ]) {
      expect(text, `a log line contains ${secret.slice(0, 12)}…`).not.toContain(secret);
    }
    expect(text).toContain('[redacted]');
    // The lines are JSON, and lines about the run name it.
    const all = parsed();
    expect(all.some((l) => l.runId === run.id && /started upstream/.test(l.msg))).toBe(true);
  });

  it('puts the request id on every line of a request and echoes it; makes one when none (or a bad one) is sent', async () => {
    const sent = await fetch(`${url}/webhooks/github`, {
      method: 'POST',
      headers: {
        'x-request-id': 'req-hook-bad-1',
        'content-type': 'application/json',
        'x-github-event': 'pull_request',
        'x-github-delivery': 'd-1',
        'x-hub-signature-256': `sha256=${'cd'.repeat(32)}`,
      },
      body: '{}',
    });
    expect(sent.status).toBe(401);
    expect(sent.headers.get('x-request-id')).toBe('req-hook-bad-1');
    const refused = parsed().filter(
      (l) => l.msg === 'webhook delivery refused' && l.requestId === 'req-hook-bad-1',
    );
    expect(refused).toHaveLength(1);

    // A GraphQL request at debug level writes several lines (yoga's own); all carry its id.
    const before = lines.length;
    const res = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${ENV_TOKEN}`,
        'x-request-id': 'req-graphql-1',
      },
      body: JSON.stringify({ query: '{ runs(first: 1) { totalCount } }' }),
    });
    expect(res.headers.get('x-request-id')).toBe('req-graphql-1');
    await res.text();
    const during = lines.slice(before).map((l) => JSON.parse(l));
    expect(during.length).toBeGreaterThan(0);
    expect(during.every((l) => l.requestId === 'req-graphql-1')).toBe(true);

    const generated = await fetch(`${url}/health`);
    expect(generated.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const bad = await fetch(`${url}/health`, { headers: { 'x-request-id': 'has spaces and {json}' } });
    expect(bad.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('writes nothing about requests outside them: poller lines carry the run id, not a request id', async () => {
    const poller = parsed().filter((l) => l.component === 'poller' && l.runId);
    expect(poller.length).toBeGreaterThan(0);
    expect(poller.every((l) => l.requestId === undefined)).toBe(true);
  });
});

describe('the logger', () => {
  it('redacts secrets by key at any usual depth', () => {
    const out: string[] = [];
    const log = createLogger('info', { write: (line: string) => void out.push(line) });
    log.info(
      {
        token: 't1-secret',
        authorization: 'Bearer t2-secret',
        connectionParams: { authorization: 'Bearer t3-secret' },
        upstream: { headers: { authorization: 'Bearer t4-secret', 'x-session-api-key': 't5-secret' } },
        webhook: { signature: 't6-secret', secret: 't7-secret' },
        databaseUrl: 'postgresql://u:t8-secret@h/db',
      },
      'x',
    );
    expect(out.join('')).not.toMatch(/t\d-secret/);
  });
});
