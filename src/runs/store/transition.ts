import { Prisma } from '../../generated/prisma/client.js';
import { plan, type RunChange } from '../lifecycle.js';
import { RUN_EVENTS_CHANNEL, type Run, type RunNotice, type TransitionResult } from './types.js';

/** Decides a run's change from its locked row: a lifecycle function, usually (src/runs/lifecycle.ts). */
export type Decide = (run: Run) => RunChange | null;

/**
 * Locks the run, asks `decide` what changes, and writes it with the event it appends — in the caller's
 * transaction, so the log and the row never disagree. `notify` announces the event with NOTIFY,
 * which PostgreSQL delivers to listeners on every replica only once the transaction commits.
 * Returns null when the run does not exist.
 */
export async function transitionRun(
  tx: Prisma.TransactionClient,
  notify: boolean,
  runId: string,
  decide: Decide,
): Promise<TransitionResult | null> {
  const locked = await tx.$queryRaw<
    Array<{ id: string }>
  >`SELECT id FROM "Run" WHERE id = ${runId} FOR UPDATE`;
  if (locked.length === 0) return null;
  const current = await tx.run.findUniqueOrThrow({ where: { id: runId } });
  const change = decide(current);
  if (!change) return { run: current, events: [], statusBefore: current.status };
  const { data, event } = plan(current, change);
  if (!event) {
    const run = Object.keys(data).length ? await tx.run.update({ where: { id: runId }, data }) : current;
    return { run, events: [], statusBefore: current.status };
  }
  const seq = current.lastSeq + 1;
  const run = await tx.run.update({ where: { id: runId }, data: { ...data, lastSeq: seq } });
  const created = await tx.runEvent.create({
    data: {
      runId,
      seq,
      type: event.type,
      status: run.status,
      percent: run.percent,
      phase: run.phase,
      message: event.message ?? null,
      data: event.data ?? Prisma.DbNull,
    },
  });
  if (notify) {
    const notice: RunNotice = {
      runId: run.id,
      projectId: run.projectId,
      seq: created.seq,
      status: run.status,
    };
    await tx.$executeRaw`SELECT pg_notify(${RUN_EVENTS_CHANNEL}, ${JSON.stringify(notice)})`;
  }
  return { run, events: [created], statusBefore: current.status };
}
