import { Prisma } from '../../generated/prisma/client.js';
import type { ActivityEvent } from '../activity.js';
import { plan, type RunChange } from '../lifecycle.js';
import { activityToAppend } from './append-activity.js';
import {
  latestNotice,
  RUN_EVENTS_CHANNEL,
  type Run,
  type RunNotice,
  type TransitionResult,
} from './types.js';

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
  const activity = change.activity?.length
    ? await activityToAppend(tx, runId, current.activityCount, change.activity)
    : { events: [], counted: current.activityCount };
  if (activity.counted !== current.activityCount) data.activityCount = activity.counted;
  // Activity first, as the run stood when it happened, then the change it led to (the agent's
  // question, then AWAITING_INPUT): only that last event moves the status (and notifies).
  const toAppend: Array<ActivityEvent & { after?: true }> = [...activity.events];
  if (event) toAppend.push({ ...event, message: event.message ?? null, upstreamId: null, after: true });
  if (toAppend.length === 0) {
    // The outcome arrives after the run's last event (read once it ended): list views still hear of it.
    const announced = data.outcome !== undefined;
    if (announced) data.changedAt = new Date();
    const run = Object.keys(data).length ? await tx.run.update({ where: { id: runId }, data }) : current;
    if (announced && notify) await publish(tx, latestNotice(run));
    return { run, events: [], statusBefore: current.status, ...(announced ? { announced } : {}) };
  }
  const first = current.lastSeq + 1;
  const lastSeq = current.lastSeq + toAppend.length;
  const run = await tx.run.update({
    where: { id: runId },
    data: { ...data, lastSeq, changedAt: new Date() },
  });
  const created = await tx.runEvent.createManyAndReturn({
    data: toAppend.map((e, i) => ({
      runId,
      seq: first + i,
      type: e.type,
      status: e.after ? run.status : current.status,
      percent: e.after ? run.percent : current.percent,
      phase: e.after ? run.phase : current.phase,
      message: e.message ?? null,
      data: e.data ?? Prisma.DbNull,
      upstreamId: e.upstreamId,
    })),
  });
  created.sort((a, b) => a.seq - b.seq);
  if (notify) await publish(tx, latestNotice(run));
  return { run, events: created, statusBefore: current.status };
}

/** NOTIFY, which PostgreSQL delivers to every replica's LISTEN only once the transaction commits. */
async function publish(tx: Prisma.TransactionClient, notice: RunNotice): Promise<void> {
  await tx.$executeRaw`SELECT pg_notify(${RUN_EVENTS_CHANNEL}, ${JSON.stringify(notice)})`;
}
