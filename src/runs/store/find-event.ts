import type { Db } from './types.js';

/** One event of a run by its seq (the USER_MESSAGE event an idempotent resend returns). */
export function findEvent(db: Db, runId: string, seq: number) {
  return db.runEvent.findUnique({ where: { runId_seq: { runId, seq } } });
}
