import type { Prisma, PrismaClient } from '../../generated/prisma/client.js';
import { UPSTREAM_ACTIVE_STATUSES } from '../status.js';

/** Extends the leases `owner` holds on `ids`, while its upstream calls take longer than a lease. */
export async function renewLeases(prisma: PrismaClient, owner: string, ids: string[], leaseMs: number) {
  await prisma.$executeRaw`
    UPDATE "Run" SET "leaseExpiresAt" = now() + ${leaseMs} * interval '1 millisecond'
    WHERE "leaseOwner" = ${owner} AND id = ANY(${ids})`;
}

/** Gives back every lease `owner` holds (clean shutdown), making its runs due at once elsewhere. */
export async function releaseLeases(prisma: PrismaClient, owner: string): Promise<number> {
  return prisma.$executeRaw`
    UPDATE "Run" SET "leaseOwner" = NULL, "leaseExpiresAt" = NULL WHERE "leaseOwner" = ${owner}`;
}

/**
 * Gives back `owner`'s leases on active runs whose poll found nothing new, in one UPDATE, and
 * returns the ids it released. Runs that moved meanwhile (cancelled, completed by a webhook, owing a
 * stop) do not match and are left for a write of their own.
 */
export async function releaseIdleRuns(
  prisma: PrismaClient,
  owner: string,
  ids: string[],
  nextPollAt: Date,
  readAt: Date,
): Promise<Set<string>> {
  const released = await prisma.run.updateManyAndReturn({
    where: {
      id: { in: ids },
      leaseOwner: owner,
      stopPending: false,
      outcomePending: false,
      status: { in: [...UPSTREAM_ACTIVE_STATUSES] },
      // A push since the read began takes the locked path (the poll's reading is older).
      OR: [{ pushedAt: null }, { pushedAt: { lte: readAt } }],
    },
    data: { leaseOwner: null, leaseExpiresAt: null, nextPollAt },
    select: { id: true },
  });
  return new Set(released.map((r) => r.id));
}

/**
 * Writes `set` and gives back the lease without locking the row or appending an event, if the run
 * is still as it was read: our lease, the same status and the same last event. False otherwise.
 */
export async function releaseUnchangedRun(
  prisma: PrismaClient,
  owner: string,
  read: { id: string; status: Prisma.RunWhereInput['status']; lastSeq: number; pushedAt: Date | null },
  set: Prisma.RunUncheckedUpdateManyInput,
): Promise<boolean> {
  const written = await prisma.run.updateMany({
    where: {
      id: read.id,
      leaseOwner: owner,
      status: read.status,
      lastSeq: read.lastSeq,
      pushedAt: read.pushedAt,
    },
    data: { ...set, leaseOwner: null, leaseExpiresAt: null },
  });
  return written.count === 1;
}
