/** The runs table's live merge (dashboard/src/live-table.ts): pure, so tested without a browser. */
import { describe, expect, it } from 'vitest';
import type { RunRow } from '../../dashboard/src/documents.js';
import { applyChanges, type RunFilter, type TableState } from '../../dashboard/src/live-table.js';

const ALL: RunFilter = { projectId: null, repository: null, statuses: [] };

function run(id: string, createdAt: string, extra: Partial<RunRow> = {}): RunRow {
  return {
    id,
    status: 'RUNNING',
    projectId: 'p1',
    repository: 'acme/widgets',
    branch: null,
    phase: 'working',
    percent: 10,
    createdAt,
    startedAt: null,
    finishedAt: null,
    pullRequest: null,
    ...extra,
  };
}

function table(rows: RunRow[], totalCount = rows.length): TableState {
  return { rows, totalCount, seqs: new Map() };
}

const first = { firstPage: true, pageSize: 3 };

describe('applyChanges', () => {
  const a = run('a', '2026-01-01T00:00:03.000Z');
  const b = run('b', '2026-01-01T00:00:02.000Z');
  const c = run('c', '2026-01-01T00:00:01.000Z');

  it('changes a row in place and keeps the others as they were', () => {
    const before = table([a, b, c]);
    const after = applyChanges(before, [{ seq: 5, run: { ...b, phase: 'tests' } }], ALL, first);
    expect(after.rows.map((r) => r.phase)).toEqual(['working', 'tests', 'working']);
    expect(after.rows[0]).toBe(a);
    expect(after.rows[2]).toBe(c);
    expect(after.totalCount).toBe(3);
  });

  it('never lets an older message overwrite a newer one', () => {
    const state = table([a]);
    const newer = applyChanges(state, [{ seq: 7, run: { ...a, percent: 70 } }], ALL, first);
    const older = applyChanges(newer, [{ seq: 6, run: { ...a, percent: 60 } }], ALL, first);
    expect(older.rows[0].percent).toBe(70);
    expect(older).toBe(newer);
  });

  it('puts a new run at the top of the first page and keeps the page size', () => {
    const d = run('d', '2026-01-01T00:00:04.000Z');
    const after = applyChanges(table([a, b, c], 10), [{ seq: 1, run: d }], ALL, first);
    expect(after.rows.map((r) => r.id)).toEqual(['d', 'a', 'b']);
    expect(after.totalCount).toBe(11);
  });

  it('leaves new runs off later pages and older unknown runs off every page', () => {
    const d = run('d', '2026-01-01T00:00:04.000Z');
    expect(
      applyChanges(table([a, b]), [{ seq: 1, run: d }], ALL, { firstPage: false, pageSize: 3 }).rows,
    ).toEqual([a, b]);
    const old = run('old', '2025-12-31T00:00:00.000Z');
    expect(applyChanges(table([a, b]), [{ seq: 1, run: old }], ALL, first).rows).toEqual([a, b]);
  });

  it('drops a row that stops matching the filter, and ignores runs that never did', () => {
    const running: RunFilter = { ...ALL, statuses: ['RUNNING'] };
    const after = applyChanges(
      table([a, b], 2),
      [{ seq: 9, run: { ...a, status: 'COMPLETED' } }],
      running,
      first,
    );
    expect(after.rows.map((r) => r.id)).toEqual(['b']);
    expect(after.totalCount).toBe(1);
    const elsewhere = run('e', '2026-01-02T00:00:00.000Z', { projectId: 'p2' });
    const scoped = applyChanges(table([b]), [{ seq: 1, run: elsewhere }], { ...ALL, projectId: 'p1' }, first);
    expect(scoped.rows).toEqual([b]);
  });
});
