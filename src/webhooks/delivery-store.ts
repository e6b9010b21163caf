import { randomUUID } from 'node:crypto';
import type { Prisma, PrismaClient, WebhookDelivery } from '../generated/prisma/client.js';

export type { WebhookDelivery };

export interface NewDelivery {
  provider: string;
  deliveryId: string;
  event: string;
  action: string | null;
  runId: string | null;
  outcome: string;
  detail: string;
  data?: Prisma.InputJsonValue;
}

/** Rows per DELETE, so a large backlog never holds one long transaction. */
const PRUNE_BATCH = 5000;

/** Every statement on the WebhookDelivery table: the forge delivery log. */
export class DeliveryStore {
  constructor(private readonly prisma: PrismaClient) {}

  find(provider: string, deliveryId: string): Promise<WebhookDelivery | null> {
    return this.prisma.webhookDelivery.findUnique({
      where: { provider_deliveryId: { provider, deliveryId } },
    });
  }

  /**
   * Records a delivery; pass the run's transaction so the record commits (or, as a duplicate of a
   * concurrent copy, fails the unique index and rolls back) together with the change it caused.
   */
  async insert(delivery: NewDelivery, tx?: Prisma.TransactionClient): Promise<void> {
    await (tx ?? this.prisma).webhookDelivery.create({
      data: { id: `whd_${randomUUID()}`, ...delivery, detail: delivery.detail.slice(0, 1000) },
    });
  }

  /** How many records there are by provider and outcome. */
  async countByOutcome(): Promise<Array<{ provider: string; outcome: string; count: number }>> {
    const rows = await this.prisma.webhookDelivery.groupBy({
      by: ['provider', 'outcome'],
      _count: { _all: true },
    });
    return rows.map((row) => ({ provider: row.provider, outcome: row.outcome, count: row._count._all }));
  }

  /** Deletes up to one batch of records received before `cutoff`; returns how many went. */
  pruneBatch(cutoff: Date): Promise<number> {
    return this.prisma.$executeRaw`
      DELETE FROM "WebhookDelivery" WHERE id IN (
        SELECT id FROM "WebhookDelivery" WHERE "receivedAt" < ${cutoff} LIMIT ${PRUNE_BATCH})`;
  }
}

export { PRUNE_BATCH };
