/**
 * V1 (OpenHands 1.x) app-server routes: start tasks, batch conversation reads, search,
 * event search (1.x and 0.62 paths), sandbox pause, delete and send-message.
 */
import type { ServerResponse } from 'node:http';
import { agentServerRoutes } from './agent-server.js';
import {
  detail,
  isRecord,
  ok,
  parseJsonBody,
  type Reply,
  type RequestContext,
  type Route,
  route,
  unprocessable,
} from './http.js';
import { normalizeUuid } from './ids.js';
import { pageOf } from './paging.js';
import type { RunEnv } from './run.js';
import { parseScenario } from './scenarios.js';
import { repoInfo } from './script.js';
import { baseInfo, type VersionApi } from './store.js';
import type { ConversationInfo } from './types.js';
import { V1Run } from './v1-run.js';

/** Conversations show up in search/list only this many steps after READY (notes: "slow to appear"). */
const SEARCH_LAG_STEPS = 3;
/** Batch reads accept fewer than this many ids. */
const MAX_BATCH_IDS = 100;

const HEX = '([0-9a-fA-F-]{32,36})';

export class V1Api implements VersionApi {
  private readonly all: V1Run[] = [];
  readonly routes: Route[];

  constructor(
    private readonly env: RunEnv,
    /** Running sandboxes before the oldest is paused. */
    private readonly maxSandboxes: number,
    /** Older 1.x servers (Nov 2025) lack send-message: messages go to the agent server. */
    sendMessageRoute = true,
  ) {
    const r = route;
    this.routes = [
      ...agentServerRoutes(() => this.all, messageText),
      r('POST', '/api/v1/sandboxes/([^/]+)/resume', (_ctx, [id]) => this.resume(id ?? '')),
      r('POST', '/api/v1/app-conversations', (ctx) => this.start(ctx)),
      r('POST', '/api/v1/app-conversations/stream-start', (ctx) => this.streamStart(ctx)),
      r('GET', '/api/v1/app-conversations', (ctx) => this.batchConversations(ctx)),
      r('GET', '/api/v1/app-conversations/search', (ctx) => this.search(ctx)),
      r('GET', '/api/v1/app-conversations/count', () => ok(this.listed().length)),
      r('GET', '/api/v1/app-conversations/start-tasks', (ctx) => this.batchTasks(ctx)),
      r('GET', '/api/v1/app-conversations/start-tasks/search', (ctx) => this.searchTasks(ctx)),
      r('DELETE', `/api/v1/app-conversations/([^/]+)`, (_ctx, [id]) => this.remove(id ?? '')),
      ...(sendMessageRoute
        ? [
            r('POST', `/api/v1/app-conversations/${HEX}/send-message`, (ctx, [id]) =>
              this.sendMessage(ctx, id ?? ''),
            ),
          ]
        : []),
      r('GET', '/api/v1/conversation/([^/]+)/events/search', (ctx, [id]) => this.events(ctx, id ?? '')),
      r('GET', '/api/v1/events/search', (ctx) =>
        this.events(ctx, ctx.query.get('conversation_id__eq') ?? ''),
      ),
      r('POST', '/api/v1/sandboxes/([^/]+)/pause', (_ctx, [id]) => this.pause(id ?? '')),
    ];
  }

  runs(): V1Run[] {
    return this.all.filter((run) => !run.deleted);
  }

  isStatusRead(method: string, path: string): boolean {
    return (
      method === 'GET' &&
      (path === '/api/v1/app-conversations' || path === '/api/v1/app-conversations/start-tasks')
    );
  }

  /** V1 state lives in a database and in the sandboxes: a restart of the app server keeps it. */
  restart(): void {}

  shutdown(): void {
    for (const run of this.all) run.clearTimer();
  }

  conversations(): ConversationInfo[] {
    return this.all.map((run) => ({
      ...baseInfo(run),
      id: run.id,
      taskId: run.taskId,
      sandboxId: run.sandboxId,
      status: run.ready ? (run.executionStatus() ?? run.sandboxStatus()) : run.taskStatus,
      eventCount: run.events.length,
    }));
  }

