import type { Logger } from '../logger.js';
import { type DeliveryStore, PRUNE_BATCH } from './delivery-store.js';

const DAY_MS = 24 * 60 * 60 * 1000;
/** How often old deliveries are looked for; the first pass runs soon after start-up. */
const EVERY_MS = 60 * 60 * 1000;
const FIRST_AFTER_MS = 5000;

/**
 * Deletes delivery records received more than `days` ago, a batch at a time, until none is left or
 * `stopping()` says to stop; returns how many went.
 */
export async function pruneDeliveries(
  deliveries: DeliveryStore,
  days: number,
  stopping: () => boolean = () => false,
): Promise<number> {
  const cutoff = new Date(Date.now() - days * DAY_MS);
  let total = 0;
  while (!stopping()) {
    const deleted = await deliveries.pruneBatch(cutoff);
    total += deleted;
    if (deleted < PRUNE_BATCH) break;
  }
  return total;
}

/**
 * Keeps the delivery log bounded (WEBHOOK_RETENTION_DAYS; 0 keeps everything). Every replica runs
 * it; the DELETE is idempotent. A delivery redelivered after its record is gone is processed again,
 * which changes nothing on a finished run (a finished run never goes back to an active status).
 */
export class DeliveryRetention {
  private timer: NodeJS.Timeout | undefined;
  private pass: Promise<unknown> = Promise.resolve();
  private stopped = false;

  constructor(
    private readonly deliveries: DeliveryStore,
    private readonly days: number,
    private readonly log: Logger,
  ) {}

  start(): void {
    if (this.days <= 0 || this.timer) return;
    this.stopped = false;
    // The next pass is scheduled when this one ends, so passes never overlap.
    const run = () => {
      this.pass = pruneDeliveries(this.deliveries, this.days, () => this.stopped)
        .then(
          (deleted) => {
            if (deleted > 0) this.log.info({ deleted, days: this.days }, 'old webhook deliveries deleted');
          },
          (error) => this.log.warn({ err: error }, 'could not delete old webhook deliveries'),
        )
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(run, EVERY_MS).unref();
        });
    };
    this.timer = setTimeout(run, FIRST_AFTER_MS).unref();
  }

  /** Stops after the batch in flight (a large backlog never holds up shutdown). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.pass;
  }
}
