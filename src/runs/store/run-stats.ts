import type { PrismaClient } from '../../generated/prisma/client.js';
import type { RunStatus } from '../status.js';
import { OWES_POLLER_WORK } from './claim-due-runs.js';

/** How many runs are in each status (statuses without runs are absent). */
export async function countRunsByStatus(
  prisma: PrismaClient,
): Promise<Array<{ status: RunStatus; count: number }>> {
  const rows = await prisma.run.groupBy({ by: ['status'], _count: { _all: true } });
  return rows.map((row) => ({ status: row.status, count: row._count._all }));
}

/** Seconds the most overdue run has waited for a poll; 0 when none is overdue. */
export async function pollLagSeconds(prisma: PrismaClient): Promise<number> {
  // Same condition as claimDueRuns: owing work, due, and not leased.
  const [row] = await prisma.$queryRaw<Array<{ lag: number | null }>>`
    SELECT EXTRACT(EPOCH FROM now() - min("nextPollAt"))::float8 AS lag FROM "Run"
    WHERE ${OWES_POLLER_WORK} AND "nextPollAt" <= now()
      AND ("leaseExpiresAt" IS NULL OR "leaseExpiresAt" < now())`;
  return Math.max(0, row?.lag ?? 0);
}
