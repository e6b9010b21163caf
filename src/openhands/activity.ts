/**
 * OpenHands events → the runner's activity items (src/runs/activity.ts): what the agent said, one
 * human line per tool call, and exit codes. Raw command output is never kept.
 */
import type { ActivityItem } from '../runs/activity.js';
import type { V0Event, V1Event } from './types.js';

const WORKSPACE = '/workspace/project/';

/** A workspace path as the agent's repository sees it (`src/app.ts`). */
export function shortPath(path: string, repository: string | null): string {
  const repoDir = repository ? `${WORKSPACE}${repository.split('/').pop()}/` : undefined;
  if (repoDir && path.startsWith(repoDir)) return path.slice(repoDir.length);
  if (path.startsWith(WORKSPACE)) return path.slice(WORKSPACE.length);
  return path;
}

/** Where the agent checked out the repository (for the agent server's git routes). */
export function repositoryDir(repository: string | null): string {
  return repository ? `${WORKSPACE}${repository.split('/').pop()}` : WORKSPACE.slice(0, -1);
}

interface Call {
  tool: string;
  command?: string;
  path?: string;
  url?: string;
  /** A file editor's sub-command (view, create, str_replace …). */
  editorCommand?: string;
}

/** `$ npm test`, `edit src/app.ts`, `view src/app.ts`, `browse https://…`, `finish`, or the tool name. */
export function actionLine(
  call: Call,
  repository: string | null,
): { message: string; data: Record<string, unknown> } {
  const path = call.path ? shortPath(call.path, repository) : undefined;
  const data = { tool: call.tool, command: call.command, path, url: call.url };
  if (call.command && !call.path) return { message: `$ ${call.command}`, data };
  if (path) return { message: `${call.editorCommand === 'view' ? 'view' : 'edit'} ${path}`, data };
  if (call.url) return { message: `browse ${call.url}`, data };
  return { message: call.tool, data };
}

const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

/** V1: MessageEvent (agent), ActionEvent and the exit code of a terminal ObservationEvent. */
export function v1Activity(event: V1Event, repository: string | null): ActivityItem | undefined {
  if (event.kind === 'MessageEvent' && event.source === 'agent') {
    const text = v1MessageText(event);
    return text ? { upstreamId: event.id, type: 'AGENT_MESSAGE', message: text } : undefined;
  }
  if (event.kind === 'ActionEvent') {
    const action = event.action ?? {};
    const tool = event.tool_name ?? str(action.kind) ?? 'tool';
    const finish = tool === 'finish' || action.kind === 'FinishAction';
    const editor = /editor/i.test(tool) || /Editor/.test(str(action.kind) ?? '');
    const { message, data } = finish
      ? { message: 'finish', data: { tool } }
      : actionLine(
          {
            tool,
            command: editor ? undefined : str(action.command),
            path: str(action.path),
            url: str(action.url),
            editorCommand: editor ? str(action.command) : undefined,
          },
          repository,
        );
    return { upstreamId: event.id, type: 'AGENT_ACTION', message, data };
  }
  if (event.kind === 'ObservationEvent') {
    const observation = (event.observation ?? {}) as Record<string, unknown>;
    if (typeof observation.exit_code !== 'number') return undefined;
    return {
      upstreamId: event.id,
      type: 'AGENT_OBSERVATION',
      message: `exit code ${observation.exit_code}`,
      data: { tool: event.tool_name, exitCode: observation.exit_code },
    };
  }
  return undefined;
}

export function v1MessageText(event: V1Event): string | undefined {
  const message = event.llm_message as { content?: Array<{ type?: string; text?: string }> } | undefined;
  const text = message?.content?.find((c) => c.type === 'text')?.text;
  return typeof text === 'string' ? text : undefined;
}

const V0_TOOLS: Record<string, string> = {
  run: 'terminal',
  read: 'file_editor',
  edit: 'file_editor',
  write: 'file_editor',
  browse: 'browser',
  browse_interactive: 'browser',
  run_ipython: 'ipython',
};

/** V0: agent `message` actions, tool actions and the exit code of `run` observations. */
export function v0Activity(event: V0Event, repository: string | null): ActivityItem | undefined {
  const upstreamId = String(event.id);
  const args = event.args ?? {};
  if (event.action && event.source === 'agent') {
    if (event.action === 'message') {
      const text = str(args.content) ?? event.message;
      return text ? { upstreamId, type: 'AGENT_MESSAGE', message: text } : undefined;
    }
    if (event.action === 'finish')
      return { upstreamId, type: 'AGENT_ACTION', message: 'finish', data: { tool: 'finish' } };
    if (event.action === 'call_tool_mcp') {
      const name = str(args.name) ?? 'mcp';
      return { upstreamId, type: 'AGENT_ACTION', message: name, data: { tool: name } };
    }
    if (event.action === 'think' || event.action === 'system' || event.action === 'recall') return undefined;
    const tool = V0_TOOLS[event.action] ?? event.action;
    const { message, data } = actionLine(
      {
        tool,
        command: event.action === 'run' ? str(args.command) : undefined,
        path: str(args.path),
        url: str(args.url),
        editorCommand: event.action === 'read' ? 'view' : 'edit',
      },
      repository,
    );
    return { upstreamId, type: 'AGENT_ACTION', message, data };
  }
  if (event.observation === 'run') {
    const exitCode = (event.extras?.metadata as { exit_code?: unknown } | undefined)?.exit_code;
    if (typeof exitCode !== 'number') return undefined;
    return {
      upstreamId,
      type: 'AGENT_OBSERVATION',
      message: `exit code ${exitCode}`,
      data: { tool: 'terminal', exitCode },
    };
  }
  return undefined;
}
