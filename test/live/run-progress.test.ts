import { describe, expect } from 'vitest';
import { test } from '../support/fixtures.js';
import { GET_RUN, gql, waitFor } from '../support/graphql.js';
import { collectSse, collectWs, expectContiguous, RUN_PROGRESS, wsClient } from '../support/live.js';
import { FINAL, startRun } from '../support/runs.js';
import { type RunningService, TEST_TOKEN } from '../support/service.js';

// The service detects the API version itself (OPENHANDS_API_VERSION=auto), as it did before fixtures.
test.override({
  simulatorOptions: { apiVersion: 'v1', stepMs: 40 },
  serviceEnv: { OPENHANDS_API_VERSION: 'auto' },
});

describe('runProgress', () => {
  /** A run in project 'live'; returns its id. */
  async function startLiveRun(
    service: RunningService,
    prompt = 'Fix it',
    extra: Record<string, unknown> = {},
  ) {
    const run = await startRun(service.graphqlUrl, {
      projectId: 'live',
      compiledPrompt: prompt,
      repository: 'acme/app',
      ...extra,
    });
    return run.id as string;
  }

  async function storedSeqs(service: RunningService, id: string): Promise<number[]> {
    const res = await gql(service.graphqlUrl, GET_RUN, { id });
    return res.data!.run.events.edges.map((e: { node: { seq: number } }) => e.node.seq);
  }

  test('follows a run from QUEUED to COMPLETED over graphql-ws, every seq once, in order', async ({
    service,
  }) => {
    const client = wsClient(service.url);
    const id = await startLiveRun(service, '[sim:slow] add a feature');
    const sub = collectWs(client, RUN_PROGRESS, { runId: id });
    await sub.done;
    await client.dispose();

    expect(sub.errors).toEqual([]);
    const seqs = sub.items.map((e) => e.seq);
    expectContiguous(seqs);
    expect(sub.items[0].type).toBe('SNAPSHOT');
    expect(sub.items[0].status).toBe('QUEUED');
    const last = sub.items.at(-1)!;
    expect(last.status).toBe('COMPLETED');
    expect(last.percent).toBe(100);
    expect(last.run.id).toBe(id);
    // Nothing in the log was skipped: the subscription saw exactly the stored timeline.
    const stored = await storedSeqs(service, id);
    expect(seqs).toEqual(stored.slice(stored.indexOf(seqs[0])));
    expect(sub.items.filter((e) => FINAL.includes(e.status))).toHaveLength(1);
  });

  test('follows a run over SSE with the same guarantees', async ({ service }) => {
    const id = await startLiveRun(service, '[sim:slow] sse please');
    const sub = collectSse(service.url, RUN_PROGRESS, { runId: id });
    await sub.done;
    sub.client.dispose();
    expect(sub.errors).toEqual([]);
    const seqs = sub.items.map((e) => e.seq);
    expectContiguous(seqs);
    expect(sub.items.at(-1)!.status).toBe('COMPLETED');
    const stored = await storedSeqs(service, id);
    expect(seqs).toEqual(stored.slice(stored.indexOf(seqs[0])));
  });

  test('resumes with afterSeq after a disconnect mid-run, with no gap and no duplicate', async ({
    service,
  }) => {
    const id = await startLiveRun(service, '[sim:slow] resume me');
    const first = wsClient(service.url);
    const part = collectWs(first, RUN_PROGRESS, { runId: id, afterSeq: 0 });
    await waitFor(
      'a few events',
      async () => part.items.length >= 3 && !FINAL.includes(part.items.at(-1)!.status),
    );
    part.stop();
    await first.dispose();
    const seen = part.items.map((e) => e.seq);
    // Let the run move on while nobody listens.
    await waitFor('more events stored', async () => (await storedSeqs(service, id)).length > seen.length + 1);

    const second = wsClient(service.url);
    const rest = collectWs(second, RUN_PROGRESS, { runId: id, afterSeq: seen.at(-1) });
    await rest.done;
    await second.dispose();
    const all = [...seen, ...rest.items.map((e) => e.seq)];
    expect(all[0]).toBe(1);
    expectContiguous(all);
    expect(rest.items.at(-1)!.status).toBe('COMPLETED');
  });

  test('replays and completes for a run that already finished', async ({ service }) => {
    const id = await startLiveRun(service, 'quick one');
    await waitFor('run to finish', async () => {
      const res = await gql(service.graphqlUrl, GET_RUN, { id });
      return FINAL.includes(res.data!.run.status);
    });
    const client = wsClient(service.url);
    const replay = collectWs(client, RUN_PROGRESS, { runId: id, afterSeq: 0 });
    await replay.done;
    const snapshot = collectWs(client, RUN_PROGRESS, { runId: id });
    await snapshot.done;
    const pastEnd = collectWs(client, RUN_PROGRESS, { runId: id, afterSeq: 10_000 });
    await pastEnd.done;
    await client.dispose();
    expect(replay.items.map((e) => e.seq)).toEqual(
      await storedSeqs(service, id).then((s) => s.slice(0, replay.items.length)),
    );
    expect(replay.items.at(-1)!.status).toBe('COMPLETED');
    expect(snapshot.items).toHaveLength(1);
    expect(snapshot.items[0]).toMatchObject({ type: 'SNAPSHOT', status: 'COMPLETED', percent: 100 });
    expect(pastEnd.items).toEqual([]);
  });

  test('replays a finished run to many subscribers opened at the same moment, each from its own afterSeq', async ({
    service,
  }) => {
    const id = await startLiveRun(service, 'quick one, many readers');
    await waitFor('run to finish', async () => {
      const res = await gql(service.graphqlUrl, GET_RUN, { id });
      return FINAL.includes(res.data!.run.status);
    });
    const stored = await storedSeqs(service, id);
    // A fresh feed for this run on this instance: the first subscriber's read is in flight while the
    // others ask; none of them may take "nothing loaded yet" for "nothing there".
    const client = wsClient(service.url);
    const starts = Array.from({ length: 12 }, (_, i) => i % stored.length);
    const subs = starts.map((afterSeq) => collectWs(client, RUN_PROGRESS, { runId: id, afterSeq }));
    await Promise.all(subs.map((s) => s.done));
    await client.dispose();
    subs.forEach((sub, i) => {
      expect(sub.errors).toEqual([]);
      expect(sub.items.map((e) => e.seq)).toEqual(stored.filter((seq) => seq > starts[i]));
    });
  });

  test('answers NOT_FOUND for an unknown run', async ({ service }) => {
    const client = wsClient(service.url);
    const sub = collectWs(client, RUN_PROGRESS, { runId: 'run_00000000000000000000000000' });
    await sub.done.catch(() => {});
    await client.dispose();
    expect(sub.items).toEqual([]);
    expect(JSON.stringify(sub.errors)).toContain('NOT_FOUND');
  });

  test('answers BAD_USER_INPUT for variables of the wrong type, on both transports', async ({ service }) => {
    const variables = { runId: 'run_00000000000000000000000000', afterSeq: 'two' };
    const client = wsClient(service.url);
    const ws = collectWs(client, RUN_PROGRESS, variables);
    await ws.done.catch(() => {});
    await client.dispose();
    expect(ws.items).toEqual([]);
    expect(JSON.stringify(ws.errors)).toContain('BAD_USER_INPUT');
    // SSE: refused before the stream opens, as an HTTP error with the same code.
    const res = await fetch(`${service.url}/graphql`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'text/event-stream',
        authorization: `Bearer ${TEST_TOKEN}`,
      },
      body: JSON.stringify({ query: RUN_PROGRESS, variables }),
    });
    const body = await res.text();
    expect(body).toContain('BAD_USER_INPUT');
    expect(body).toContain('afterSeq');
  });

  test('delivers every event to 1,000 subscribers of one run', async ({ service }) => {
    const id = await startLiveRun(service, '[sim:slow] popular run');
    const clients = Array.from({ length: 20 }, () => wsClient(service.url));
    const subs = clients.flatMap((client) =>
      Array.from({ length: 50 }, () => collectWs(client, RUN_PROGRESS, { runId: id, afterSeq: 0 })),
    );
    expect(subs).toHaveLength(1000);
    await Promise.all(subs.map((s) => s.done));
    await Promise.all(clients.map((c) => c.dispose()));
    const stored = await storedSeqs(service, id);
    const expected = stored.slice(0, subs[0].items.length);
    for (const sub of subs) {
      expect(sub.errors).toEqual([]);
      expect(sub.items.map((e) => e.seq)).toEqual(expected);
      expect(sub.items.at(-1)!.status).toBe('COMPLETED');
    }
  });
});
