import { describe, expect } from 'vitest';
import { type Stack, test } from '../support/fixtures.js';
import { GET_RUN, gql, START_RUN, sql, startRun } from '../support/runs.js';

const RUNS = `query($projectId: String, $first: Int, $after: String, $status: [RunStatus!]) {
  runs(projectId: $projectId, first: $first, after: $after, status: $status) {
    totalCount edges { cursor node { id } } pageInfo { hasNextPage endCursor }
  }
}`;

const valid = { projectId: 'val', compiledPrompt: 'Do the thing', repository: 'acme/widgets' };

test.override({ serviceEnv: { POLLER_ENABLED: 'false', MAX_PAGE_SIZE: '50' } });

describe('bad input is refused with BAD_USER_INPUT naming the field', () => {
  async function expectBadInput(stack: Stack, input: Record<string, unknown>, field: string) {
    const res = await gql(stack.url, START_RUN, { input });
    expect(res.data?.startRun ?? null, `accepted ${JSON.stringify(input)}`).toBeNull();
    expect(res.errors, JSON.stringify(res)).toHaveLength(1);
    const error = res.errors![0];
    expect(error.extensions?.code, JSON.stringify(error)).toBe('BAD_USER_INPUT');
    expect(error.extensions?.field, JSON.stringify(error)).toBe(field);
  }

  const cases: Array<[string, Record<string, unknown>, string]> = [
    ['projectId empty', { projectId: '' }, 'projectId'],
    ['projectId blank', { projectId: '   ' }, 'projectId'],
    ['projectId too long', { projectId: 'p'.repeat(201) }, 'projectId'],
    ['projectId with a control character', { projectId: 'a\nb' }, 'projectId'],
    ['compiledPrompt empty', { compiledPrompt: '' }, 'compiledPrompt'],
    ['compiledPrompt blank', { compiledPrompt: ' \n\t ' }, 'compiledPrompt'],
    ['compiledPrompt too long', { compiledPrompt: 'x'.repeat(200_001) }, 'compiledPrompt'],
    ['repository without owner', { repository: 'widgets' }, 'repository'],
    ['repository with an empty segment', { repository: 'acme//widgets' }, 'repository'],
    ['repository with dot-dot', { repository: 'acme/..' }, 'repository'],
    ['repository with spaces', { repository: 'acme/my widgets' }, 'repository'],
    ['repository empty', { repository: '' }, 'repository'],
    ['GitHub repository with a group path', { repository: 'a/b/c', gitProvider: 'GITHUB' }, 'repository'],
    ['branch with dot-dot', { branch: 'feature..x' }, 'branch'],
    ['branch with a space', { branch: 'my branch' }, 'branch'],
    ['branch starting with a dash', { branch: '-x' }, 'branch'],
    ['branch ending in .lock', { branch: 'main.lock' }, 'branch'],
    ['branch empty', { branch: '' }, 'branch'],
    ['branch without a repository', { repository: null, branch: 'main' }, 'branch'],
    ['metadata an array', { metadata: [1, 2] }, 'metadata'],
    ['metadata a string', { metadata: 'branch=main' }, 'metadata'],
    ['metadata a number', { metadata: 42 }, 'metadata'],
    ['metadata too large', { metadata: { blob: 'x'.repeat(70 * 1024) } }, 'metadata'],
    ['metadata.branch invalid', { metadata: { branch: 'a..b' } }, 'metadata.branch'],
    ['metadata.branch disagreeing with branch', { branch: 'main', metadata: { branch: 'dev' } }, 'branch'],
    ['idempotencyKey empty', { idempotencyKey: '' }, 'idempotencyKey'],
    ['idempotencyKey blank', { idempotencyKey: '   ' }, 'idempotencyKey'],
    ['idempotencyKey too long', { idempotencyKey: 'k'.repeat(256) }, 'idempotencyKey'],
  ];

  for (const [name, patch, field] of cases) {
    test(`${name} → ${field}`, async ({ stack }) => {
      await expectBadInput(stack, { ...valid, ...patch }, field);
    });
  }

  test('an unknown gitProvider enum value → gitProvider', async ({ stack }) => {
    await expectBadInput(stack, { ...valid, gitProvider: 'SOURCEFORGE' }, 'gitProvider');
  });

  test('a missing required field → BAD_USER_INPUT', async ({ stack }) => {
    const { projectId: _p, ...withoutProject } = valid;
    const res = await gql(stack.url, START_RUN, { input: withoutProject });
    expect(res.errors?.[0]?.extensions?.code, JSON.stringify(res)).toBe('BAD_USER_INPUT');
    expect(JSON.stringify(res.errors)).toContain('projectId');
  });

  test('stores nothing for refused input', async ({ stack }) => {
    const count = async () =>
      (await sql<{ n: number }>(stack.db.url, 'SELECT count(*)::int AS n FROM "Run"'))[0].n;
    const before = await count();
    const res = await gql(stack.url, START_RUN, { input: { ...valid, branch: 'bad..branch' } });
    expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(await count()).toBe(before);
  });

  test('accepts good input, normalising repository URLs and metadata.branch', async ({ stack }) => {
    const run = await startRun(stack.url, {
      ...valid,
      repository: 'https://gitlab.com/group/sub/project.git',
      metadata: { branch: 'feature/x', ticket: 'T-1' },
    });
    expect(run).toMatchObject({
      status: 'QUEUED',
      repository: 'group/sub/project',
      branch: 'feature/x',
      gitProvider: 'GITLAB',
      metadata: { branch: 'feature/x', ticket: 'T-1' },
    });
    const same = await startRun(stack.url, { ...valid, branch: 'main', metadata: { branch: 'main' } });
    expect(same.branch).toBe('main');
  });

  describe('runs() paging arguments', () => {
    test('first: 0 → first', async ({ stack }) => {
      const res = await gql(stack.url, RUNS, { first: 0 });
      expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'first' });
    });

    test('first: negative → first', async ({ stack }) => {
      const res = await gql(stack.url, RUNS, { first: -5 });
      expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'first' });
    });

    test('first above the page cap → first', async ({ stack }) => {
      const res = await gql(stack.url, RUNS, { first: 51 });
      expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'first' });
      const ok = await gql(stack.url, RUNS, { first: 50 });
      expect(ok.errors).toBeUndefined();
    });

    test('a cursor this service did not issue → after', async ({ stack }) => {
      for (const after of ['garbage', Buffer.from('{"c":1}').toString('base64url'), '']) {
        const res = await gql(stack.url, RUNS, { first: 5, after });
        if (after === '') {
          // An empty cursor means "from the start".
          expect(res.errors).toBeUndefined();
          continue;
        }
        expect(res.errors?.[0]?.extensions, `after=${after}`).toMatchObject({
          code: 'BAD_USER_INPUT',
          field: 'after',
        });
      }
    });

    test('an unknown status → BAD_USER_INPUT', async ({ stack }) => {
      const res = await gql(stack.url, RUNS, { status: ['DONE'] });
      expect(res.errors?.[0]?.extensions?.code, JSON.stringify(res)).toBe('BAD_USER_INPUT');
    });

    test('pages through runs newest first with a cursor it issued', async ({ stack }) => {
      for (let i = 0; i < 3; i++)
        await startRun(stack.url, { projectId: 'paging', compiledPrompt: `run ${i}` });
      const first = await gql(stack.url, RUNS, { projectId: 'paging', first: 2 });
      expect(first.errors).toBeUndefined();
      const page1 = first.data!.runs;
      expect(page1.totalCount).toBe(3);
      expect(page1.edges).toHaveLength(2);
      expect(page1.pageInfo.hasNextPage).toBe(true);
      const second = await gql(stack.url, RUNS, {
        projectId: 'paging',
        first: 2,
        after: page1.pageInfo.endCursor,
      });
      const page2 = second.data!.runs;
      expect(page2.edges).toHaveLength(1);
      expect(page2.pageInfo.hasNextPage).toBe(false);
      const ids = [...page1.edges, ...page2.edges].map((e: { node: { id: string } }) => e.node.id);
      expect(new Set(ids).size).toBe(3);
      expect([...ids].sort().reverse()).toEqual(ids);
    });
  });

  test('run(id) of an unknown id is null, cancelRun of one is NOT_FOUND', async ({ stack }) => {
    const res = await gql(stack.url, GET_RUN, { id: 'run_nope' });
    expect(res.errors).toBeUndefined();
    expect(res.data!.run).toBeNull();
    const cancel = await gql(stack.url, 'mutation($id: ID!) { cancelRun(id: $id) { run { id } } }', {
      id: 'run_nope',
    });
    expect(cancel.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });
});
