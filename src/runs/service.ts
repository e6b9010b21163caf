import { canAccessProject, type Principal } from '../auth/principal.js';
import { AppError, badInput, notFound } from '../errors.js';
import { boundMessage } from './activity.js';
import { decodeCursor, encodeCursor, isRunCursor, isSeqCursor } from './cursor.js';
import { newMessageId, newRunId } from './ids.js';
import { cancel, messageSent, QUEUED_PHASE } from './lifecycle.js';
import { RUN_STATUSES, type RunStatus } from './status.js';
import {
  isUniqueViolation,
  type Run,
  type RunColumns,
  type RunEvent,
  type RunFilter,
  type RunNotifyTarget,
  type RunStore,
} from './store/index.js';
import {
  rejectNul,
  type SendRunMessageInput,
  type StartRunInput,
  validateRunMessage,
  validateStartRun,
} from './validation.js';

export interface Page<T> {
  edges: Array<{ cursor: string; node: T }>;
  pageInfo: {
    hasNextPage: boolean;
    hasPreviousPage: boolean;
    startCursor: string | null;
    endCursor: string | null;
  };
  totalCount: () => Promise<number>;
}

export interface ListRunsFilter {
  projectId?: string | null;
  status?: RunStatus[] | null;
  repository?: string | null;
  first?: number | null;
  after?: string | null;
}

/** A run's own notification destination as startRun returns it: the secret is shown to its creator only. */
export interface RunNotifyDestination {
  endpointId: string;
  secret: string;
}

/** Makes and finds a run's own notification destination (src/notifications implements it). */
export interface RunNotifyTargets {
  /** Checks the URL (BAD_USER_INPUT when refused) and makes a destination with a new secret. */
  prepare(url: string): Promise<{ target: RunNotifyTarget; secret: string }>;
  /** The destination a run was created with and its current secret; null when it has none. */
  find(runId: string): Promise<RunNotifyDestination | null>;
}

export interface StartRunResult {
  run: Run;
  created: boolean;
  notify: RunNotifyDestination | null;
}

export interface RunServiceOptions {
  maxPageSize: number;
  /** Told when there is new work for the poller (a queued run, a cancel to send upstream). */
  onWork?: () => void;
  /** Throws RATE_LIMITED when the caller sends mutations too fast (src/limits/rate-limiter.ts). */
  limitMutations?: (principal: Principal) => void;
  /** Without it a notifyUrl is refused. */
  notifyTargets?: RunNotifyTargets;
}

/** Run use cases, shared by every API (GraphQL today). Resolvers stay thin and call these. */
export class RunService {
  constructor(
    private readonly store: RunStore,
    private readonly options: RunServiceOptions,
  ) {}

  async start(input: StartRunInput, principal: Principal): Promise<StartRunResult> {
    this.options.limitMutations?.(principal);
    const valid = validateStartRun(input);
    if (!canAccessProject(principal, valid.projectId)) {
      throw new AppError(
        'FORBIDDEN',
        `This token may not start runs in project ${JSON.stringify(valid.projectId)}`,
      );
    }
    const prepared = await this.prepareNotifyTarget(input.notifyUrl);
    // No look-up of the idempotency key first: the unique index decides (P2002 below), which saves
    // one query on every new run — most calls (bench/RESULTS.md, scenario 1).
    const now = new Date();
    const id = newRunId(now.getTime());
    try {
      const created = await this.store.create(
        {
          id,
          projectId: valid.projectId,
          compiledPrompt: valid.compiledPrompt,
          repository: valid.repository,
          branch: valid.branch,
          gitProvider: valid.gitProvider,
          metadata: valid.metadata,
          idempotencyKey: valid.idempotencyKey,
          phase: QUEUED_PHASE,
          createdAt: now,
          notifyTarget: prepared?.target ?? null,
        },
        { type: 'CREATED', at: now },
      );
      this.options.onWork?.();
      const notify = prepared ? { endpointId: prepared.target.endpointId, secret: prepared.secret } : null;
      return { run: created, created: true, notify };
    } catch (error) {
      // Two requests with one idempotency key raced: the unique index let one win.
      if (valid.idempotencyKey && isUniqueViolation(error)) {
        const existing = await this.store.findRunByIdempotencyKey(valid.projectId, valid.idempotencyKey);
        // A replay makes no second destination and returns the first one's secret (if it had one).
        if (existing)
          return { run: existing, created: false, notify: await this.notifyDestination(existing) };
      }
      throw error;
    }
  }

  private async prepareNotifyTarget(notifyUrl: string | null | undefined) {
    if (notifyUrl == null) return null;
    if (!this.options.notifyTargets) throw badInput('notifyUrl', 'notifyUrl is not supported here');
    return this.options.notifyTargets.prepare(notifyUrl);
  }

  private notifyDestination(run: Run): Promise<RunNotifyDestination | null> {
    return this.options.notifyTargets?.find(run.id) ?? Promise.resolve(null);
  }

  /** Ends the run CANCELLED; the poller stops the upstream conversation (and retries until it is). */
  async cancel(id: string, principal: Principal, reason = 'Cancelled by client'): Promise<Run> {
    this.options.limitMutations?.(principal);
    await this.require(id, principal);
    const result = await this.store.transition(id, (run) => {
      const decision = cancel(run, reason, new Date());
      if ('conflict' in decision) throw new AppError('CONFLICT', decision.conflict, { status: run.status });
      return decision.change;
    });
    if (!result) throw notFound('Run', id);
    if (result.run.stopPending) this.options.onWork?.();
    return result.run;
  }

