import { Prisma, type PrismaClient } from '../../generated/prisma/client.js';
import { type NewRun, RUN_EVENTS_CHANNEL, type Run, type RunEvent } from './types.js';

/**
 * Inserts a QUEUED run with its first event (seq 1), its notification destination when it has one,
 * and, when `notify`, its notice — in one
 * statement: startRun is the hot path, and one round trip instead of five (BEGIN, two INSERTs,
 * NOTIFY, COMMIT) is most of its cost. A statement is atomic, so the three still commit together.
 */
export async function createRun(
  prisma: PrismaClient,
  notify: boolean,
  run: NewRun,
  event: { type: string; at: Date },
): Promise<{ run: Run; event: RunEvent }> {
  const notice = notify
    ? Prisma.sql`, pg_notify(${RUN_EVENTS_CHANNEL}, json_build_object(
        'runId', run.id, 'projectId', run."projectId", 'seq', 1, 'status', run.status)::text)::text AS "notified"`
    : Prisma.empty;
  const target = run.notifyTarget;
  // Unreferenced, this CTE still runs, in the same statement: no run without its destination.
  const destination = target
    ? Prisma.sql`, destination AS (
        INSERT INTO "WebhookEndpoint" ("id", "projectId", "runId", "url", "events", "secret", "createdAt", "updatedAt")
        SELECT ${target.endpointId}, run."projectId", run.id, ${target.url}, ${target.events}::text[], ${target.secret},
               run."createdAt", run."createdAt" FROM run
      )`
    : Prisma.empty;
  const metadata = run.metadata === null ? null : JSON.stringify(run.metadata);
  const rows = await prisma.$queryRaw<Array<Run & { notified?: string }>>`
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
    ) ${destination}
    SELECT run.* ${notice} FROM run, event`;
  const { notified: _notified, ...created } = rows[0];
  const first: RunEvent = {
    runId: created.id,
    seq: 1,
    upstreamId: null,
    type: event.type,
    status: created.status,
    percent: created.percent,
    phase: created.phase,
    message: null,
    data: null,
    at: event.at,
  };
  return { run: created, event: first };
}
