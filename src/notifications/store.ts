import type { NotificationDelivery, WebhookEndpoint } from '../generated/prisma/client.js';
import { Prisma, type PrismaClient } from '../generated/prisma/client.js';
import type { NotificationType } from './types.js';

export type { NotificationDelivery, WebhookEndpoint };

/** A claimed delivery with what sending it needs from its endpoint. */
export interface DueDelivery extends NotificationDelivery {
  url: string;
  secret: string;
  previousSecret: string | null;
  previousSecretExpiresAt: Date | null;
  failingSince: Date | null;
}

export interface Notification {
  type: NotificationType;
  /** The exact body to send. */
  payload: string;
}

export interface AttemptRecord {
  status: 'PENDING' | 'DELIVERED' | 'FAILED';
  nextAttemptAt?: Date;
  statusCode: number | null;
  error: string | null;
  at: Date;
}

/**
 * Every statement on WebhookEndpoint and NotificationDelivery. `enqueue` takes the transaction of a
 * run change (the outbox); the worker's claim takes leases the way the poller's does.
 */
export class NotificationStore {
  constructor(private readonly prisma: PrismaClient) {}

  /**
   * Writes one delivery per enabled endpoint subscribed to each notification — the project's, and
   * the run's own (startRun notifyUrl) — in the caller's transaction. The id is derived from (endpoint, run, seq, type), so it is the same on
   * every replica and a repeat is a no-op.
   */
  static async enqueue(
    tx: Prisma.TransactionClient,
    run: { id: string; projectId: string },
    seq: number,
    notifications: Notification[],
  ): Promise<number> {
    const types = notifications.map((n) => n.type);
    const payloads = notifications.map((n) => n.payload);
    return tx.$executeRaw`
      INSERT INTO "NotificationDelivery" ("id", "endpointId", "runId", "seq", "type", "payload")
      SELECT 'msg_' || md5(e.id || ':' || ${run.id} || ':' || ${seq}::text || ':' || n.type),
             e.id, ${run.id}, ${seq}, n.type, n.payload
      FROM "WebhookEndpoint" e, unnest(${types}::text[], ${payloads}::text[]) AS n(type, payload)
      WHERE (e."runId" = ${run.id} OR (e."projectId" = ${run.projectId} AND e."runId" IS NULL))
        AND e.enabled AND n.type = ANY(e.events)
      ON CONFLICT ("id") DO NOTHING`;
  }

  // Endpoints.
  createEndpoint = (data: Prisma.WebhookEndpointUncheckedCreateInput) =>
    this.prisma.webhookEndpoint.create({ data });
  findEndpoint = (id: string) => this.prisma.webhookEndpoint.findUnique({ where: { id } });
  /** The project's endpoints; runs' own destinations are not among them. */
  listEndpoints = (projectId: string) =>
    this.prisma.webhookEndpoint.findMany({
      where: { projectId, runId: null },
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
    });
  findRunEndpoint = (runId: string) =>
    this.prisma.webhookEndpoint.findFirst({ where: { runId }, orderBy: { createdAt: 'asc' } });
  updateEndpoint = (id: string, data: Prisma.WebhookEndpointUncheckedUpdateInput) =>
    this.prisma.webhookEndpoint.update({ where: { id }, data });
  deleteEndpoint = (id: string) => this.prisma.webhookEndpoint.deleteMany({ where: { id } });

  /** Disables the endpoint and fails what it still had pending (re-enable, then redeliver). */
  async disableEndpoint(id: string, reason: string): Promise<void> {
    await this.prisma.$transaction([
      this.prisma.webhookEndpoint.update({ where: { id }, data: { enabled: false, disabledReason: reason } }),
      this.prisma.notificationDelivery.updateMany({
        where: { endpointId: id, status: 'PENDING' },
        data: {
          status: 'FAILED',
          lastError: `endpoint disabled: ${reason}`,
          leaseOwner: null,
          leaseExpiresAt: null,
        },
      }),
    ]);
  }

  /** Remembers when an endpoint started failing (first failure after a success); null clears it. */
  async setFailingSince(id: string, since: Date | null): Promise<void> {
    await this.prisma.webhookEndpoint.updateMany({
      where: since ? { id, failingSince: null } : { id, failingSince: { not: null } },
      data: { failingSince: since },
    });
  }

