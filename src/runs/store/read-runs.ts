import type { PrismaClient } from '../../generated/prisma/client.js';
import type { RunStatus } from '../status.js';
import type { NoticedRun, Run, RunColumns, RunEvent } from './types.js';

/** The run, with every column or only `columns` (see RunColumns). */
export function findRun(prisma: PrismaClient, id: string, columns?: RunColumns): Promise<Run | null> {
  return prisma.run.findUnique({ where: { id }, select: columns }) as Promise<Run | null>;
}

export function findRuns(prisma: PrismaClient, ids: string[]): Promise<Run[]> {
  return prisma.run.findMany({ where: { id: { in: ids } } });
}

/**
 * What a notice says of each run changed at or after `since` (created, an event, an announced
 * outcome), newest first: list views catching up after a resync.
 */
export function findRunsChangedSince(prisma: PrismaClient, since: Date, take: number): Promise<NoticedRun[]> {
  return prisma.run.findMany({
    where: { changedAt: { gte: since } },
    orderBy: { changedAt: 'desc' },
    take,
    select: { id: true, projectId: true, lastSeq: true, status: true },
  });
}

export function findRunByIdempotencyKey(
  prisma: PrismaClient,
  projectId: string,
  idempotencyKey: string,
): Promise<Run | null> {
  return prisma.run.findUnique({ where: { projectId_idempotencyKey: { projectId, idempotencyKey } } });
}

export interface RunFilter {
  /** Runs of these projects only; null for every project. */
  projectIds: string[] | null;
  status?: RunStatus[] | null;
  repository?: string | null;
}

function whereOf(filter: RunFilter) {
  return {
    ...(filter.projectIds === null
      ? {}
      : { projectId: filter.projectIds.length === 1 ? filter.projectIds[0] : { in: filter.projectIds } }),
    ...(filter.status?.length ? { status: { in: filter.status } } : {}),
    ...(filter.repository != null ? { repository: filter.repository } : {}),
  };
}

/**
 * Newest first; `before` is the (createdAt, id) of the last row of the previous page. Every column,
 * or only `columns` (see RunColumns).
 */
export function listRuns(
  prisma: PrismaClient,
  filter: RunFilter,
  before: { createdAt: Date; id: string } | null,
  take: number,
  columns?: RunColumns,
): Promise<Run[]> {
  const where = whereOf(filter);
  return prisma.run.findMany({
    where: before
      ? {
          ...where,
          OR: [
            { createdAt: { lt: before.createdAt } },
            { createdAt: before.createdAt, id: { lt: before.id } },
          ],
        }
      : where,
    orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
    take,
    select: columns,
  }) as Promise<Run[]>;
}

export function countRuns(prisma: PrismaClient, filter: RunFilter): Promise<number> {
  return prisma.run.count({ where: whereOf(filter) });
}

/** A run's events with seq > after, oldest first. */
export function listEvents(
  prisma: PrismaClient,
  runId: string,
  after: number,
  take: number,
): Promise<RunEvent[]> {
  return prisma.runEvent.findMany({ where: { runId, seq: { gt: after } }, orderBy: { seq: 'asc' }, take });
}

export function countEvents(prisma: PrismaClient, runId: string): Promise<number> {
  return prisma.runEvent.count({ where: { runId } });
}

/** The run with its events after `after` (live feeds read both in one query). */
export async function findRunWithEvents(
  prisma: PrismaClient,
  runId: string,
  after: number,
  take: number,
): Promise<{ run: Run; events: RunEvent[] } | null> {
  const found = await prisma.run.findUnique({
    where: { id: runId },
    include: { events: { where: { seq: { gt: after } }, orderBy: { seq: 'asc' }, take } },
  });
  if (!found) return null;
  const { events, ...run } = found;
  return { run, events };
}

/** The last event seq of each run, for live feeds' periodic check against the log. */
export function lastSeqs(
  prisma: PrismaClient,
  ids: string[],
): Promise<Array<{ id: string; lastSeq: number }>> {
  return prisma.run.findMany({ where: { id: { in: ids } }, select: { id: true, lastSeq: true } });
}
