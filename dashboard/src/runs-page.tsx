import { Component } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { Session } from './api.js';
import {
  type PageInfo,
  RUN_STATUSES,
  RUNS_CHANGED,
  RUNS_QUERY,
  type RunRow,
  type RunStatus,
  type RunsAnswer,
  type RunsChangedAnswer,
} from './documents.js';
import { dateTime, duration } from './format.js';
import { applyChanges, type RunChange, type RunFilter, type TableState } from './live-table.js';
import { navigate } from './router.js';
import { StartRunForm } from './start-run.js';
import { PercentBar, StatusBadge } from './status.js';

const DEFAULT_PAGE_SIZE = 50;

/** The filter and page as the URL query holds them (?project=&repository=&status=A&status=B&after=). */
function readQuery(query: URLSearchParams) {
  const filter: RunFilter = {
    projectId: query.get('project') || null,
    repository: query.get('repository') || null,
    statuses: query
      .getAll('status')
      .filter((s): s is RunStatus => (RUN_STATUSES as readonly string[]).includes(s)),
  };
  const size = Number(query.get('size'));
  return {
    filter,
    after: query.get('after'),
    before: query.get('before'),
    page: Math.max(1, Number(query.get('page')) || 1),
    pageSize: Number.isInteger(size) && size > 0 ? size : DEFAULT_PAGE_SIZE,
  };
}

function queryString(filter: RunFilter, extra: Record<string, string> = {}): string {
  const q = new URLSearchParams();
  if (filter.projectId) q.set('project', filter.projectId);
  if (filter.repository) q.set('repository', filter.repository);
  for (const status of filter.statuses) q.append('status', status);
  for (const [key, value] of Object.entries(extra)) q.set(key, value);
  const text = q.toString();
  return text ? `/?${text}` : '/';
}

export function RunsPage({ session, query }: { session: Session; query: URLSearchParams }) {
  const { filter, after, before, page, pageSize } = readQuery(query);
  const [table, setTable] = useState<TableState | null>(null);
  const [pageInfo, setPageInfo] = useState<PageInfo | null>(null);
  const [error, setError] = useState<string | null>(null);
  const key = query.toString();

  useEffect(() => {
    let live = true;
    setError(null);
    const variables = {
      ...(before ? { last: pageSize, before } : { first: pageSize, after }),
      projectId: filter.projectId,
      repository: filter.repository,
      status: filter.statuses.length ? filter.statuses : null,
    };
    // Changes that arrive while the page loads wait in `pending` and are applied after it.
    const pending = new Map<string, RunChange>();
    let frame = 0;
    let loaded = false;
    const flush = () => {
      frame = 0;
      if (!loaded || pending.size === 0) return;
      const changes = [...pending.values()];
      pending.clear();
      setTable((state) =>
        state ? applyChanges(state, changes, filter, { firstPage: !after && !before, pageSize }) : state,
      );
    };
    const stop = session.subscribe<RunsChangedAnswer>(
      RUNS_CHANGED,
      { projectId: filter.projectId },
      {
        next: ({ runsChanged }) => {
          const earlier = pending.get(runsChanged.run.id);
          if (!earlier || earlier.seq < runsChanged.seq) pending.set(runsChanged.run.id, runsChanged);
          // However many messages a frame brings, the table renders once.
          if (!frame) frame = requestAnimationFrame(flush);
        },
      },
    );
    session
      .request<RunsAnswer>(RUNS_QUERY, variables)
      .then(({ runs }) => {
        if (!live) return;
        loaded = true;
        setTable({ rows: runs.edges.map((e) => e.node), totalCount: runs.totalCount, seqs: new Map() });
        setPageInfo(runs.pageInfo);
        flush();
      })
      .catch((e: Error) => live && setError(e.message));
    return () => {
      live = false;
      stop();
      cancelAnimationFrame(frame);
    };
  }, [session, key]);

  const first = (page - 1) * pageSize;
  return (
    <main>
      <h1>Runs</h1>
      <StartRunForm session={session} />
      <Filters filter={filter} />
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {table && (
        <>
          <p class="count" aria-live="polite">
            {table.totalCount === 0
              ? 'No runs match.'
              : `Runs ${first + 1}–${first + table.rows.length} of ${table.totalCount}`}
          </p>
          <RunsTable rows={table.rows} />
          <Pager filter={filter} page={page} pageInfo={pageInfo} size={pageSize} />
        </>
      )}
      {!table && !error && <p>Loading…</p>}
    </main>
  );
}

