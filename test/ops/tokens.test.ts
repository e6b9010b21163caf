import { describe, expect } from 'vitest';
import { createApiToken, listApiTokens, parseLifetime, TokenAdminError } from '../../src/auth/token-admin.js';
import { TokenStore } from '../../src/auth/token-store.js';
import { LAST_USED_WRITE_MS, TokenVerifier } from '../../src/auth/tokens.js';
import type { TestDatabase } from '../support/database.js';
import { test } from '../support/fixtures.js';
import { GET_RUN, gql, START_RUN, waitFor } from '../support/graphql.js';
import { collectSse, collectWs, RUN_PROGRESS, wsClient } from '../support/live.js';
import { createToken, tokensCli } from '../support/ops.js';
import { sql, startRun } from '../support/runs.js';
import { type RunningService, TEST_TOKEN } from '../support/service.js';

const RUNS_CHANGED = `subscription($projectId: String) {
  runsChanged(projectId: $projectId) { seq run { id projectId status } }
}`;
const CANCEL = 'mutation($id: ID!) { cancelRun(id: $id) { run { id status } } }';
const LIST =
  'query($projectId: String) { runs(first: 100, projectId: $projectId) { totalCount edges { node { id projectId } } } }';

interface Changed {
  seq: number;
  run: { id: string; projectId: string; status: string };
}

// The default fixtures: a simulator with room for 100 conversations, and the service on API v1.
test.override({ serviceEnv: { TOKEN_RECHECK_MS: '200' } });

