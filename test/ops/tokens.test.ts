import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestDatabase } from '../support/database.js';
import { GET_RUN, gql, START_RUN, waitFor } from '../support/graphql.js';
import { collectSse, collectWs, RUN_PROGRESS, wsClient } from '../support/live.js';
import { type Stack, sql, startStack } from '../support/runs.js';
import { type RunningService, TEST_TOKEN } from '../support/service.js';
import { createToken, tokensCli } from './support.js';

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

describe('stored API tokens', () => {
  let db: TestDatabase;
  let service: RunningService;
  let stack: Stack;

  beforeAll(async () => {
    // startStack: a simulator with room for 100 conversations, and the service on API v1.
    stack = await startStack({}, { TOKEN_RECHECK_MS: '200' });
    ({ db, service } = stack);
  });
  afterAll(async () => stack?.stop());

  /** Starts a run with the unscoped test token; `[sim:hang]` keeps it going. */
  async function startAs(token: string, projectId: string, prompt = 'Work [sim:hang]') {
    return gql(service.graphqlUrl, START_RUN, { input: { projectId, compiledPrompt: prompt } }, token);
  }
  async function adminRun(projectId: string, prompt?: string): Promise<string> {
    const res = await startAs(TEST_TOKEN, projectId, prompt);
    expect(res.errors).toBeUndefined();
    return res.data!.startRun.run.id;
  }

  describe('the tokens CLI', () => {
    it('creates a token, prints it once, stores only its hash, and exits promptly', async () => {
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

    it('lists tokens without secrets, as a table or JSON', async () => {
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

    it('revokes by name (harmless twice) and allows the name again for a new token', async () => {
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

    it('refuses bad input with a message and a non-zero exit', async () => {
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

    beforeAll(async () => {
      scoped = await createToken(db.url, 'team-a', ['proj-a']);
      own = await adminRun('proj-a');
      foreign = await adminRun('proj-b');
    });

    it('queries: sees its projects only; other runs read as absent', async () => {
      const mine = await gql(service.graphqlUrl, GET_RUN, { id: own }, scoped);
      expect(mine.data?.run?.id).toBe(own);
      const theirs = await gql(service.graphqlUrl, GET_RUN, { id: foreign }, scoped);
      expect(theirs.errors).toBeUndefined();
      expect(theirs.data?.run).toBeNull();
      // Exactly what an id that never existed looks like: no existence leak.
      const never = await gql(service.graphqlUrl, GET_RUN, { id: 'run_00000000000000000000000000' }, scoped);
      expect(theirs.data).toEqual(never.data);
    });

    it('lists: only its projects, even when asking for another one', async () => {
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

    it('mutations: starts and cancels in its projects only', async () => {
      const before = await sql<{ n: number }>(
        db.url,
        `SELECT count(*)::int AS n FROM "Run" WHERE "projectId" = 'proj-b'`,
      );
      const refused = await startAs(scoped, 'proj-b');
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

      const started = await startAs(scoped, 'proj-a');
      expect(started.errors).toBeUndefined();
      const cancelled = await gql(service.graphqlUrl, CANCEL, { id: started.data!.startRun.run.id }, scoped);
      expect(cancelled.data?.cancelRun.run.status).toBe('CANCELLED');
    });

    it('subscriptions: runProgress of another project is NOT_FOUND; runsChanged carries its projects only', async () => {
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
        const a = await adminRun('proj-a', 'Changed A [sim:hang]');
        const b = await adminRun('proj-b', 'Changed B [sim:hang]');
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
    it('refuses the next request and closes the open subscriptions (graphql-ws with 4403, SSE ends)', async () => {
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
        const first = await adminRun('revocation');
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
        const second = await adminRun('revocation');
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
});
