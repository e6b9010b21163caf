import { Prisma, type PrismaClient } from '../../generated/prisma/client.js';
import { sqlStatusList, UPSTREAM_ACTIVE_STATUSES } from '../status.js';

/** Any fixed number: the advisory lock that serialises start claims across replicas. */
const START_CLAIM_LOCK = 727_310_001;

const active = Prisma.raw(sqlStatusList(UPSTREAM_ACTIVE_STATUSES));

/**
 * Claims queued runs to start, oldest first, without exceeding `maxActive` conversations across all
 * replicas: the count and the claim happen under one transaction-scoped advisory lock.
 */
export async function claimRunsToStart(
  prisma: PrismaClient,
  owner: string,
  leaseMs: number,
  maxActive: number,
  limit: number,
): Promise<string[]> {
  // Most rounds have nothing queued: skip the lock and the count over every active run.
  const [{ due }] = await prisma.$queryRaw<Array<{ due: boolean }>>`
    SELECT EXISTS (SELECT 1 FROM "Run" WHERE "status" = 'QUEUED' AND "nextPollAt" <= now()) AS due`;
  if (!due) return [];
  return prisma.$transaction(async (tx) => {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(${START_CLAIM_LOCK})`;
    const [{ n }] = await tx.$queryRaw<Array<{ n: number }>>`
      SELECT count(*)::int AS n FROM "Run"
      WHERE "status" IN (${active}) OR ("status" = 'QUEUED' AND "leaseExpiresAt" > now())`;
    const room = Math.min(limit, maxActive - n);
    if (room <= 0) return [];
    const rows = await tx.$queryRaw<Array<{ id: string }>>`
      UPDATE "Run" SET "leaseOwner" = ${owner}, "leaseExpiresAt" = now() + ${leaseMs} * interval '1 millisecond'
      WHERE id IN (
        SELECT id FROM "Run"
        WHERE "status" = 'QUEUED' AND "nextPollAt" <= now()
          AND ("leaseExpiresAt" IS NULL OR "leaseExpiresAt" < now())
        ORDER BY "createdAt"
        LIMIT ${room}
        FOR UPDATE SKIP LOCKED)
      RETURNING id`;
    return rows.map((r) => r.id);
  });
}
