import { type ActivityItem, MAX_MESSAGE_CHARS } from '../runs/activity.js';
import { findPullRequests } from '../runs/pull-requests.js';
import { finalTextOf, type Outcome } from '../runs/upstream.js';
import { repositoryDir, v1Activity, v1MessageText } from './activity.js';
import { toChangedFiles } from './changes.js';
import {
  gitProviderParam,
  type OpenHandsDriver,
  runTitle,
  type Snapshot,
  type StartResult,
  type UpstreamRun,
} from './driver.js';
import { expectOk, type OpenHandsHttp, UpstreamError } from './http.js';
import { activityPhase, fromV1Conversation, fromV1StartTask, missing, type Observation } from './progress.js';
import { sessionKeyHashOf } from './session-key.js';
import type { V1Conversation, V1Event, V1StartTask } from './types.js';

/** Batch reads take fewer than 100 ids. */
const BATCH = 99;
const EVENT_PAGE = 100;
const MAX_REMEMBERED = 10_000;
const MAX_EVENT_PAGES_PER_POLL = 10;

export interface Cursor {
  /** Page last read to its end (null = first page), and how many of its items were handled. */
  page: string | null;
  seen: number;
  /** 1.x servers use /conversation/{id}/events/search, 0.62 servers /events/search. */
  legacySearch?: boolean;
  /**
   * The conversation as it was when its events were last read to the end (updated_at + statuses),
   * and when (ms). While a batch read shows the same, the events read is skipped: one request per idle
   * run per poll is what made thousands of runs exceed the request budget (bench/RESULTS.md).
   */
  seenState?: string;
  readAt?: number;
  /** What the agent's last event was: a plain message means a finished turn waits for an answer. */
  lastAgent?: 'message' | 'finish' | 'action';
  /** The agent's last message (the question), and its final answer so far (finish or last message). */
  lastMessage?: string;
  finalText?: string;
}

/** A run's reading position (its own JSON in Run.eventCursor); a run not read yet starts at the top. */
export function readCursor(eventCursor: string | null): Cursor {
  return eventCursor ? JSON.parse(eventCursor) : { page: null, seen: 0 };
}

/** Even an unchanged conversation has its events re-read this often (in case updated_at lags). */
const EVENTS_REREAD_MS = 10 * 60_000;

function conversationState(conversation: V1Conversation): string | undefined {
  if (!conversation.updated_at) return undefined;
  return `${conversation.updated_at} ${conversation.sandbox_status ?? ''} ${conversation.execution_status ?? ''}`;
}