  /**
   * Stores a message for the agent (a USER_MESSAGE event and its RunMessage row, in one transaction);
   * the poller holding the run delivers it. The same idempotencyKey returns the first message's event.
   */
  async sendMessage(
    runId: string,
    input: SendRunMessageInput,
    principal: Principal,
  ): Promise<{ run: Run; event: RunEvent }> {
    this.options.limitMutations?.(principal);
    const valid = validateRunMessage(input);
    await this.require(runId, principal);
    const earlier = valid.idempotencyKey ? await this.sentBefore(runId, valid.idempotencyKey) : undefined;
    if (earlier) return earlier;
    const { message, cut } = boundMessage(valid.text);
    const id = newMessageId();
    try {
      const result = await this.store.transition(
        runId,
        (run) => {
          const decision = messageSent(run, { message, data: { messageId: id, ...cut } }, new Date());
          if ('conflict' in decision) {
            throw new AppError('CONFLICT', decision.conflict, { status: run.status });
          }
          return decision.change;
        },
        async (tx, written) => {
          const event = written.events.at(-1)!;
          await this.store.insertMessage(tx, {
            id,
            runId,
            text: valid.text,
            idempotencyKey: valid.idempotencyKey,
            eventSeq: event.seq,
          });
        },
      );
      if (!result) throw notFound('Run', runId);
      this.options.onWork?.();
      return { run: result.run, event: result.events.at(-1)! };
    } catch (error) {
      // Two sends with one key raced: the unique index let one win.
      if (valid.idempotencyKey && isUniqueViolation(error)) {
        const first = await this.sentBefore(runId, valid.idempotencyKey);
        if (first) return first;
      }
      throw error;
    }
  }

  private async sentBefore(runId: string, key: string): Promise<{ run: Run; event: RunEvent } | undefined> {
    const message = await this.store.findMessageByKey(runId, key);
    if (!message) return undefined;
    const [run, event] = await Promise.all([
      this.store.findRun(runId),
      this.store.findEvent(runId, message.eventSeq),
    ]);
    return run && event ? { run, event } : undefined;
  }

  /** With `columns`, the run holds only those (and what the access check needs). */
  async get(id: string, principal: Principal, columns?: RunColumns): Promise<Run | null> {
    const run = await this.store.findRun(id, columns && { ...columns, projectId: true });
    // A run in a project the token may not see reads as absent: no existence leak.
    return run && canAccessProject(principal, run.projectId) ? run : null;
  }

  async require(id: string, principal: Principal): Promise<Run> {
    const run = await this.get(id, principal);
    if (!run) throw notFound('Run', id);
    return run;
  }

  /** With `columns`, the runs hold only those (and what their cursors need). */
  async list(filter: ListRunsFilter, principal: Principal, columns?: RunColumns): Promise<Page<Run>> {
    const first = this.pageSize(filter.first);
    if (filter.projectId != null) rejectNul('projectId', filter.projectId);
    if (filter.repository != null) rejectNul('repository', filter.repository);
    let projectIds: string[] | null = principal.projects;
    if (filter.projectId != null) {
      if (!canAccessProject(principal, filter.projectId)) return emptyPage();
      projectIds = [filter.projectId];
    }
    for (const s of filter.status ?? []) {
      if (!(RUN_STATUSES as readonly string[]).includes(s)) throw badInput('status', `unknown status ${s}`);
    }
    const where: RunFilter = { projectIds, status: filter.status, repository: filter.repository };
    let before: { createdAt: Date; id: string } | null = null;
    if (filter.after) {
      const c = decodeCursor('after', filter.after, isRunCursor);
      before = { createdAt: new Date(c.c), id: c.i };
    }
    const rows = await this.store.listRuns(
      where,
      before,
      first + 1,
      columns && { ...columns, id: true, createdAt: true },
    );
    const nodes = rows.slice(0, first);
    const edges = nodes.map((node) => ({
      cursor: encodeCursor({ c: node.createdAt.toISOString(), i: node.id }),
      node,
    }));
    return {
      edges,
      pageInfo: pageInfo(edges, rows.length > first, Boolean(filter.after)),
      totalCount: () => this.store.countRuns(where),
    };
  }

  async events(
    runId: string,
    args: { first?: number | null; after?: string | null },
  ): Promise<Page<RunEvent>> {
    const first = this.pageSize(args.first);
    const after = args.after ? decodeCursor('after', args.after, isSeqCursor).s : 0;
    const rows = await this.store.listEvents(runId, after, first + 1);
    const edges = rows.slice(0, first).map((node) => ({ cursor: encodeCursor({ s: node.seq }), node }));
    return {
      edges,
      pageInfo: pageInfo(edges, rows.length > first, after > 0),
      totalCount: () => this.store.countEvents(runId),
    };
  }

  private pageSize(first: number | null | undefined): number {
    if (first == null) return Math.min(20, this.options.maxPageSize);
    if (!Number.isInteger(first) || first < 1) throw badInput('first', 'first must be a positive integer');
    if (first > this.options.maxPageSize) {
      throw badInput('first', `first must be at most ${this.options.maxPageSize}`);
    }
    return first;
  }
}

function pageInfo(
  edges: Array<{ cursor: string }>,
  hasNextPage: boolean,
  hasPreviousPage: boolean,
): Page<unknown>['pageInfo'] {
  return {
    hasNextPage,
    hasPreviousPage,
    startCursor: edges[0]?.cursor ?? null,
    endCursor: edges.at(-1)?.cursor ?? null,
  };
}

function emptyPage<T>(): Page<T> {
  return { edges: [], pageInfo: pageInfo([], false, false), totalCount: async () => 0 };
}
