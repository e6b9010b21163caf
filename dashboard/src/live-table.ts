import type { RunRow, RunStatus } from './documents.js';

export interface RunFilter {
  projectId: string | null;
  repository: string | null;
  statuses: RunStatus[];
}

export interface TableState {
  rows: RunRow[];
  totalCount: number;
  /** Latest runsChanged seq applied per run: an older message never overwrites a newer one. */
  seqs: Map<string, number>;
}

export interface RunChange {
  seq: number;
  run: RunRow;
}

export function matches(run: RunRow, filter: RunFilter): boolean {
  if (filter.projectId && run.projectId !== filter.projectId) return false;
  if (filter.repository && run.repository !== filter.repository) return false;
  return filter.statuses.length === 0 || filter.statuses.includes(run.status);
}

/**
 * Folds a frame's worth of runsChanged messages into the table: rows change in place, rows that
 * stop matching the filter leave, and on the first page a run newer than every row arrives at
 * the top (the page keeps its size). One new array per frame, however many messages came.
 */
export function applyChanges(
  state: TableState,
  changes: Iterable<RunChange>,
  filter: RunFilter,
  options: { firstPage: boolean; pageSize: number },
): TableState {
  let rows = state.rows;
  let totalCount = state.totalCount;
  const index = new Map(rows.map((row, i) => [row.id, i]));
  const arrivals: RunRow[] = [];
  const leaving = new Set<string>();
  for (const { seq, run } of changes) {
    if ((state.seqs.get(run.id) ?? -1) >= seq) continue;
    state.seqs.set(run.id, seq);
    const at = index.get(run.id);
    const fits = matches(run, filter);
    if (at !== undefined) {
      if (rows === state.rows) rows = rows.slice();
      rows[at] = run;
      if (!fits) leaving.add(run.id);
    } else if (fits && options.firstPage && isNewest(run, rows) && !arrivals.some((r) => r.id === run.id)) {
      arrivals.push(run);
    }
  }
  if (leaving.size > 0) {
    rows = rows.filter((row) => !leaving.has(row.id));
    totalCount -= leaving.size;
  }
  if (arrivals.length > 0) {
    arrivals.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
    rows = [...arrivals, ...rows].slice(0, options.pageSize);
    totalCount += arrivals.length;
  }
  return rows === state.rows && totalCount === state.totalCount
    ? state
    : { rows, totalCount, seqs: state.seqs };
}

function isNewest(run: RunRow, rows: RunRow[]): boolean {
  return rows.length === 0 || run.createdAt >= rows[0].createdAt;
}