function chunk<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export class V1Driver implements OpenHandsDriver {
  readonly version = 'v1' as const;

  /**
   * Conversations as last read by a poll, so that a message or the outcome right after it needs no
   * second read (the agent server's address and session key live only on the AppConversation).
   * Bounded; a miss reads the conversation again.
   */
  private readonly lastRead = new Map<string, V1Conversation>();

  constructor(private readonly http: OpenHandsHttp) {}

  async start(run: UpstreamRun): Promise<StartResult> {
    const route = 'POST /api/v1/app-conversations';
    const response = await this.http.request({
      method: 'POST',
      path: '/api/v1/app-conversations',
      route,
      idempotent: false,
      body: {
        initial_message: { role: 'user', content: [{ type: 'text', text: run.compiledPrompt }] },
        selected_repository: run.repository,
        selected_branch: run.branch,
        git_provider: gitProviderParam(run.gitProvider, run.repository),
        title: runTitle(run.id),
      },
    });
    const task = expectOk(response, route) as V1StartTask;
    if (!task || typeof task.id !== 'string')
      throw new UpstreamError('protocol', `OpenHands sent no start task on ${route}`);
    return {
      startTaskId: task.id,
      conversationId: task.app_conversation_id ?? undefined,
      observation: fromV1StartTask(task),
    };
  }

  /** Looks through the newest start tasks for one whose request carries this run's title. */
  async findStarted(run: UpstreamRun): Promise<StartResult | undefined> {
    const route = 'GET /api/v1/app-conversations/start-tasks/search';
    const response = await this.http.request({
      method: 'GET',
      path: '/api/v1/app-conversations/start-tasks/search',
      query: { limit: 100 },
      route,
      idempotent: true,
    });
    // A server without the search route: nothing can be found, start anew.
    if (response.status === 404 || response.status === 405) return undefined;
    const body = expectOk(response, route) as { items?: V1StartTask[] } | null;
    const title = runTitle(run.id);
    const task = (Array.isArray(body?.items) ? body.items : []).find((t) => t?.request?.title === title);
    if (!task || typeof task.id !== 'string') return undefined;
    return {
      startTaskId: task.id,
      conversationId: task.app_conversation_id ?? undefined,
      observation: fromV1StartTask(task),
    };
  }

  async poll(runs: UpstreamRun[]): Promise<Map<string, Snapshot | Error>> {
    const results = new Map<string, Snapshot | Error>();
    const starting = runs.filter((r) => !r.conversationId && r.startTaskId);
    const running = runs.filter((r) => r.conversationId);
    for (const run of runs) {
      if (!run.conversationId && !run.startTaskId) results.set(run.id, new Error('run has no upstream task'));
    }
    for (const group of chunk(starting, BATCH)) await this.pollTasks(group, results);
    for (const group of chunk(running, BATCH)) await this.pollConversations(group, results);
    return results;
  }

  async stop(run: UpstreamRun): Promise<boolean> {
    let sandboxId = run.sandboxId;
    if (!sandboxId && run.conversationId) {
      const [conversation] = await this.readConversations([run.conversationId]);
      sandboxId = conversation?.sandbox_id ?? null;
      if (!conversation) return true; // gone upstream: nothing left to stop
    }
    if (!sandboxId && run.startTaskId) {
      const [task] = await this.readTasks([run.startTaskId]);
      if (!task || task.status === 'ERROR') return true;
      sandboxId = task.sandbox_id ?? null;
    }
    if (!sandboxId) return false;
    const route = 'POST /api/v1/sandboxes/{id}/pause';
    const response = await this.http.request({
      method: 'POST',
      path: `/api/v1/sandboxes/${encodeURIComponent(sandboxId)}/pause`,
      route,
      idempotent: true,
    });
    if (response.status === 404) return true;
    expectOk(response, route);
    return true;
  }

  private async readTasks(ids: string[]): Promise<Array<V1StartTask | null>> {
    const route = 'GET /api/v1/app-conversations/start-tasks';
    const response = await this.http.request({
      method: 'GET',
      path: '/api/v1/app-conversations/start-tasks',
      query: { ids },
      route,
      idempotent: true,
    });
    const body = expectOk(response, route);
    if (!Array.isArray(body)) throw new UpstreamError('protocol', `OpenHands sent no list on ${route}`);
    return body as Array<V1StartTask | null>;
  }

  private async readConversations(ids: string[]): Promise<Array<V1Conversation | null>> {
    const route = 'GET /api/v1/app-conversations';
    const response = await this.http.request({
      method: 'GET',
      path: '/api/v1/app-conversations',
      query: { ids },
      route,
      idempotent: true,
    });
    const body = expectOk(response, route);
    if (!Array.isArray(body)) throw new UpstreamError('protocol', `OpenHands sent no list on ${route}`);
    for (const conversation of body as Array<V1Conversation | null>) {
      if (conversation?.id) this.remember(conversation);
    }
    return body as Array<V1Conversation | null>;
  }

  private remember(conversation: V1Conversation): void {
    this.lastRead.delete(conversation.id);
    this.lastRead.set(conversation.id, conversation);
    if (this.lastRead.size > MAX_REMEMBERED) this.lastRead.delete(this.lastRead.keys().next().value!);
  }

  private async pollTasks(runs: UpstreamRun[], results: Map<string, Snapshot | Error>): Promise<void> {
    let tasks: Array<V1StartTask | null>;
    try {
      tasks = await this.readTasks(runs.map((r) => r.startTaskId!));
    } catch (error) {
      for (const run of runs) results.set(run.id, error as Error);
      return;
    }
    runs.forEach((run, i) => {
      const task = tasks[i] ?? null;
      const observation: Observation = task
        ? fromV1StartTask(task)
        : missing('task:null', 'START_TASK_MISSING', 'OpenHands no longer knows the start task');
      results.set(run.id, {
        observation,
        startTaskId: run.startTaskId!,
        conversationId: task?.app_conversation_id ?? undefined,
        sandboxId: task?.sandbox_id ?? undefined,
        agentSteps: run.upstreamEventCount,
        newEvents: 0,
        pullRequests: [],
      });
    });
  }

  private async pollConversations(
    runs: UpstreamRun[],
    results: Map<string, Snapshot | Error>,
  ): Promise<void> {
    let conversations: Array<V1Conversation | null>;
    try {
      conversations = await this.readConversations(runs.map((r) => r.conversationId!));
    } catch (error) {
      for (const run of runs) results.set(run.id, error as Error);
      return;
    }
    for (const [i, run] of runs.entries()) {
      const conversation = conversations[i] ?? null;
      if (!conversation) {
        results.set(run.id, {
          observation: missing(
            'conversation:null',
            'CONVERSATION_NOT_FOUND',
            'OpenHands no longer knows the conversation',
          ),
          agentSteps: run.upstreamEventCount,
          newEvents: 0,
          pullRequests: [],
        });
        continue;
      }
      const cursor: Cursor | null = run.eventCursor ? JSON.parse(run.eventCursor) : null;
      const state = conversationState(conversation);
      if (
        state !== undefined &&
        cursor?.seenState === state &&
        Date.now() - (cursor.readAt ?? 0) < EVENTS_REREAD_MS
      ) {
        results.set(run.id, {
          observation: fromV1Conversation(
            conversation,
            run.upstreamEventCount,
            cursor.lastAgent === 'message',
          ),
          question: cursor.lastMessage,
          conversationId: conversation.id,
          sandboxId: conversation.sandbox_id ?? undefined,
          sessionKeyHash: sessionKeyHashOf(conversation),
          agentSteps: run.upstreamEventCount,
          newEvents: 0,
          pullRequests: [],
        });
        continue;
      }
      try {
        results.set(run.id, await this.readEvents(run, conversation));
      } catch (error) {
        results.set(run.id, error as Error);
      }
    }
  }

  private async readEvents(run: UpstreamRun, conversation: V1Conversation): Promise<Snapshot> {
    const cursor = readCursor(run.eventCursor);
    let agentSteps = run.upstreamEventCount;
    let newEvents = 0;
    let doing: string | undefined;
    let finalMessage: string | undefined;
    const texts: string[] = [];
    const activity: ActivityItem[] = [];
    for (let pages = 0; pages < MAX_EVENT_PAGES_PER_POLL; pages++) {
      const page = await this.eventPage(run.conversationId!, cursor);
      const fresh = page.items.slice(cursor.seen);
      for (const event of fresh) {
        newEvents++;
        if (event.source === 'user') continue; // the prompt may quote other PRs
        texts.push(JSON.stringify(event));
        const item = v1Activity(event, run.repository);
        if (item) activity.push(item);
        if (event.kind === 'ActionEvent') {
          agentSteps++;
          doing = activityPhase(event.tool_name ?? event.action?.kind) ?? doing;
          cursor.lastAgent = 'action';
          if (event.tool_name === 'finish' || event.action?.kind === 'FinishAction') {
            cursor.lastAgent = 'finish';
            finalMessage = typeof event.action?.message === 'string' ? event.action.message : finalMessage;
          }
        } else if (event.kind === 'MessageEvent' && event.source === 'agent') {
          const text = v1MessageText(event);
          if (text) {
            finalMessage = text;
            cursor.lastAgent = 'message';
            cursor.lastMessage = text.slice(0, MAX_MESSAGE_CHARS);
          }
        }
      }
      if (page.next) {
        cursor.page = page.next;
        cursor.seen = 0;
      } else {
        cursor.seen = page.items.length;
        // Read to the end: remember what the conversation looked like, to skip the read while it stays so.
        cursor.seenState = conversationState(conversation);
        cursor.readAt = Date.now();
        break;
      }
    }
    if (finalMessage) cursor.finalText = finalMessage.slice(0, MAX_MESSAGE_CHARS);
    const pullRequests = findPullRequests(texts.join('\n'));
    const observation = fromV1Conversation(conversation, agentSteps, cursor.lastAgent === 'message');
    return {
      observation,
      conversationId: conversation.id,
      sandboxId: conversation.sandbox_id ?? undefined,
      sessionKeyHash: sessionKeyHashOf(conversation),
      eventCursor: JSON.stringify(cursor),
      agentSteps,
      newEvents,
      pullRequests,
      finalMessage,
      doing,
      activity,
      question: cursor.lastMessage,
    };
  }

  /**
   * Newer app servers take messages on send-message (409 while the sandbox is paused: resume it
   * first); older 1.x servers lack the route and the message goes to the conversation's agent server.
   */
  async sendMessage(run: UpstreamRun, text: string): Promise<void> {
    const id = encodeURIComponent(run.conversationId ?? '');
    const body = { role: 'user', content: [{ type: 'text', text }], run: true };
    const route = 'POST /api/v1/app-conversations/{id}/send-message';
    const send = () =>
      this.http.request({
        method: 'POST',
        path: `/api/v1/app-conversations/${id}/send-message`,
        route,
        body,
        idempotent: false,
      });
    let response = await send();
    if (response.status === 409) {
      await this.resume(run);
      response = await send();
      if (response.status === 409) {
        throw new UpstreamError('http', 'The OpenHands sandbox is still resuming', 503);
      }
    }
    if (response.status === 404 || response.status === 405) {
      let conversation = await this.requireConversation(run);
      if (conversation.sandbox_status === 'PAUSED') {
        // A paused sandbox's agent server does not answer: resume it, then read where it listens.
        await this.resume(run);
        conversation = await this.requireConversation(run, true);
      }
      const agentServer = agentServerOf(conversation);
      if (!agentServer)
        throw new UpstreamError('protocol', 'OpenHands gave no agent server for the conversation');
      const fallback = await this.http.request({
        method: 'POST',
        path: `/api/conversations/${id}/events`,
        route: 'POST {agent_server}/api/conversations/{id}/events',
        agentServer,
        body,
        idempotent: false,
      });
      expectOk(fallback, 'POST {agent_server}/api/conversations/{id}/events');
      return;
    }
    expectOk(response, route);
  }

  private async resume(run: UpstreamRun): Promise<void> {
    const sandboxId = run.sandboxId ?? (await this.requireConversation(run, true)).sandbox_id;
    if (!sandboxId) throw new UpstreamError('protocol', 'OpenHands gave no sandbox to resume');
    const route = 'POST /api/v1/sandboxes/{id}/resume';
    const response = await this.http.request({
      method: 'POST',
      path: `/api/v1/sandboxes/${encodeURIComponent(sandboxId)}/resume`,
      route,
      idempotent: true,
    });
    expectOk(response, route);
  }

  private async requireConversation(run: UpstreamRun, fresh = false): Promise<V1Conversation> {
    const known = fresh ? undefined : this.lastRead.get(run.conversationId ?? '');
    if (known) return known;
    const [conversation] = await this.readConversations([run.conversationId ?? '']);
    if (!conversation) throw new UpstreamError('http', 'OpenHands no longer knows the conversation', 404);
    return conversation;
  }

  /** The agent server's final answer and git changes, falling back to the events read so far. */
  async outcome(run: UpstreamRun): Promise<Outcome> {
    const fallback: Outcome = { summary: finalTextOf(run.eventCursor), changedFiles: null };
    if (!run.conversationId) return fallback;
    const conversation = await this.requireConversation(run).catch(() => null);
    const agentServer = conversation ? agentServerOf(conversation) : undefined;
    if (!agentServer) return fallback;
    const id = encodeURIComponent(run.conversationId);
    const final = await this.http
      .request({
        method: 'GET',
        path: `/api/conversations/${id}/agent_final_response`,
        route: 'GET {agent_server}/api/conversations/{id}/agent_final_response',
        agentServer,
        idempotent: true,
      })
      .catch(() => undefined);
    const response = (final?.status === 200 ? final.body : null) as { response?: unknown } | null;
    const summary =
      typeof response?.response === 'string' && response.response ? response.response : fallback.summary;
    return { summary, changedFiles: await this.gitChanges(run, agentServer) };
  }

  /** `/api/git/changes?path=` (2026-03 on), else the older `/api/git/changes/{path}`; null if neither answers. */
  private async gitChanges(
    run: UpstreamRun,
    agentServer: { url: string; sessionKey: string | null },
  ): Promise<Outcome['changedFiles']> {
    const dir = repositoryDir(run.repository);
    try {
      let response = await this.http.request({
        method: 'GET',
        path: '/api/git/changes',
        query: { path: dir },
        route: 'GET {agent_server}/api/git/changes',
        agentServer,
        idempotent: true,
      });
      if (response.status === 404 || response.status === 405 || response.status === 422) {
        response = await this.http.request({
          method: 'GET',
          path: `/api/git/changes/${encodeURIComponent(dir)}`,
          route: 'GET {agent_server}/api/git/changes/{path}',
          agentServer,
          idempotent: true,
        });
      }
      return response.status === 200 ? toChangedFiles(response.body, run.repository) : null;
    } catch {
      return null;
    }
  }

  private async eventPage(
    conversationId: string,
    cursor: Cursor,
  ): Promise<{ items: V1Event[]; next: string | null }> {
    const query = { sort_order: 'TIMESTAMP', limit: EVENT_PAGE, page_id: cursor.page ?? undefined };
    const id = encodeURIComponent(conversationId);
    const current = {
      method: 'GET' as const,
      path: `/api/v1/conversation/${id}/events/search`,
      route: 'GET /api/v1/conversation/{id}/events/search',
      query,
      idempotent: true,
    };
    const legacy = {
      method: 'GET' as const,
      path: '/api/v1/events/search',
      route: 'GET /api/v1/events/search',
      query: { ...query, conversation_id__eq: conversationId },
      idempotent: true,
    };
    let spec = cursor.legacySearch ? legacy : current;
    let response = await this.http.request(spec);
    if (response.status === 404 && !cursor.legacySearch) {
      // OpenHands 0.62 only has the global search route.
      spec = legacy;
      response = await this.http.request(spec);
      if (response.status < 300) cursor.legacySearch = true;
    }
    const body = expectOk(response, spec.route) as { items?: V1Event[]; next_page_id?: string | null };
    return { items: Array.isArray(body?.items) ? body.items : [], next: body?.next_page_id ?? null };
  }
}

/** `conversation_url` is `{agent_server_url}/api/conversations/{id}`. */
function agentServerOf(conversation: V1Conversation): { url: string; sessionKey: string | null } | undefined {
  const url = conversation.conversation_url;
  if (!url) return undefined;
  const at = url.indexOf('/api/conversations/');
  return { url: at >= 0 ? url.slice(0, at) : url, sessionKey: conversation.session_api_key ?? null };
}
