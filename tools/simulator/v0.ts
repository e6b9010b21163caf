/**
 * V0 (legacy) routes: /api/conversations and its per-conversation sub-routes.
 * Conversations live "in memory": a restart or an eviction leaves them STOPPED.
 */
import {
  detail,
  isRecord,
  ok,
  parseJsonBody,
  queryInt,
  type Reply,
  type RequestContext,
  type Route,
  route,
  unprocessable,
  type ValidationIssue,
} from './http.js';
import type { RunEnv } from './run.js';
import { parseScenario } from './scenarios.js';
import { repoInfo } from './script.js';
import { baseInfo, type VersionApi } from './store.js';
import type { ConversationInfo } from './types.js';
import { V0Run } from './v0-run.js';

/** Fields of the real InitSessionRequest (extra="forbid": anything else is a 422). */
const STRING_FIELDS = [
  'repository',
  'git_provider',
  'selected_branch',
  'initial_user_msg',
  'replay_json',
  'conversation_instructions',
] as const;
const OTHER_FIELDS = ['image_urls', 'suggested_task', 'create_microagent', 'mcp_config'] as const;
const PROVIDERS = [
  'github',
  'gitlab',
  'bitbucket',
  'bitbucket_data_center',
  'forgejo',
  'azure_devops',
  'enterprise_sso',
];

export class V0Api implements VersionApi {
  private readonly all: V0Run[] = [];
  readonly routes: Route[];

  constructor(
    private readonly env: RunEnv,
    /** Conversations kept in memory before the oldest is evicted. */
    private readonly maxConversations: number,
  ) {
    const r = route;
    this.routes = [
      r('POST', '/api/conversations', (ctx) => this.start(ctx)),
      r('GET', '/api/conversations', (ctx) => this.list(ctx)),
      r('GET', '/api/conversations/([^/]+)', (_ctx, [id]) => this.get(id ?? '')),
      r('DELETE', '/api/conversations/([^/]+)', (_ctx, [id]) => this.remove(id ?? '')),
      r('GET', '/api/conversations/([^/]+)/events', (ctx, [id]) => this.events(ctx, id ?? '')),
      r('POST', '/api/conversations/([^/]+)/stop', (_ctx, [id]) => this.stop(id ?? '')),
      r('POST', '/api/conversations/([^/]+)/message', (ctx, [id]) => this.message(ctx, id ?? '')),
      r('GET', '/api/conversations/([^/]+)/git/changes', (_ctx, [id]) => this.gitChanges(id ?? '')),
    ];
  }

  runs(): V0Run[] {
    return this.all.filter((run) => !run.deleted);
  }

  isStatusRead(method: string, path: string): boolean {
    return method === 'GET' && /^\/api\/conversations\/[^/]+$/.test(path);
  }

  /** Agent loops live in the server process: after a restart every conversation reads STOPPED. */
  restart(): void {
    for (const run of this.all) run.halt();
  }

  shutdown(): void {
    for (const run of this.all) run.clearTimer();
  }