  private start(ctx: RequestContext): Reply {
    const parsed = parseJsonBody(ctx.rawBody);
    if (!parsed.ok) return parsed.reply;
    const body = parsed.value;
    if (!isRecord(body)) {
      return unprocessable([
        {
          type: 'model_attributes_type',
          loc: ['body'],
          msg: 'Input should be a valid dictionary or object to extract fields from',
          input: body,
        },
      ]);
    }
    const issues = [];
    for (const field of ['selected_repository', 'selected_branch', 'git_provider', 'title'] as const) {
      const value = body[field];
      if (value !== undefined && value !== null && typeof value !== 'string') {
        issues.push({
          type: 'string_type',
          loc: ['body', field],
          msg: 'Input should be a valid string',
          input: value,
        });
      }
    }
    if (issues.length > 0) return unprocessable(issues);
    const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
    const prompt = promptOf(body.initial_message);
    const selectedRepository = str(body.selected_repository);
    const selectedBranch = str(body.selected_branch);
    const gitProvider = str(body.git_provider);
    this.enforceSandboxCap();
    const run = new V1Run(
      this.env,
      {
        prompt,
        scenario: parseScenario(prompt),
        repo: repoInfo(selectedRepository, selectedBranch, gitProvider),
        selectedRepository,
        selectedBranch,
        gitProvider,
        title: str(body.title),
      },
      body,
    );
    this.all.push(run);
    run.begin();
    return ok(run.toTask());
  }

  /** Streams task snapshots as a JSON array until READY or ERROR (polled, not pushed). */
  private streamStart(ctx: RequestContext): Reply {
    const reply = this.start(ctx);
    if (reply.status !== 200 || !isRecord(reply.body)) return reply;
    const run = this.all.find((r) => r.taskId === (reply.body as { id?: unknown }).id);
    if (!run) return reply;
    return {
      status: 200,
      stream: (res: ServerResponse) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write(`[\n${JSON.stringify(run.toTask())}`);
        let last = run.taskStatus;
        const timer = setInterval(
          () => {
            if (res.destroyed) return clearInterval(timer);
            if (run.taskStatus !== last) {
              last = run.taskStatus;
              res.write(`,\n${JSON.stringify(run.toTask())}`);
            }
            if (last === 'READY' || last === 'ERROR' || run.stopped) {
              clearInterval(timer);
              res.end(']');
            }
          },
          Math.max(5, Math.floor(this.env.stepMs / 3)),
        );
        timer.unref();
        res.on('close', () => clearInterval(timer));
      },
    };
  }

  private batchTasks(ctx: RequestContext): Reply {
    const ids = batchIds(ctx.query, 'start tasks');
    if (!ids.ok) return ids.reply;
    return ok(ids.value.map((id) => this.all.find((run) => run.taskId === id)?.toTask() ?? null));
  }

  private searchTasks(ctx: RequestContext): Reply {
    const tasks = [...this.all].reverse().map((run) => run.toTask());
    const page = pageOf(tasks, ctx.query);
    return page.ok ? ok(page.page) : page.reply;
  }

  private batchConversations(ctx: RequestContext): Reply {
    const ids = batchIds(ctx.query, 'app conversations');
    if (!ids.ok) return ids.reply;
    return ok(ids.value.map((id) => this.byConversationId(id)?.toConversation(true) ?? null));
  }

  /** Conversations old enough to be listed, newest first. */
  private listed(): V1Run[] {
    const lagMs = SEARCH_LAG_STEPS * this.env.stepMs;
    const now = Date.now();
    return this.runs()
      .filter((run) => run.readyMs !== null && now - run.readyMs >= lagMs)
      .reverse();
  }

  private search(ctx: RequestContext): Reply {
    const titleFilter = ctx.query.get('title__contains');
    const items = this.listed()
      .map((run) => run.toConversation(false))
      .filter((c): c is Record<string, unknown> => c !== null)
      .filter((c) => !titleFilter || String(c.title).includes(titleFilter));
    const page = pageOf(items, ctx.query);
    return page.ok ? ok(page.page) : page.reply;
  }

  private remove(rawId: string): Reply {
    const id = normalizeUuid(rawId);
    if (!id) return detail(400, 'Invalid conversation ID format');
    const run = this.byConversationId(id);
    if (!run) return detail(404, 'Conversation not found');
    run.halt();
    run.deleted = true;
    return ok({ success: true });
  }

  private sendMessage(ctx: RequestContext, rawId: string): Reply {
    const parsed = parseJsonBody(ctx.rawBody);
    if (!parsed.ok) return parsed.reply;
    const message = messageText(parsed.value);
    if (message === null) {
      return unprocessable([
        { type: 'missing', loc: ['body', 'content'], msg: 'Field required', input: parsed.value },
      ]);
    }
    const run = this.byConversationId(normalizeUuid(rawId) ?? '');
    if (!run) return detail(404, 'Conversation not found');
    if (run.sandboxStatus() !== 'RUNNING')
      return detail(409, 'Sandbox is not running; resume it before sending a message.');
    run.sendMessage(message);
    return ok({ success: true });
  }

  private events(ctx: RequestContext, rawId: string): Reply {
    const run = this.byConversationId(normalizeUuid(rawId) ?? '');
    // Event search over an unknown conversation finds nothing rather than failing.
    let events = run ? [...run.events] : [];
    const kind = ctx.query.get('kind__eq');
    if (kind) events = events.filter((e) => e.kind === kind);
    const sort = ctx.query.get('sort_order') ?? 'TIMESTAMP';
    if (sort !== 'TIMESTAMP' && sort !== 'TIMESTAMP_DESC') {
      return unprocessable([
        {
          type: 'enum',
          loc: ['query', 'sort_order'],
          msg: "Input should be 'TIMESTAMP' or 'TIMESTAMP_DESC'",
          input: sort,
        },
      ]);
    }
    if (sort === 'TIMESTAMP_DESC') events.reverse();
    const page = pageOf(events, ctx.query);
    return page.ok ? ok(page.page) : page.reply;
  }

  private pause(sandboxId: string): Reply {
    const run = this.all.find((r) => r.sandboxId === sandboxId && !r.deleted);
    if (!run) return detail(404, 'Sandbox not found');
    run.halt();
    return ok({ success: true });
  }

  private resume(sandboxId: string): Reply {
    const run = this.all.find((r) => r.sandboxId === sandboxId && !r.deleted);
    if (!run) return detail(404, 'Sandbox not found');
    run.resume();
    return ok({ success: true });
  }

  private byConversationId(id: string): V1Run | undefined {
    return this.all.find((run) => run.id === id && run.ready && !run.deleted);
  }

  /** Beyond the cap of running sandboxes, the oldest is paused (as the Docker sandbox service does). */
  private enforceSandboxCap(): void {
    const live = this.all.filter((run) => !run.stopped && !run.deleted && run.phase !== 'start-failed');
    for (let i = 0; i <= live.length - this.maxSandboxes; i++) live[i]?.halt();
  }
}