describe('stored API tokens', () => {
  /** Starts a run with `token`; `[sim:hang]` keeps it going. */
  async function startAs(
    service: RunningService,
    token: string,
    projectId: string,
    prompt = 'Work [sim:hang]',
  ) {
    return gql(service.graphqlUrl, START_RUN, { input: { projectId, compiledPrompt: prompt } }, token);
  }
  /** Starts a run with the unscoped test token; returns its id. */
  async function adminRun(
    service: RunningService,
    projectId: string,
    prompt = 'Work [sim:hang]',
  ): Promise<string> {
    return (await startRun(service.graphqlUrl, { projectId, compiledPrompt: prompt })).id;
  }

  describe('the tokens CLI', () => {
    test('creates a token, prints it once, stores only its hash, and exits promptly', async ({
      db,
      service,
    }) => {
      const result = await tokensCli(
        ['create', '--name', 'cli-a', '--project', 'p1', '--project', 'p2'],
        db.url,
      );
      // Done once it has printed: the schema engine's 10 s timer must not hold the process.
      expect(result.lingerMs).toBeLessThan(4000);
      expect(result.code).toBe(0);
      const token = result.stdout.trim();
      expect(token).toMatch(/^ohr_[\w-]{20,}$/);
      expect(result.stdout.split('\n').filter(Boolean)).toHaveLength(1);
      expect(result.stderr).toContain('shown only this once');
      const rows = await sql(db.url, 'SELECT * FROM "ApiToken" WHERE name = $1', ['cli-a']);
      expect(rows).toHaveLength(1);
      expect(rows[0].projects).toEqual(['p1', 'p2']);
      expect(JSON.stringify(rows)).not.toContain(token);
      // The token works at once, limited to its projects.
      const res = await gql(service.graphqlUrl, LIST, {}, token);
      expect(res.status).toBe(200);
      expect(res.errors).toBeUndefined();
    });

    test('lists tokens without secrets, as a table or JSON', async ({ db }) => {
      const table = await tokensCli(['list'], db.url);
      expect(table.code).toBe(0);
      expect(table.stdout).toMatch(/^NAME\s+STATE\s+PROJECTS/);
      expect(table.stdout).toMatch(/cli-a\s+active\s+p1,p2/);
      const json = await tokensCli(['list', '--json'], db.url);
      const tokens = JSON.parse(json.stdout) as Array<Record<string, unknown>>;
      const entry = tokens.find((t) => t.name === 'cli-a')!;
      expect(entry).toMatchObject({ projects: ['p1', 'p2'], revokedAt: null });
      expect(Object.keys(entry)).not.toContain('tokenHash');
    });

    test('revokes by name (harmless twice) and allows the name again for a new token', async ({
      db,
      service,
    }) => {
      const old = await createToken(db.url, 'rotate-me');
      expect((await gql(service.graphqlUrl, LIST, {}, old)).status).toBe(200);
      const revoked = await tokensCli(['revoke', 'rotate-me'], db.url);
      expect(revoked.code).toBe(0);
      expect(revoked.stdout).toContain('Revoked token "rotate-me"');
      const refused = await gql(service.graphqlUrl, LIST, {}, old);
      expect(refused.status).toBe(401);
      expect(refused.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      expect((await tokensCli(['revoke', 'rotate-me'], db.url)).stdout).toContain('already revoked');
      const list = await tokensCli(['list'], db.url);
      expect(list.stdout).toMatch(/rotate-me\s+revoked/);

      const fresh = await createToken(db.url, 'rotate-me');
      expect((await gql(service.graphqlUrl, LIST, {}, fresh)).status).toBe(200);
      expect((await gql(service.graphqlUrl, LIST, {}, old)).status).toBe(401);
    });

    test('refuses bad input with a message and a non-zero exit', async ({ db }) => {
      const dup = await tokensCli(['create', '--name', 'cli-a'], db.url);
      expect(dup.code).toBe(1);
      expect(dup.stderr).toContain('already exists');
      expect(dup.stdout).toBe('');
      const badName = await tokensCli(['create', '--name', 'env:1'], db.url);
      expect(badName.code).toBe(1);
      const unknown = await tokensCli(['revoke', 'nobody'], db.url);
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toContain('No token named "nobody"');
      const usage = await tokensCli([], db.url);
      expect(usage.code).toBe(2);
      expect(usage.stderr).toContain('Usage');
      const noName = await tokensCli(['create'], db.url);
      expect(noName.code).toBe(2);
    });
  });

  describe('a project-scoped token', () => {
    let scoped: string;
    let own: string;
    let foreign: string;

    test.beforeAll(async ({ db, service }) => {
      scoped = await createToken(db.url, 'team-a', ['proj-a']);
      own = await adminRun(service, 'proj-a');
      foreign = await adminRun(service, 'proj-b');
    });

    test('queries: sees its projects only; other runs read as absent', async ({ service }) => {
      const mine = await gql(service.graphqlUrl, GET_RUN, { id: own }, scoped);
      expect(mine.data?.run?.id).toBe(own);
      const theirs = await gql(service.graphqlUrl, GET_RUN, { id: foreign }, scoped);
      expect(theirs.errors).toBeUndefined();
      expect(theirs.data?.run).toBeNull();
      // Exactly what an id that never existed looks like: no existence leak.
      const never = await gql(service.graphqlUrl, GET_RUN, { id: 'run_00000000000000000000000000' }, scoped);
      expect(theirs.data).toEqual(never.data);
    });

    test('lists: only its projects, even when asking for another one', async ({ service }) => {
      const all = await gql(service.graphqlUrl, LIST, {}, scoped);
      const projects = new Set(
        all.data!.runs.edges.map((e: { node: { projectId: string } }) => e.node.projectId),
      );
      expect([...projects]).toEqual(['proj-a']);
      expect(all.data!.runs.totalCount).toBe(all.data!.runs.edges.length);
      const other = await gql(service.graphqlUrl, LIST, { projectId: 'proj-b' }, scoped);
      expect(other.data!.runs).toEqual({ totalCount: 0, edges: [] });
      const admin = await gql(service.graphqlUrl, LIST, { projectId: 'proj-b' });
      expect(admin.data!.runs.totalCount).toBeGreaterThan(0);
    });

    test('mutations: starts and cancels in its projects only', async ({ db, service }) => {
      const before = await sql<{ n: number }>(
        db.url,
        `SELECT count(*)::int AS n FROM "Run" WHERE "projectId" = 'proj-b'`,
      );
      const refused = await startAs(service, scoped, 'proj-b');
      expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      const after = await sql<{ n: number }>(
        db.url,
        `SELECT count(*)::int AS n FROM "Run" WHERE "projectId" = 'proj-b'`,
      );
      expect(after[0].n).toBe(before[0].n);

      const cancelForeign = await gql(service.graphqlUrl, CANCEL, { id: foreign }, scoped);
      expect(cancelForeign.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
      const stillThere = await gql(service.graphqlUrl, GET_RUN, { id: foreign });
      expect(stillThere.data!.run.status).not.toBe('CANCELLED');

      const started = await startAs(service, scoped, 'proj-a');
      expect(started.errors).toBeUndefined();
      const cancelled = await gql(service.graphqlUrl, CANCEL, { id: started.data!.startRun.run.id }, scoped);
      expect(cancelled.data?.cancelRun.run.status).toBe('CANCELLED');
    });

    test('subscriptions: runProgress of another project is NOT_FOUND; runsChanged carries its projects only', async ({
      service,
    }) => {
      const client = wsClient(service.url, scoped);
      const admin = wsClient(service.url, TEST_TOKEN);
      try {
        const progress = collectWs(client, RUN_PROGRESS, { runId: foreign });
        await progress.done.catch(() => {});
        expect(progress.items).toEqual([]);
        expect(JSON.stringify(progress.errors)).toContain('NOT_FOUND');

        const ownProgress = collectWs(client, RUN_PROGRESS, { runId: own });
        await waitFor('a snapshot of its own run', async () => ownProgress.items.length > 0);
        ownProgress.stop();

        const scopedAll = collectWs<Changed>(client, RUNS_CHANGED, {});
        const scopedForeign = collectWs<Changed>(client, RUNS_CHANGED, { projectId: 'proj-b' });
        const adminAll = collectWs<Changed>(admin, RUNS_CHANGED, {});
        // Subscriptions are registered before these runs change anything.
        await new Promise((resolve) => setTimeout(resolve, 300));
        const a = await adminRun(service, 'proj-a', 'Changed A [sim:hang]');
        const b = await adminRun(service, 'proj-b', 'Changed B [sim:hang]');
        await waitFor('the admin to see both runs change', async () =>
          [a, b].every((id) => adminAll.items.some((i) => i.run.id === id)),
        );
        await waitFor('the scoped token to see its run change', async () =>
          scopedAll.items.some((i) => i.run.id === a),
        );
        // Give any leaked proj-b change the time to arrive too.
        await new Promise((resolve) => setTimeout(resolve, 500));
        expect(scopedAll.items.every((i) => i.run.projectId === 'proj-a')).toBe(true);
        expect(scopedForeign.items).toEqual([]);
        expect(scopedAll.errors).toEqual([]);
        scopedAll.stop();
        scopedForeign.stop();
        adminAll.stop();
      } finally {
        await client.dispose();
        await admin.dispose();
      }
    });
  });

  describe('revocation', () => {
    test('refuses the next request and closes the open subscriptions (graphql-ws with 4403, SSE ends)', async ({
      db,
      service,
    }) => {
      const token = await createToken(db.url, 'revoke-me');
      const closes: number[] = [];
      const client = wsClient(service.url, token, {
        on: { closed: (event) => closes.push((event as { code: number }).code) },
      });
      const adminCloses: number[] = [];
      const admin = wsClient(service.url, TEST_TOKEN, {
        on: { closed: (event) => adminCloses.push((event as { code: number }).code) },
      });
      try {
        const ws = collectWs<Changed>(client, RUNS_CHANGED, {});
        const sse = collectSse<Changed>(service.url, RUNS_CHANGED, {}, token);
        const control = collectWs<Changed>(admin, RUNS_CHANGED, {});
        await new Promise((resolve) => setTimeout(resolve, 300));
        const first = await adminRun(service, 'revocation');
        await waitFor('all three subscriptions to be live', async () =>
          [ws, sse, control].every((s) => s.items.some((i) => i.run.id === first)),
        );
        expect(service.app.live.open).toBeGreaterThanOrEqual(3);

        const revoked = await tokensCli(['revoke', 'revoke-me'], db.url);
        expect(revoked.code).toBe(0);

        // The very next request is refused…
        const next = await gql(service.graphqlUrl, LIST, {}, token);
        expect(next.status).toBe(401);
        expect(next.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
        // …and within a few TOKEN_RECHECK_MS the open ones are closed.
        await waitFor('the WebSocket to be closed with 4403', async () => closes.includes(4403), 5000);
        await expect(ws.done).rejects.toBeTruthy();
        await sse.done;
        sse.client.dispose();

        // A new connection with the revoked token is refused at connection_init.
        const again: number[] = [];
        const retry = wsClient(service.url, token, {
          on: { closed: (event) => again.push((event as { code: number }).code) },
        });
        const refused = collectWs<Changed>(retry, RUNS_CHANGED, {});
        await refused.done.catch(() => {});
        expect(again).toEqual([4403]);
        await retry.dispose();

        // Other tokens' subscriptions carry on.
        const second = await adminRun(service, 'revocation');
        await waitFor('the control subscription to see the next change', async () =>
          control.items.some((i) => i.run.id === second),
        );
        expect(adminCloses).toEqual([]);
        control.stop();
      } finally {
        await client.dispose();
        await admin.dispose();
      }
    });
  });
  describe('expiry', () => {
    /** Moves a stored token's expiry into the past, as if its --expires-in had run out. */
    async function expire(db: TestDatabase, name: string): Promise<void> {
      await sql(db.url, `UPDATE "ApiToken" SET "expiresAt" = now() - interval '1 second' WHERE name = $1`, [
        name,
      ]);
    }

    test('create --expires-in stores the expiry; list shows it; bad lifetimes are refused', async ({
      db,
      service,
    }) => {
      const before = Date.now();
      const created = await tokensCli(['create', '--name', 'exp-90d', '--expires-in', '90d'], db.url);
      expect(created.code).toBe(0);
      expect(created.stderr).toContain('valid until');
      const [row] = await sql<{ expiresAt: Date }>(
        db.url,
        `SELECT "expiresAt" FROM "ApiToken" WHERE name = 'exp-90d'`,
      );
      const days = (row.expiresAt.getTime() - before) / 86_400_000;
      expect(days).toBeGreaterThan(89.99);
      expect(days).toBeLessThan(90.01);
      expect((await gql(service.graphqlUrl, LIST, {}, created.stdout.trim())).status).toBe(200);

      await createApiToken(new TokenStore(service.app.database.prisma), { name: 'exp-never' });
      const list = await tokensCli(['list'], db.url);
      expect(list.stdout).toMatch(/^NAME\s+STATE\s+PROJECTS\s+CREATED\s+LAST USED\s+EXPIRES\s+REVOKED/);
      expect(list.stdout).toMatch(
        new RegExp(
          `exp-90d\\s+active\\s+\\*\\s+\\S+ \\S+\\s+\\S+(?: \\S+)?\\s+${row.expiresAt.toISOString().slice(0, 10)} `,
        ),
      );
      expect(list.stdout).toMatch(/exp-never\s+active\s+\*\s+\S+ \S+\s+-\s+never\s+-/);
      await expire(db, 'exp-90d');
      expect((await tokensCli(['list'], db.url)).stdout).toMatch(/exp-90d\s+expired/);
      // What `list --json` prints.
      const listed = (await listApiTokens(new TokenStore(service.app.database.prisma))).find(
        (t) => t.name === 'exp-90d',
      );
      expect(listed?.expiresAt?.getTime()).toBeLessThan(Date.now());

      const refused = await tokensCli(['create', '--name', 'exp-bad', '--expires-in', '5w'], db.url);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('--expires-in takes a positive number and a unit s, m, h or d');
      expect(refused.stdout).toBe('');
    });

    test('reads lifetimes in s, m, h and d, and refuses anything else', () => {
      expect(parseLifetime('45s')).toBe(45_000);
      expect(parseLifetime('30m')).toBe(30 * 60_000);
      expect(parseLifetime('12h')).toBe(12 * 3_600_000);
      expect(parseLifetime('90d')).toBe(90 * 86_400_000);
      for (const bad of ['90', '0d', '-1d', '5w', '1.5h', '99999d', '', 'd']) {
        expect(() => parseLifetime(bad), bad).toThrow(TokenAdminError);
      }
    });

    test('an expired token gets 401 UNAUTHENTICATED saying so, on GraphQL, SSE and REST', async ({
      db,
      service,
    }) => {
      const token = await createToken(db.url, 'exp-http', []);
      expect((await gql(service.graphqlUrl, LIST, {}, token)).status).toBe(200);
      await expire(db, 'exp-http');

      const graphql = await gql(service.graphqlUrl, LIST, {}, token);
      expect(graphql.status).toBe(401);
      expect(graphql.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      expect(graphql.errors?.[0]?.message).toMatch(/expired/);
      expect(JSON.stringify(graphql)).not.toContain(token);

      const sse = await fetch(`${service.url}/graphql`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'text/event-stream',
          'content-type': 'application/json',
        },
        body: JSON.stringify({ query: RUNS_CHANGED }),
      });
      expect(sse.status).toBe(401);
      expect(await sse.text()).toMatch(/expired/);

      const rest = await fetch(`${service.url}/runs`, { headers: { authorization: `Bearer ${token}` } });
      expect(rest.status).toBe(401);
      const body = (await rest.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('UNAUTHENTICATED');
      expect(body.error.message).toMatch(/expired/);
      expect(JSON.stringify(body)).not.toContain(token);
      // Unknown tokens keep their own message.
      const unknown = await gql(service.graphqlUrl, LIST, {}, 'ohr_not-a-token');
      expect(unknown.status).toBe(401);
      expect(unknown.errors?.[0]?.message).not.toMatch(/expired/);
    });

    test('closes what an expiring token has open (graphql-ws with 4403, SSE ends) and refuses new sockets', async ({
      db,
      service,
    }) => {
      const token = await createToken(db.url, 'exp-live');
      const closes: Array<{ code: number; reason: string }> = [];
      const client = wsClient(service.url, token, {
        on: { closed: (event) => closes.push(event as { code: number; reason: string }) },
      });
      try {
        const ws = collectWs<Changed>(client, RUNS_CHANGED, {});
        const sse = collectSse<Changed>(service.url, RUNS_CHANGED, {}, token);
        await new Promise((resolve) => setTimeout(resolve, 300));
        const first = await adminRun(service, 'expiry');
        await waitFor('both subscriptions to be live', async () =>
          [ws, sse].every((sub) => sub.items.some((i) => i.run.id === first)),
        );

        await expire(db, 'exp-live');
        await waitFor('the WebSocket to be closed with 4403', async () => closes.length > 0, 5000);
        expect(closes[0]).toMatchObject({ code: 4403, reason: 'Forbidden: the API token expired' });
        await expect(ws.done).rejects.toBeTruthy();
        await sse.done;
        sse.client.dispose();

        const again: Array<{ code: number; reason: string }> = [];
        const retry = wsClient(service.url, token, {
          on: { closed: (event) => again.push(event as { code: number; reason: string }) },
        });
        await collectWs<Changed>(retry, RUNS_CHANGED, {}).done.catch(() => {});
        expect(again).toHaveLength(1);
        expect(again[0].code).toBe(4403);
        expect(again[0].reason).toMatch(/^Forbidden: The API token expired at \d{4}-/);
        await retry.dispose();
      } finally {
        await client.dispose();
      }
    });
  });

  describe('lastUsedAt', () => {
    const OLD = new Date('2000-01-01T00:00:00Z');
    const lastUsed = async (db: TestDatabase, name: string) =>
      (
        await sql<{ lastUsedAt: Date | null }>(
          db.url,
          `SELECT "lastUsedAt" FROM "ApiToken" WHERE name = $1`,
          [name],
        )
      )[0].lastUsedAt;
    const setLastUsed = (db: TestDatabase, name: string, at: Date) =>
      sql(db.url, `UPDATE "ApiToken" SET "lastUsedAt" = $2 WHERE name = $1`, [name, at]);

    test('is written on first use, then not on every request', async ({ db, service }) => {
      const token = await createToken(db.url, 'used-often');
      expect(await lastUsed(db, 'used-often')).toBeNull();
      expect((await gql(service.graphqlUrl, LIST, {}, token)).status).toBe(200);
      await waitFor('lastUsedAt to be written', async () => (await lastUsed(db, 'used-often')) !== null);
      await setLastUsed(db, 'used-often', OLD);
      for (let i = 0; i < 5; i++) expect((await gql(service.graphqlUrl, LIST, {}, token)).status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await lastUsed(db, 'used-often')).toEqual(OLD);
    });

    test('is written again once a minute has passed (and expiry follows the same clock)', async ({
      db,
      service,
    }) => {
      const token = await createToken(db.url, 'used-clock');
      await sql(db.url, `UPDATE "ApiToken" SET "expiresAt" = $2 WHERE name = $1`, [
        'used-clock',
        new Date(Date.now() + 10 * LAST_USED_WRITE_MS),
      ]);
      let now = Date.now();
      const verifier = new TokenVerifier(new TokenStore(service.app.database.prisma), [], false, () => now);
      expect(await verifier.verify(token)).toMatchObject({ name: 'used-clock' });
      await waitFor('the first write', async () => (await lastUsed(db, 'used-clock')) !== null);
      await setLastUsed(db, 'used-clock', OLD);
      now += LAST_USED_WRITE_MS - 1000;
      await verifier.verify(token);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(await lastUsed(db, 'used-clock')).toEqual(OLD);
      now += 1000;
      await verifier.verify(token);
      await waitFor(
        'the write a minute later',
        async () => (await lastUsed(db, 'used-clock'))?.getTime() === now,
      );
      now += 10 * LAST_USED_WRITE_MS;
      await expect(verifier.verify(token)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    });
  });
});