  conversations(): ConversationInfo[] {
    return this.all.map((run) => ({
      ...baseInfo(run),
      id: run.id,
      status: run.status(),
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
    const issues = validateInit(body);
    if (issues.length > 0) return unprocessable(issues);
    const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
    const prompt = str(body.initial_user_msg) ?? '';
    const repository = str(body.repository);
    const branch = str(body.selected_branch);
    const provider = str(body.git_provider);
    this.evictOldest();
    const run = new V0Run(this.env, {
      prompt,
      scenario: parseScenario(prompt),
      repo: repoInfo(repository, branch, provider),
      selectedRepository: repository,
      selectedBranch: branch,
      gitProvider: provider,
      title: null,
    });
    this.all.push(run);
    run.begin();
    return ok({ status: 'ok', conversation_id: run.id, message: null, conversation_status: 'STARTING' });
  }

  /** Unknown ids answer 200 with `null`, not 404 (a quirk of the real server). */
  private get(id: string): Reply {
    return ok(this.find(id)?.toConversation(true) ?? null);
  }

  private list(ctx: RequestContext): Reply {
    const limit = queryInt(ctx.query, 'limit', 20);
    if (!limit.ok) return limit.reply;
    const pageId = Number(ctx.query.get('page_id') ?? '0') || 0;
    const all = this.runs().reverse();
    const results = all.slice(pageId, pageId + limit.value).map((run) => run.toConversation(false));
    const end = pageId + results.length;
    return ok({ results, next_page_id: end < all.length ? String(end) : null });
  }

  private events(ctx: RequestContext, id: string): Reply {
    const run = this.find(id);
    if (!run) return detail(404, `Conversation ${id} not found`);
    const limit = queryInt(ctx.query, 'limit', 20);
    if (!limit.ok) return limit.reply;
    if (limit.value < 0 || limit.value > 100) return detail(400, 'Invalid limit');
    const startId = queryInt(ctx.query, 'start_id', 0);
    if (!startId.ok) return startId.reply;
    const endId = queryInt(ctx.query, 'end_id', Number.MAX_SAFE_INTEGER);
    if (!endId.ok) return endId.reply;
    const reverse = ctx.query.get('reverse') === 'true';
    // start_id and end_id are both inclusive.
    let matching = run.events.filter((e) => e.id >= startId.value && e.id <= endId.value);
    if (reverse) matching = matching.reverse();
    const events = matching.slice(0, limit.value);
    return ok({ events, has_more: matching.length > events.length });
  }

  private stop(id: string): Reply {
    const run = this.find(id);
    if (!run) return detail(404, `Conversation ${id} not found`);
    const wasRunning = !run.stopped;
    run.halt();
    return ok({
      status: 'ok',
      conversation_id: id,
      message: wasRunning ? 'Conversation stopped successfully' : 'Conversation was not running',
      conversation_status: 'STOPPED',
    });
  }

  /** `true` when it existed (it is stopped and forgotten), `false` otherwise. */
  private remove(id: string): Reply {
    const run = this.find(id);
    if (!run) return ok(false);
    run.halt();
    run.deleted = true;
    return ok(true);
  }

  private message(ctx: RequestContext, id: string): Reply {
    const parsed = parseJsonBody(ctx.rawBody);
    if (!parsed.ok) return parsed.reply;
    const body = parsed.value;
    if (!isRecord(body) || typeof body.message !== 'string') {
      return unprocessable([
        { type: 'missing', loc: ['body', 'message'], msg: 'Field required', input: body },
      ]);
    }
    const run = this.find(id);
    if (!run) return detail(404, `Conversation ${id} not found`);
    // Not in memory: nothing to deliver the message to.
    if (run.stopped) return ok({ success: false });
    run.sendMessage(body.message);
    return ok({ success: true });
  }

  /** The runtime's git changes; a conversation not in memory has no runtime to ask (as the real server). */
  private gitChanges(id: string): Reply {
    const run = this.find(id);
    if (!run) return detail(404, `Conversation ${id} not found`);
    if (run.stopped) return detail(404, 'Runtime not running');
    return ok([...run.changedFiles]);
  }

  private find(id: string): V0Run | undefined {
    return this.all.find((run) => run.id === id && !run.deleted);
  }

  /** The real server keeps a few agent loops; starting one more closes the oldest. */
  private evictOldest(): void {
    const inMemory = this.all.filter((run) => !run.stopped && !run.deleted);
    for (let i = 0; i <= inMemory.length - this.maxConversations; i++) inMemory[i]?.halt();
  }
}

function validateInit(body: Record<string, unknown>): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const known = new Set<string>([...STRING_FIELDS, ...OTHER_FIELDS]);
  for (const [key, value] of Object.entries(body)) {
    if (!known.has(key))
      issues.push({
        type: 'extra_forbidden',
        loc: ['body', key],
        msg: 'Extra inputs are not permitted',
        input: value,
      });
  }
  for (const field of STRING_FIELDS) {
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
  const provider = body.git_provider;
  if (typeof provider === 'string' && !PROVIDERS.includes(provider)) {
    issues.push({
      type: 'enum',
      loc: ['body', 'git_provider'],
      msg: `Input should be ${PROVIDERS.map((p) => `'${p}'`).join(', ')}`,
      input: provider,
    });
  }
  const images = body.image_urls;
  if (
    images !== undefined &&
    images !== null &&
    !(Array.isArray(images) && images.every((u) => typeof u === 'string'))
  ) {
    issues.push({
      type: 'list_type',
      loc: ['body', 'image_urls'],
      msg: 'Input should be a valid list',
      input: images,
    });
  }
  return issues;
}
