import type { Prisma } from '../generated/prisma/client.js';
import { runObject } from '../rest/serialize.js';
import type { TransitionResult } from '../runs/store/index.js';
import { notificationTypes } from './events.js';
import { type Notification, NotificationStore } from './store.js';

/**
 * The RunStore's in-transaction hook: for each appended event that means a notification, one
 * outbox row per subscribed endpoint, committed (or rolled back) with the run change itself.
 * Events that notify nobody (progress, most) cost nothing; the others one INSERT … SELECT.
 */
export async function writeOutbox(tx: Prisma.TransactionClient, result: TransitionResult): Promise<void> {
  if (!result.statusBefore) return;
  let before = result.statusBefore;
  for (const event of result.events) {
    const types = notificationTypes(before, event);
    before = event.status;
    if (types.length === 0) continue;
    const run = runObject(result.run);
    const notifications: Notification[] = types.map((type) => ({
      type,
      payload: JSON.stringify({ type, timestamp: event.at.toISOString(), data: { run } }),
    }));
    await NotificationStore.enqueue(tx, result.run, event.seq, notifications);
  }
}