  // Deliveries.
  /**
   * Leases up to `limit` due deliveries of enabled endpoints. A delivery waits while an earlier one
   * (lower seq) of the same run to the same endpoint is still pending: per-endpoint order by seq.
   */
  async claimDue(owner: string, leaseMs: number, limit: number): Promise<DueDelivery[]> {
    return this.prisma.$queryRaw<DueDelivery[]>`
      WITH due AS (
        SELECT d.id FROM "NotificationDelivery" d
        JOIN "WebhookEndpoint" e ON e.id = d."endpointId" AND e.enabled
        WHERE d.status = 'PENDING' AND d."nextAttemptAt" <= now()
          AND (d."leaseExpiresAt" IS NULL OR d."leaseExpiresAt" < now())
          AND NOT EXISTS (
            SELECT 1 FROM "NotificationDelivery" p
            WHERE p."endpointId" = d."endpointId" AND p."runId" = d."runId" AND p.status = 'PENDING'
              AND (p.seq < d.seq OR (p.seq = d.seq AND p.id < d.id)))
        ORDER BY d."nextAttemptAt"
        LIMIT ${limit}
        FOR UPDATE OF d SKIP LOCKED
      ), claimed AS (
        UPDATE "NotificationDelivery" d
        SET "leaseOwner" = ${owner}, "leaseExpiresAt" = now() + ${leaseMs} * interval '1 millisecond'
        FROM due WHERE d.id = due.id
        RETURNING d.*
      )
      SELECT c.*, e.url, e.secret, e."previousSecret", e."previousSecretExpiresAt", e."failingSince"
      FROM claimed c JOIN "WebhookEndpoint" e ON e.id = c."endpointId"
      ORDER BY c."runId", c.seq`;
  }

  /** Writes an attempt's outcome if this worker still holds the lease; false when it does not. */
  async recordAttempt(id: string, owner: string, record: AttemptRecord): Promise<boolean> {
    const { count } = await this.prisma.notificationDelivery.updateMany({
      where: { id, leaseOwner: owner, status: 'PENDING' },
      data: {
        status: record.status,
        attempts: { increment: 1 },
        lastStatusCode: record.statusCode,
        lastError: record.error,
        lastAttemptAt: record.at,
        ...(record.nextAttemptAt ? { nextAttemptAt: record.nextAttemptAt } : {}),
        ...(record.status === 'DELIVERED' ? { deliveredAt: record.at } : {}),
        leaseOwner: null,
        leaseExpiresAt: null,
      },
    });
    return count === 1;
  }

  releaseLeases = (owner: string) =>
    this.prisma.notificationDelivery.updateMany({
      where: { leaseOwner: owner, status: 'PENDING' },
      data: { leaseOwner: null, leaseExpiresAt: null },
    });

  findDelivery = (id: string) =>
    this.prisma.notificationDelivery.findUnique({ where: { id }, include: { endpoint: true } });

  /** Newest first, keyset-paged by (createdAt, id). */
  listDeliveries = (endpointId: string, before: { createdAt: Date; id: string } | null, take: number) =>
    this.prisma.notificationDelivery.findMany({
      where: {
        endpointId,
        ...(before
          ? {
              OR: [
                { createdAt: { lt: before.createdAt } },
                { createdAt: before.createdAt, id: { lt: before.id } },
              ],
            }
          : {}),
      },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take,
    });
  countDeliveries = (endpointId: string) => this.prisma.notificationDelivery.count({ where: { endpointId } });

  /** Sends the delivery again, same id and body, with a fresh schedule (24 hours of retries from now). */
  redeliver = (id: string, now: Date) =>
    this.prisma.notificationDelivery.update({
      where: { id },
      data: {
        status: 'PENDING',
        attempts: 0,
        nextAttemptAt: now,
        retryingSince: now,
        leaseOwner: null,
        leaseExpiresAt: null,
      },
    });

  // Operations (metrics).
  async stats(): Promise<{
    byStatus: Array<{ status: string; count: number }>;
    oldestPendingSeconds: number;
  }> {
    const [byStatus, oldest] = await Promise.all([
      this.prisma.$queryRaw<Array<{ status: string; count: number }>>`
        SELECT status, count(*)::int AS count FROM "NotificationDelivery" GROUP BY status`,
      this.prisma.$queryRaw<Array<{ seconds: number | null }>>`
        SELECT extract(epoch FROM now() - min("createdAt"))::float8 AS seconds
        FROM "NotificationDelivery" WHERE status = 'PENDING'`,
    ]);
    return { byStatus, oldestPendingSeconds: Math.max(0, oldest[0]?.seconds ?? 0) };
  }
}

export { Prisma };
