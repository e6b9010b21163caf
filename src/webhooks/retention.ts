import type { PrismaClient } from '../generated/prisma/client.js';
import type { Logger } from '../logger.js';

const DAY_MS = 24 * 60 * 60 * 1000;
/** Rows per DELETE, so a large backlog never holds one long transaction. */
const BATCH = 5000;
/** How often old deliveries are looked for; the first pass runs soon after start-up. */
const EVERY_MS = 60 * 60 * 1000;
const FIRST_AFTER_MS = 5000;

/** Deletes delivery records received more than `days` ago; returns how many went. */
export async function pruneDeliveries(prisma: PrismaClient, days: number): Promise<number> {
  const cutoff = new Date(Date.now() - days * DAY_MS);
  let total = 0;
  for (;;) {
    const deleted = await prisma.$executeRaw`
      DELETE FROM "WebhookDelivery" WHERE id IN (
        SELECT id FROM "WebhookDelivery" WHERE "receivedAt" < ${cutoff} LIMIT ${BATCH})`;
    total += deleted;
    if (deleted < BATCH) return total;
  }
}

/**
 * Keeps the delivery log bounded (WEBHOOK_RETENTION_DAYS; 0 keeps everything). Every replica runs
 * it; the DELETE is idempotent. A delivery redelivered after its record is gone is processed again,
 * which changes nothing on a finished run (a finished run never goes back to an active status).
 */
export class DeliveryRetention {
  private timer: NodeJS.Timeout | undefined;
  private pass: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly prisma: PrismaClient,
    private readonly days: number,
    private readonly log: Logger,
  ) {}

  start(): void {
    if (this.days <= 0 || this.timer) return;
    const run = () => {
      this.pass = pruneDeliveries(this.prisma, this.days).then(
        (deleted) => {
          if (deleted > 0) this.log.info({ deleted, days: this.days }, 'old webhook deliveries deleted');
        },
        (error) => this.log.warn({ err: error }, 'could not delete old webhook deliveries'),
      );
      this.timer = setTimeout(run, EVERY_MS).unref();
    };
    this.timer = setTimeout(run, FIRST_AFTER_MS).unref();
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.pass;
  }
}
