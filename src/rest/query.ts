import type { ListRunsFilter } from '../runs/service.js';
import { RUN_STATUSES, type RunStatus } from '../runs/status.js';
import { RestError } from './errors.js';

const invalid = (field: string, message: string) => new RestError(422, 'BAD_USER_INPUT', message, field);

/** Scalar parameters take the last value when repeated, as FastAPI does. */
function last(params: URLSearchParams, name: string): string | undefined {
  const all = params.getAll(name);
  return all.length ? all[all.length - 1] : undefined;
}

/**
 * GET /runs query → the service's list filter. Types are checked here (so the field names are the
 * REST ones); ranges and cursors are checked by the service, like for GraphQL.
 */
export function listFilter(params: URLSearchParams): ListRunsFilter {
  const filter: ListRunsFilter = {};
  for (const name of ['project_id', 'repository', 'cursor', 'limit', 'status']) {
    // PostgreSQL cannot compare against a NUL; refuse it here rather than fail in the query.
    if (params.getAll(name).some((v) => v.includes('\u0000'))) {
      throw invalid(name, `${name} must not contain NUL (\\u0000) characters`);
    }
  }
  const projectId = last(params, 'project_id');
  if (projectId !== undefined) {
    if (!projectId.trim()) throw invalid('project_id', 'project_id must not be empty');
    filter.projectId = projectId;
  }
  const repository = last(params, 'repository');
  if (repository !== undefined) {
    if (!repository.trim()) throw invalid('repository', 'repository must not be empty');
    filter.repository = repository;
  }
  const statuses = params
    .getAll('status')
    .flatMap((s) => s.split(','))
    .map((s) => s.trim());
  if (statuses.length) {
    for (const s of statuses) {
      if (!(RUN_STATUSES as readonly string[]).includes(s)) {
        throw invalid(
          'status',
          `status must be one of ${RUN_STATUSES.join(', ')}; got ${JSON.stringify(s.slice(0, 40))}`,
        );
      }
    }
    filter.status = statuses as RunStatus[];
  }
  const limit = last(params, 'limit');
  if (limit !== undefined) {
    if (!/^\d{1,9}$/.test(limit.trim())) throw invalid('limit', 'limit must be a positive integer');
    filter.first = Number(limit.trim());
  }
  // An empty cursor means "first page": clients often send `cursor=` before they have one.
  const cursor = last(params, 'cursor');
  if (cursor) filter.after = cursor;
  return filter;
}
