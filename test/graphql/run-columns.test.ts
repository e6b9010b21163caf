import { execute, parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { schema } from '../../src/graphql/schema/index.js';
import type { RunColumns } from '../../src/runs/store/index.js';

/** The columns `run(id)` and `runs` pass to the service for a query (the reads themselves are in e2e tests). */
async function columnsFor(query: string): Promise<{ get?: RunColumns; list?: RunColumns }> {
  const asked: { get?: RunColumns; list?: RunColumns } = {};
  const runs = {
    get: async (_id: string, _principal: unknown, columns?: RunColumns) => {
      asked.get = columns;
      return null;
    },
    list: async (_filter: unknown, _principal: unknown, columns?: RunColumns) => {
      asked.list = columns;
      return { edges: [], pageInfo: {}, totalCount: async () => 0 };
    },
  };
  const result = await execute({ schema, document: parse(query), contextValue: { services: { runs } } });
  expect(result.errors).toBeUndefined();
  return asked;
}

describe('columns read for a query', () => {
  it('selects the asked columns of run(id), through fragments, and what computed fields read', async () => {
    const { get } = await columnsFor(`
      query { run(id: "run_1") { __typename status ...F ... on Run { error { code } } } }
      fragment F on Run { percent openhands { status } pullRequest { url } outcome { summary } question }`);
    // Asked: status, percent, question, outcome; computed: 6 for openhands, 6 for pullRequest, 3 for error.
    expect(get).toMatchObject({ status: true, percent: true, question: true, outcome: true });
    expect(get).toMatchObject({ upstreamStatus: true, sandboxId: true, prUrl: true, prHeadSha: true });
    expect(get).toMatchObject({ errorCode: true, errorMessage: true, errorRetryable: true });
    expect(Object.keys(get ?? {})).toHaveLength(19);
    expect(get).not.toHaveProperty('compiledPrompt');
  });

  it('selects the node columns of runs(...) and only id for events', async () => {
    const { list } = await columnsFor(
      'query { runs(first: 5) { totalCount edges { cursor node { id phase events(first: 1) { totalCount } } } } }',
    );
    expect(list).toEqual({ id: true, phase: true });
  });
});
