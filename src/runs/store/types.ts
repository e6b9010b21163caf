import type { Prisma, PrismaClient, Run, RunEvent } from '../../generated/prisma/client.js';
import type { RunStatus } from '../status.js';

export type { Run, RunEvent };

/** Either the client or a transaction: most reads run in both. */
export type Db = PrismaClient | Prisma.TransactionClient;

/**
 * The Run columns a read needs (a Prisma `select` of scalars). A run read with it holds only these
 * properties: the caller (GraphQL, which knows what the query asks for) reads no others.
 */
export type RunColumns = { [K in keyof Run]?: true };

export interface TransitionResult {
  run: Run;
  events: RunEvent[];
  /** The status before the change (transitions only), so a status change can be told from its event. */
  statusBefore?: RunStatus;
  /** No event, but a change clients wait for (the outcome, read after the run ended): announced anyway. */
  announced?: boolean;
}

/** The columns a notice is made of. */
export type NoticedRun = Pick<Run, 'id' | 'projectId' | 'lastSeq' | 'status'>;

/** The notice for the run as it stands: its latest seq and status. */
export function latestNotice(run: NoticedRun): RunNotice {
  return { runId: run.id, projectId: run.projectId, seq: run.lastSeq, status: run.status };
}

/** The notices a committed change means for subscribers: one per event, or one for an announced change. */
export function noticesOf({ run, events, announced }: TransitionResult): RunNotice[] {
  if (events.length === 0) return announced ? [latestNotice(run)] : [];
  return events.map((e) => ({ runId: run.id, projectId: run.projectId, seq: e.seq, status: e.status }));
}

/** The NOTIFY channel other replicas LISTEN on; payloads are a RunNotice as JSON. */
export const RUN_EVENTS_CHANNEL = 'ohr_run_events';

/** What a notification says: small on purpose, the listener reads the rows. */
export interface RunNotice {
  runId: string;
  projectId: string;
  seq: number;
  status: RunStatus;
}

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
  /** The run's own notification destination (startRun notifyUrl), inserted with it. */
  notifyTarget?: RunNotifyTarget | null;
}

/** A webhook endpoint that receives one run's notifications; `secret` as stored (maybe sealed). */
export interface RunNotifyTarget {
  endpointId: string;
  url: string;
  events: string[];
  secret: string;
}
