/**
 * The agent server inside each V1 sandbox, served by the simulator under
 * `/agent-server/{sandbox id}` (the sandbox's `agent_server_url`): the routes the runner uses to send a
 * message on servers without send-message, and to read the final answer and the git changes.
 * Every call needs the conversation's `X-Session-API-Key`; a paused sandbox does not answer.
 */
import { detail, ok, parseJsonBody, type Reply, type RequestContext, type Route, route } from './http.js';
import { normalizeUuid } from './ids.js';
import type { V1Run } from './v1-run.js';

export const AGENT_SERVER_PREFIX = '/agent-server/';
const SANDBOX = '/agent-server/([^/]+)';
const HEX = '([0-9a-fA-F-]{32,36})';

export function agentServerRoutes(
  sandboxes: () => V1Run[],
  messageText: (body: unknown) => string | null,
): Route[] {
  /** The sandbox's run if the caller holds its session key and the sandbox runs; else the reply. */
  const open = (ctx: RequestContext, sandboxId: string): V1Run | Reply => {
    const run = sandboxes().find((r) => r.sandboxId === sandboxId && !r.deleted);
    if (!run) return detail(404, 'Not Found');
    if (ctx.req.headers['x-session-api-key'] !== run.sandboxSessionKey) return detail(401, 'Unauthorized');
    if (run.sandboxStatus() !== 'RUNNING') return detail(503, 'Sandbox is not running');
    return run;
  };
  const conversation = (ctx: RequestContext, sandboxId: string, rawId: string): V1Run | Reply => {
    const run = open(ctx, sandboxId);
    if (!('sandboxId' in run)) return run;
    return normalizeUuid(rawId) === run.id ? run : detail(404, 'Conversation not found');
  };
  const gitChanges = (ctx: RequestContext, sandboxId: string, path: string | null): Reply => {
    const run = open(ctx, sandboxId);
    if (!('sandboxId' in run)) return run;
    if (!path) return detail(422, 'path is required');
    return ok(run.changedFiles.filter((f) => f.path.startsWith(path)));
  };
  return [
    route('POST', `${SANDBOX}/api/conversations/${HEX}/events`, (ctx, [sandboxId, id]) => {
      const run = conversation(ctx, sandboxId ?? '', id ?? '');
      if (!('sandboxId' in run)) return run;
      const parsed = parseJsonBody(ctx.rawBody);
      if (!parsed.ok) return parsed.reply;
      const text = messageText(parsed.value);
      if (text === null) return detail(422, 'content is required');
      run.sendMessage(text);
      return ok({ success: true });
    }),
    route('GET', `${SANDBOX}/api/conversations/${HEX}/agent_final_response`, (ctx, [sandboxId, id]) => {
      const run = conversation(ctx, sandboxId ?? '', id ?? '');
      return 'sandboxId' in run ? ok({ response: run.finalResponse }) : run;
    }),
    route('GET', `${SANDBOX}/api/git/changes`, (ctx, [sandboxId]) =>
      gitChanges(ctx, sandboxId ?? '', ctx.query.get('path')),
    ),
    route('GET', `${SANDBOX}/api/git/changes/(.+)`, (ctx, [sandboxId, path]) =>
      gitChanges(ctx, sandboxId ?? '', decodeURIComponent(path ?? '')),
    ),
  ];
}
