import type { Prisma, RunMessage } from '../../generated/prisma/client.js';
import type { Db } from './types.js';

export type { RunMessage };

/** Written in the transaction that appends the USER_MESSAGE event (src/runs/service.ts). */
export function insertMessage(
  tx: Prisma.TransactionClient,
  message: { id: string; runId: string; text: string; idempotencyKey: string | null; eventSeq: number },
): Promise<RunMessage> {
  return tx.runMessage.create({ data: message });
}

export function findMessageByKey(db: Db, runId: string, idempotencyKey: string): Promise<RunMessage | null> {
  return db.runMessage.findUnique({ where: { runId_idempotencyKey: { runId, idempotencyKey } } });
}

/**
 * For each run, its oldest message still to deliver, if due: messages go out one at a time in the
 * order they were sent, so a later one never overtakes one that is waiting for a retry.
 */
export async function nextMessages(db: Db, runIds: string[], now: Date): Promise<Map<string, RunMessage>> {
  if (runIds.length === 0) return new Map();
  const pending = await db.runMessage.findMany({
    where: { runId: { in: runIds }, status: 'PENDING' },
    orderBy: [{ runId: 'asc' }, { createdAt: 'asc' }, { eventSeq: 'asc' }],
  });
  const next = new Map<string, RunMessage>();
  for (const message of pending) if (!next.has(message.runId)) next.set(message.runId, message);
  for (const [runId, message] of next) if (message.nextAttemptAt > now) next.delete(runId);
  return next;
}

/** Records a delivery attempt's result (in the transaction that appends its event, if any). */
export function updateMessage(
  tx: Prisma.TransactionClient,
  id: string,
  data: Prisma.RunMessageUpdateInput,
): Promise<RunMessage> {
  return tx.runMessage.update({ where: { id }, data });
}
