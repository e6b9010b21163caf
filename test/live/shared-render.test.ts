import { describe, expect } from 'vitest';
import { test } from '../support/fixtures.js';
import { gql, START_RUN, waitFor } from '../support/graphql.js';
import { collectSse, collectWs, type LiveEventMessage, RUN_PROGRESS, wsClient } from '../support/live.js';

/** A selection that reads a variable below the root: its renders must not be shared across values. */
const WITH_TIMELINE = `subscription($runId: ID!, $afterSeq: Int, $n: Int) {
  runProgress(runId: $runId, afterSeq: $afterSeq) { seq status run { id events(first: $n) { edges { node { seq } } } } }
}`;

const WITH_DEFAULT = WITH_TIMELINE.replace('$n: Int)', '$n: Int = 1)');

interface TimelineEvent {
  seq: number;
  status: string;
  run: { id: string; events: { edges: Array<{ node: { seq: number } }> } };
}

async function renderCounts(url: string): Promise<{ own: number; shared: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const count = (render: string) =>
    Number(
      text.match(
        new RegExp(`^openhands_runner_subscription_events_total\\{render="${render}"\\} (\\d+)`, 'm'),
      )?.[1] ?? 0,
    );
  return { own: count('own'), shared: count('shared') };
}

test.override({ simulatorOptions: { apiVersion: 'v1', stepMs: 40 } });

describe('subscription events are rendered once per event and selection', () => {
  test('shares renders across subscribers and resume points, on both transports, keeping each one whole', async ({
    service,
  }) => {
    const res = await gql(service.graphqlUrl, START_RUN, {
      input: { projectId: 'shared', compiledPrompt: '[sim:slow] shared', repository: 'acme/app' },
    });
    const id = res.data!.startRun.run.id as string;
    const before = await renderCounts(service.url);

    const client = wsClient(service.url);
    // 40 subscribers with one selection, resuming from different points; 2 over SSE.
    const ws = Array.from({ length: 40 }, (_, i) =>
      collectWs(client, RUN_PROGRESS, { runId: id, afterSeq: i % 2 }),
    );
    const sse = [0, 1].map(() => collectSse(service.url, RUN_PROGRESS, { runId: id, afterSeq: 0 }));
    // The same document with different values of a variable the selection reads.
    const short = collectWs<TimelineEvent>(client, WITH_TIMELINE, { runId: id, afterSeq: 0, n: 1 });
    const long = collectWs<TimelineEvent>(client, WITH_TIMELINE, { runId: id, afterSeq: 0, n: 3 });
    // A default applies when the variable is not sent, and an explicit null is something else.
    const byDefault = collectWs<TimelineEvent>(client, WITH_DEFAULT, { runId: id, afterSeq: 0 });
    const explicitNull = collectWs<TimelineEvent>(client, WITH_DEFAULT, { runId: id, afterSeq: 0, n: null });
    const all: Array<{ items: unknown[]; errors: unknown[]; done: Promise<void> }> = [
      ...ws,
      ...sse,
      short,
      long,
      byDefault,
      explicitNull,
    ];
    await Promise.all(all.map((s) => s.done));
    await client.dispose();
    for (const s of sse) s.client.dispose();

    for (const s of all) expect(s.errors).toEqual([]);
    const full = ws.find((s) => (s.items[0] as LiveEventMessage).seq === 1)!.items;
    expect(full.at(-1)!.status).toBe('COMPLETED');
    for (const s of [...ws, ...sse]) {
      const from = (s.items[0] as LiveEventMessage).seq;
      expect(s.items).toEqual(full.slice(full.findIndex((e) => e.seq === from)));
    }
    // Each got its own variable's worth of the timeline (renders keyed by the value).
    expect(short.items.length).toBeGreaterThan(3);
    for (const e of short.items) expect(e.run.events.edges).toHaveLength(1);
    // (The timeline is read when the event is rendered: early events see fewer than three entries.)
    for (const e of long.items) expect(e.run.events.edges.length).toBeLessThanOrEqual(3);
    expect(long.items.filter((e) => e.run.events.edges.length === 3).length).toBeGreaterThan(1);
    for (const e of byDefault.items) expect(e.run.events.edges).toHaveLength(1);
    expect(explicitNull.items.some((e) => e.run.events.edges.length > 1)).toBe(true);

    const after = await renderCounts(service.url);
    const delivered = all.reduce((sum, s) => sum + s.items.length, 0);
    const own = after.own - before.own;
    const shared = after.shared - before.shared;
    expect(own + shared).toBe(delivered);
    // At most one render per event per distinct selection (5 of them); replays read past the shared
    // tail may add a few more. Without sharing, own would equal delivered (about 44 per event).
    expect(own).toBeLessThanOrEqual(full.length * 5 + 10);
    expect(shared).toBeGreaterThan(delivered * 0.8);
  });

  test('gives runsChanged dashboards one read and one render per change, filtered per subscriber', async ({
    service,
  }) => {
    const project = `dash-${Date.now()}`;
    const query = `subscription($p: String, $s: [RunStatus!]) { runsChanged(projectId: $p, status: $s) { seq run { id projectId status } } }`;
    const client = wsClient(service.url);
    type Changed = { seq: number; run: { id: string; projectId: string; status: string } };
    const all = Array.from({ length: 12 }, () => collectWs<Changed>(client, query, { p: project }));
    const doneOnly = collectWs<Changed>(client, query, { p: project, s: ['COMPLETED'] });
    const other = collectWs<Changed>(client, query, { p: 'another-project' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const before = await renderCounts(service.url);

    const res = await gql(service.graphqlUrl, START_RUN, {
      input: { projectId: project, compiledPrompt: 'dashboard run', repository: 'acme/app' },
    });
    const id = res.data!.startRun.run.id as string;
    await waitFor('the dashboards to see it complete', async () =>
      [...all, doneOnly].every((s) => s.items.some((m) => m.run.status === 'COMPLETED')),
    );
    for (const s of [...all, doneOnly, other]) s.stop();
    await client.dispose();

    for (const s of all) {
      expect(s.errors).toEqual([]);
      expect(s.items.every((m) => m.run.id === id && m.run.projectId === project)).toBe(true);
      // Seqs only go up; a slow reader may get several changes as one.
      const seqs = s.items.map((m) => m.seq);
      expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
    }
    expect(doneOnly.items.map((m) => m.run.status)).toEqual(['COMPLETED']);
    expect(other.items).toEqual([]);

    const after = await renderCounts(service.url);
    const delivered = [...all, doneOnly].reduce((sum, s) => sum + s.items.length, 0);
    expect(after.own - before.own + (after.shared - before.shared)).toBe(delivered);
    // Twelve dashboards woken by one notice read the run once and render it once.
    expect(after.shared - before.shared).toBeGreaterThan(delivered * 0.5);
  });
});