/** `?ids=a&ids=b` validated as FastAPI would for `list[UUID]`, plus the size cap. */
function batchIds(
  query: URLSearchParams,
  what: string,
): { ok: true; value: string[] } | { ok: false; reply: Reply } {
  const raw = query.getAll('ids');
  if (raw.length === 0) {
    return {
      ok: false,
      reply: unprocessable([{ type: 'missing', loc: ['query', 'ids'], msg: 'Field required', input: null }]),
    };
  }
  if (raw.length >= MAX_BATCH_IDS) {
    return {
      ok: false,
      reply: detail(400, `Cannot request ${MAX_BATCH_IDS} or more ${what} at once, got ${raw.length}`),
    };
  }
  const ids: string[] = [];
  const issues = [];
  for (const [i, text] of raw.entries()) {
    const id = normalizeUuid(text);
    if (id) ids.push(id);
    else
      issues.push({
        type: 'uuid_parsing',
        loc: ['query', 'ids', i],
        msg: 'Input should be a valid UUID',
        input: text,
      });
  }
  return issues.length > 0 ? { ok: false, reply: unprocessable(issues) } : { ok: true, value: ids };
}

/** Text of `initial_message: {role, content: [{type: "text", text}]}` ('' when absent). */
function promptOf(initialMessage: unknown): string {
  return isRecord(initialMessage) ? (textOf(initialMessage.content) ?? '') : '';
}

function textOf(content: unknown): string | null {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return null;
  const parts = content
    .filter(isRecord)
    .map((c) => c.text)
    .filter((t): t is string => typeof t === 'string');
  return parts.length > 0 ? parts.join('\n') : null;
}

/** send-message accepts the SDK's `{role, content: [...]}` as well as `{message}` / `{text}`. */
function messageText(body: unknown): string | null {
  if (!isRecord(body)) return null;
  return (
    textOf(body.content) ??
    (typeof body.message === 'string' ? body.message : null) ??
    (typeof body.text === 'string' ? body.text : null)
  );
}
