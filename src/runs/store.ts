import { Prisma, type PrismaClient, type Run, type RunEvent } from '../generated/prisma/client.js';
import { isFinal, type RunStatus } from './status.js';

export type { Run, RunEvent };

/** A change to one run, decided by looking at its current (locked) row. */
export interface RunChange {
  status?: RunStatus;
  percent?: number;
  phase?: string;
  error?: { code: string; message: string; retryable: boolean };
  /** Other columns (upstream ids, cursors, scheduling). Never status/percent/phase/seq. */
  set?: Omit<Prisma.RunUncheckedUpdateInput, 'status' | 'percent' | 'phase' | 'lastSeq' | 'id'>;
  /** Records an event even when status, percent and phase stay the same. */
  event?: { type: string; message?: string; data?: Prisma.InputJsonValue };
}

export type Transition = (run: Run) => RunChange | null;

/** Extra work committed atomically with a transition (see `RunStore.transition`). */
export type AlongWith = (tx: Prisma.TransactionClient, result: TransitionResult) => Promise<void>;

export interface TransitionResult {
  run: Run;
  events: RunEvent[];
}

export type EventListener = (result: TransitionResult) => void;

/** The NOTIFY channel other replicas LISTEN on; payloads are a RunNotice as JSON. */
export const RUN_EVENTS_CHANNEL = 'ohr_run_events';

/** What a notification says: small on purpose, the listener reads the rows. */
export interface RunNotice {
  runId: string;
  projectId: string;
  seq: number;
  status: RunStatus;
}

type Tx = Prisma.TransactionClient;

/** What a client decides about a new run; everything else starts at its default. */
export interface NewRun {
  id: string;
  projectId: string;
  compiledPrompt: string;
  repository: string | null;
  branch: string | null;
  gitProvider: string | null;
  metadata: Record<string, unknown> | null;
  idempotencyKey: string | null;
  phase: string;
  createdAt: Date;
}

/** A unique index refused the write, through the query builder (P2002) or raw SQL (23505). */
export function isUniqueViolation(error: unknown): boolean {
  const e = error as { code?: string; meta?: { driverAdapterError?: { cause?: { originalCode?: string } } } };
  return e?.code === 'P2002' || e?.meta?.driverAdapterError?.cause?.originalCode === '23505';
}

/**
 * The only writer of run state. Every change runs in a transaction on the locked row and appends to
 * the run's event log in that same transaction, so the log and the row never disagree. The rules
 * that must hold for every writer live here: a finished run never becomes active again, percent
 * never decreases and is 100 only for COMPLETED.
 */
export class RunStore {
  private readonly listeners = new Set<EventListener>();

  /**
   * @param notify when true (PostgreSQL), every appended event is announced with NOTIFY inside its
   *   transaction, so listeners on any replica hear of it only once it is committed.
   */
  constructor(
    readonly prisma: PrismaClient,
    private readonly notify = false,
  ) {}

  /**
   * Creates a QUEUED run with its first event (seq 1) and, on PostgreSQL, its notice — in one
   * statement: startRun is the hot path, and one round trip instead of five (BEGIN, two INSERTs,
   * NOTIFY, COMMIT) is most of its cost. A statement is atomic, so the three still commit together.
   */
  async create(run: NewRun, event: { type: string; at: Date }): Promise<Run> {
    const notice = this.notify
      ? Prisma.sql`, pg_notify(${RUN_EVENTS_CHANNEL}, json_build_object(
          'runId', run.id, 'projectId', run."projectId", 'seq', 1, 'status', run.status)::text)::text AS "notified"`
      : Prisma.empty;
    const metadata = run.metadata === null ? null : JSON.stringify(run.metadata);
    const rows = await this.prisma.$queryRaw<Array<Run & { notified?: string }>>`
      WITH run AS (
        INSERT INTO "Run" ("id", "projectId", "compiledPrompt", "repository", "branch", "gitProvider", "metadata",
                           "idempotencyKey", "status", "percent", "phase", "createdAt", "updatedAt", "nextPollAt", "lastSeq")
        VALUES (${run.id}, ${run.projectId}, ${run.compiledPrompt}, ${run.repository}, ${run.branch}, ${run.gitProvider},
                ${metadata}::jsonb, ${run.idempotencyKey}, 'QUEUED', 0, ${run.phase}, ${run.createdAt}, ${run.createdAt},
                ${run.createdAt}, 1)
        RETURNING *
      ), event AS (
        INSERT INTO "RunEvent" ("runId", "seq", "type", "status", "percent", "phase", "at")
        SELECT id, 1, ${event.type}, status, percent, phase, ${event.at} FROM run
        RETURNING seq
      )
      SELECT run.* ${notice} FROM run, event`;
    const { notified: _notified, ...created } = rows[0];
    const first: RunEvent = {
      runId: created.id,
      seq: 1,
      type: event.type,
      status: created.status,
      percent: created.percent,
      phase: created.phase,
      message: null,
      data: null,
      at: event.at,
    };
    this.emit({ run: created, events: [first] });
    return created;
  }

