import { Prisma, type PrismaClient } from '../../generated/prisma/client.js';
import { sqlStatusList, UPSTREAM_ACTIVE_STATUSES } from '../status.js';

const active = Prisma.raw(sqlStatusList(UPSTREAM_ACTIVE_STATUSES));

/** Runs the poller has work for once due: active ones, and ended ones owing a stop or an outcome. */
export const OWES_POLLER_WORK = Prisma.sql`("status" IN (${active}) OR "stopPending" OR "outcomePending")`;

/**
 * Claims runs that are due for a poll (active ones), still owe an upstream stop, or an outcome read. SKIP LOCKED and
 * the lease columns make sure two replicas never work one run at once; a crashed replica's leases
 * simply expire. Times come from the database clock, so replicas' clocks need not agree.
 */
export async function claimDueRuns(
  prisma: PrismaClient,
  owner: string,
  leaseMs: number,
  limit: number,
): Promise<string[]> {
  const rows = await prisma.$queryRaw<Array<{ id: string }>>`
    UPDATE "Run" SET "leaseOwner" = ${owner}, "leaseExpiresAt" = now() + ${leaseMs} * interval '1 millisecond'
    WHERE id IN (
      SELECT id FROM "Run"
      WHERE ${OWES_POLLER_WORK}
        AND "nextPollAt" <= now()
        AND ("leaseExpiresAt" IS NULL OR "leaseExpiresAt" < now())
      ORDER BY "nextPollAt"
      LIMIT ${limit}
      FOR UPDATE SKIP LOCKED)
    RETURNING id`;
  return rows.map((r) => r.id);
}
