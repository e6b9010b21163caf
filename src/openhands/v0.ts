import { type ActivityItem, MAX_MESSAGE_CHARS } from '../runs/activity.js';
import { findPullRequests } from '../runs/pull-requests.js';
import { finalTextOf, type Outcome } from '../runs/upstream.js';
import { v0Activity } from './activity.js';
import { toChangedFiles } from './changes.js';
import {
  gitProviderParam,
  type OpenHandsDriver,
  type Snapshot,
  type StartResult,
  type UpstreamRun,
} from './driver.js';
import { expectOk, type OpenHandsHttp, UpstreamError } from './http.js';
import { activityPhase, fromV0Conversation, missing } from './progress.js';
import type { V0Conversation, V0Event } from './types.js';

const EVENT_PAGE = 100;
const MAX_EVENT_PAGES_PER_POLL = 10;

interface Cursor {
  /** Next event id to read (`start_id` is inclusive). */
  next: number;
  /** Last agent state seen in the events; V0 has no other place that tells it. */
  agentState: string | null;
  /** The agent's last message (the question while it awaits input) and its final answer so far. */
  lastMessage?: string;
  finalText?: string;
}

export class V0Driver implements OpenHandsDriver {
  readonly version = 'v0' as const;

  constructor(private readonly http: OpenHandsHttp) {}

  async start(run: UpstreamRun): Promise<StartResult> {
    const route = 'POST /api/conversations';
    const body: Record<string, unknown> = { initial_user_msg: run.compiledPrompt };
    // V0 answers 422 to unknown fields, so only documented ones are sent, and only when set.
    if (run.repository) {
      body.repository = run.repository;
      body.git_provider = gitProviderParam(run.gitProvider, run.repository);
    }
    if (run.branch) body.selected_branch = run.branch;
    const response = await this.http.request({
      method: 'POST',
      path: '/api/conversations',
      route,
      idempotent: false,
      body,
    });
    expectOk(response, route);
    const result = response.body as { conversation_id?: string; conversation_status?: string };
    if (!result?.conversation_id)
      throw new UpstreamError('protocol', `OpenHands sent no conversation id on ${route}`);
    return {
      conversationId: result.conversation_id,
      observation: fromV0Conversation({ status: result.conversation_status ?? 'STARTING' }, null, 0),
    };
  }

  async poll(runs: UpstreamRun[]): Promise<Map<string, Snapshot | Error>> {
    const results = new Map<string, Snapshot | Error>();
    for (const run of runs) {
      try {
        if (!run.conversationId) throw new Error('run has no upstream conversation');
        results.set(run.id, await this.pollOne(run));
      } catch (error) {
        results.set(run.id, error as Error);
      }
    }
    return results;
  }

  async stop(run: UpstreamRun): Promise<boolean> {
    if (!run.conversationId) return true;
    const route = 'POST /api/conversations/{id}/stop';
    const response = await this.http.request({
      method: 'POST',
      path: `/api/conversations/${encodeURIComponent(run.conversationId)}/stop`,
      route,
      idempotent: true,
    });
    if (response.status === 404) return true;
    expectOk(response, route);
    return true;
  }