function Filters({ filter }: { filter: RunFilter }) {
  const submit = (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const text = (name: string) => String(form.get(name) ?? '').trim() || null;
    const statuses = form.getAll('status').map(String) as RunStatus[];
    navigate(queryString({ projectId: text('project'), repository: text('repository'), statuses }));
  };
  // Keyed by the filter so the fields show the URL's values after back / forward.
  return (
    <form class="filters" onSubmit={submit} key={queryString(filter)} aria-label="Filter runs">
      <label>
        Project <input name="project" value={filter.projectId ?? ''} />
      </label>
      <label>
        Repository <input name="repository" value={filter.repository ?? ''} placeholder="owner/repo" />
      </label>
      <fieldset>
        <legend>Status</legend>
        {RUN_STATUSES.map((status) => (
          <label key={status} class="check">
            <input type="checkbox" name="status" value={status} checked={filter.statuses.includes(status)} />
            <StatusBadge status={status} />
          </label>
        ))}
      </fieldset>
      <button type="submit">Apply filters</button>
      <a href="/">Clear</a>
    </form>
  );
}

function Pager({
  filter,
  page,
  pageInfo,
  size,
}: {
  filter: RunFilter;
  page: number;
  pageInfo: PageInfo | null;
  size: number;
}) {
  if (!pageInfo) return null;
  const sized: Record<string, string> = size === DEFAULT_PAGE_SIZE ? {} : { size: String(size) };
  const previous =
    page > 1 && pageInfo.startCursor
      ? queryString(filter, { ...sized, before: pageInfo.startCursor, page: String(page - 1) })
      : null;
  const next =
    pageInfo.hasNextPage && pageInfo.endCursor
      ? queryString(filter, { ...sized, after: pageInfo.endCursor, page: String(page + 1) })
      : null;
  return (
    <nav class="pager" aria-label="Pages">
      {previous ? <a href={page === 2 ? queryString(filter, sized) : previous}>← Newer</a> : <span />}
      <span>Page {page}</span>
      {next ? <a href={next}>Older →</a> : <span />}
    </nav>
  );
}

const COLUMNS = [
  'Run',
  'Status',
  'Project',
  'Repository / branch',
  'Phase',
  'Progress',
  'Pull request',
  'Created',
  'Duration',
];

export function RunsTable({ rows }: { rows: RunRow[] }) {
  const now = Date.now();
  return (
    <div class="table-wrap">
      <table class="runs" role="table">
        <thead role="rowgroup">
          <tr role="row">
            {COLUMNS.map((name) => (
              <th key={name} scope="col" role="columnheader">
                {name}
              </th>
            ))}
          </tr>
        </thead>
        <tbody role="rowgroup">
          {rows.map((run) => (
            <Row key={run.id} run={run} now={now} />
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Re-renders only when its run object changed: at 50 changes/s, 1,000 rows must not all render. */
class Row extends Component<{ run: RunRow; now: number }> {
  override shouldComponentUpdate(next: { run: RunRow }): boolean {
    return next.run !== this.props.run;
  }

  override render({ run, now }: { run: RunRow; now: number }) {
    return (
      <tr role="row" data-run-id={run.id} data-status={run.status}>
        <td role="cell" data-label="Run">
          <a href={`/runs/${encodeURIComponent(run.id)}`}>{run.id}</a>
        </td>
        <td role="cell" data-label="Status">
          <StatusBadge status={run.status} />
        </td>
        <td role="cell" data-label="Project">
          {run.projectId}
        </td>
        <td role="cell" data-label="Repository">
          {run.repository ?? '–'}
          {run.branch && <span class="branch"> @ {run.branch}</span>}
        </td>
        <td role="cell" data-label="Phase">
          {run.phase}
        </td>
        <td role="cell" data-label="Progress">
          <PercentBar percent={run.percent} />
        </td>
        <td role="cell" data-label="Pull request">
          {run.pullRequest ? (
            <a class="pr-link" href={run.pullRequest.url} rel="noreferrer noopener" target="_blank">
              {run.pullRequest.number ? `#${run.pullRequest.number}` : 'PR'} (
              {run.pullRequest.state.toLowerCase()})
            </a>
          ) : (
            '–'
          )}
        </td>
        <td role="cell" data-label="Created">
          {dateTime(run.createdAt)}
        </td>
        <td role="cell" data-label="Duration">
          {duration(run.startedAt ?? run.createdAt, run.finishedAt, now)}
        </td>
      </tr>
    );
  }
}