  private async announce(tx: Tx, run: Run, event: RunEvent): Promise<void> {
    if (!this.notify) return;
    const notice: RunNotice = { runId: run.id, projectId: run.projectId, seq: event.seq, status: run.status };
    await tx.$executeRaw`SELECT pg_notify(${RUN_EVENTS_CHANNEL}, ${JSON.stringify(notice)})`;
  }

  /** Called after commit with the run and the events appended. */
  onEvents(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * `alongWith` runs inside the same transaction after the change is written (not when the run is
   * missing), so a record of what caused the change (a webhook delivery) commits or rolls back with it.
   */
  async transition(
    runId: string,
    decide: Transition,
    alongWith?: AlongWith,
  ): Promise<TransitionResult | null> {
    const result = await this.prisma.$transaction(async (tx) => {
      const written = await this.write(tx, runId, decide);
      if (written && alongWith) await alongWith(tx, written);
      return written;
    });
    if (result && result.events.length > 0) this.emit(result);
    return result;
  }

  private async write(
    tx: Prisma.TransactionClient,
    runId: string,
    decide: Transition,
  ): Promise<TransitionResult | null> {
    const locked = await tx.$queryRaw<
      Array<{ id: string }>
    >`SELECT id FROM "Run" WHERE id = ${runId} FOR UPDATE`;
    if (locked.length === 0) return null;
    const current = await tx.run.findUniqueOrThrow({ where: { id: runId } });
    const change = decide(current);
    if (!change) return { run: current, events: [] };
    const { data, event } = plan(current, change);
    if (!event) {
      const run = Object.keys(data).length ? await tx.run.update({ where: { id: runId }, data }) : current;
      return { run, events: [] };
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
    await this.announce(tx, run, created);
    return { run, events: [created] };
  }

  emit(result: TransitionResult): void {
    for (const listener of this.listeners) {
      try {
        listener(result);
      } catch {
        // A listener's failure must not undo or hide a committed change.
      }
    }
  }
}

/** Whether `change` would append to the run's event log (moves status, percent or phase, or says so). */
export function appendsEvent(run: Run, change: RunChange): boolean {
  return plan(run, change).event !== undefined;
}

function plan(
  run: Run,
  change: RunChange,
): { data: Prisma.RunUncheckedUpdateInput; event?: RunChange['event'] } {
  const data: Prisma.RunUncheckedUpdateInput = { ...(change.set ?? {}) };
  const wasFinal = isFinal(run.status);
  const now = new Date();
  let status = run.status;
  let percent = run.percent;
  let phase = run.phase;
  if (!wasFinal) {
    status = change.status ?? run.status;
    percent =
      status === 'COMPLETED' ? 100 : Math.min(99, Math.max(run.percent, change.percent ?? run.percent));
    phase = change.phase ?? run.phase;
    if (isFinal(status)) {
      data.finishedAt = now;
      if (status !== 'COMPLETED' && change.error) {
        data.errorCode = change.error.code;
        data.errorMessage = change.error.message;
        data.errorRetryable = change.error.retryable;
      }
    }
  } else if (change.phase && change.event) {
    // Finished runs keep their status and percent, but may record later facts (a PR merged).
    phase = change.phase;
  }
  const statusChanged = status !== run.status;
  const moved = statusChanged || percent !== run.percent || phase !== run.phase;
  if (statusChanged) data.status = status;
  if (percent !== run.percent) data.percent = percent;
  if (phase !== run.phase) data.phase = phase;
  if (!moved && !change.event) return { data };
  const event = change.event ?? {
    type: statusChanged ? 'STATUS_CHANGED' : 'PROGRESS',
    message: statusChanged ? `${run.status} → ${status}` : undefined,
  };
  return { data, event };
}