  private async pollOne(run: UpstreamRun): Promise<Snapshot> {
    const id = encodeURIComponent(run.conversationId!);
    const route = 'GET /api/conversations/{id}';
    const response = await this.http.request({
      method: 'GET',
      path: `/api/conversations/${id}`,
      route,
      idempotent: true,
    });
    expectOk(response, route);
    const conversation = response.body as V0Conversation | null;
    const cursor: Cursor = run.eventCursor ? JSON.parse(run.eventCursor) : { next: 0, agentState: null };
    const base = {
      conversationId: run.conversationId!,
      pullRequests: [],
      newEvents: 0,
      agentSteps: run.upstreamEventCount,
    };
    // Unknown conversations read 200 with a null body, not 404.
    if (!conversation) {
      return {
        ...base,
        observation: missing(
          'conversation:null',
          'CONVERSATION_NOT_FOUND',
          'OpenHands no longer knows the conversation',
        ),
      };
    }
    if (conversation.status === 'STARTING') {
      return {
        ...base,
        eventCursor: JSON.stringify(cursor),
        observation: fromV0Conversation(conversation, cursor.agentState, run.upstreamEventCount),
      };
    }

    let agentSteps = run.upstreamEventCount;
    let newEvents = 0;
    let doing: string | undefined;
    let finalMessage: string | undefined;
    const texts: string[] = [];
    const activity: ActivityItem[] = [];
    for (let pages = 0; pages < MAX_EVENT_PAGES_PER_POLL; pages++) {
      const eventsRoute = 'GET /api/conversations/{id}/events';
      const page = await this.http.request({
        method: 'GET',
        path: `/api/conversations/${id}/events`,
        query: { start_id: cursor.next, limit: EVENT_PAGE },
        route: eventsRoute,
        idempotent: true,
      });
      if (page.status === 404) break; // forgotten between the two reads; the status read tells next time
      expectOk(page, eventsRoute);
      const { events = [], has_more = false } = (page.body ?? {}) as {
        events?: V0Event[];
        has_more?: boolean;
      };
      for (const event of events) {
        newEvents++;
        cursor.next = Math.max(cursor.next, event.id + 1);
        if (event.source === 'user') continue; // the prompt may quote other PRs
        if (event.observation === 'agent_state_changed' && typeof event.extras?.agent_state === 'string') {
          cursor.agentState = event.extras.agent_state;
          continue;
        }
        texts.push(JSON.stringify(event));
        const item = v0Activity(event, run.repository);
        if (item) activity.push(item);
        if (event.action && event.source === 'agent') {
          agentSteps++;
          doing = activityPhase(event.action) ?? doing;
          if (event.action === 'finish' && typeof event.args?.final_thought === 'string') {
            finalMessage = event.args.final_thought;
          } else if (event.action === 'message' && typeof event.args?.content === 'string') {
            finalMessage = event.args.content;
            cursor.lastMessage = finalMessage.slice(0, MAX_MESSAGE_CHARS);
          }
        }
        if (event.observation === 'mcp' && typeof event.extras?.name === 'string') {
          doing = activityPhase(event.extras.name) ?? doing;
        }
      }
      if (!has_more || events.length === 0) break;
    }
    if (finalMessage) cursor.finalText = finalMessage.slice(0, MAX_MESSAGE_CHARS);
    return {
      observation: fromV0Conversation(conversation, cursor.agentState, agentSteps),
      question: cursor.lastMessage,
      conversationId: run.conversationId!,
      eventCursor: JSON.stringify(cursor),
      agentSteps,
      newEvents,
      pullRequests: findPullRequests(texts.join('\n')),
      finalMessage,
      doing,
      activity,
    };
  }

  async sendMessage(run: UpstreamRun, text: string): Promise<void> {
    const route = 'POST /api/conversations/{id}/message';
    const response = await this.http.request({
      method: 'POST',
      path: `/api/conversations/${encodeURIComponent(run.conversationId ?? '')}/message`,
      route,
      body: { message: text },
      idempotent: false,
    });
    const body = expectOk(response, route) as { success?: boolean } | null;
    // Not in memory (stopped, evicted): the server accepted nothing.
    if (body?.success === false) throw new UpstreamError('protocol', 'OpenHands did not take the message');
  }

  /** The finish event's answer (from the events read) and `/git/changes` of the conversation. */
  async outcome(run: UpstreamRun): Promise<Outcome> {
    const summary = finalTextOf(run.eventCursor);
    if (!run.conversationId) return { summary, changedFiles: null };
    try {
      const response = await this.http.request({
        method: 'GET',
        path: `/api/conversations/${encodeURIComponent(run.conversationId)}/git/changes`,
        route: 'GET /api/conversations/{id}/git/changes',
        idempotent: true,
      });
      return {
        summary,
        changedFiles: response.status === 200 ? toChangedFiles(response.body, run.repository) : null,
      };
    } catch {
      return { summary, changedFiles: null };
    }
  }
}
