import type { PrismaClient } from '../../generated/prisma/client.js';
import { UPSTREAM_ACTIVE_STATUSES } from '../status.js';
import type { Run } from './types.js';

/** Runs that already have a pull request with this provider and number attached, newest first. */
export function findRunsWithPullRequest(
  prisma: PrismaClient,
  provider: string,
  number: number,
  take: number,
): Promise<Run[]> {
  return prisma.run.findMany({
    where: { prProvider: provider, prNumber: number },
    orderBy: { createdAt: 'desc' },
    take,
  });
}

/** Runs of `repository` (any letter case) that talk to upstream and have no pull request yet. */
export function findActiveRunsWithoutPullRequest(
  prisma: PrismaClient,
  repository: string,
  take: number,
): Promise<Run[]> {
  return prisma.run.findMany({
    where: {
      status: { in: [...UPSTREAM_ACTIVE_STATUSES] },
      repository: { equals: repository, mode: 'insensitive' },
      prUrl: null,
    },
    take,
  });
}
