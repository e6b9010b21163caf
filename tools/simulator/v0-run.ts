/**
 * A V0 (legacy, <= 0.6x) conversation: status / runtime_status fields and an event stream
 * of action / observation dicts with integer ids from 0.
 */
import { hexId, isoNow } from './ids.js';
import { Run, type RunEnv, type RunInit } from './run.js';
import { type AgentStep, finishMessage, workBranch } from './script.js';

export const V0_RUNTIME_STATUSES = [
  'STATUS$BUILDING_RUNTIME',
  'STATUS$STARTING_RUNTIME',
  'STATUS$RUNTIME_STARTED',
  'STATUS$SETTING_UP_WORKSPACE',
  'STATUS$SETTING_UP_GIT_HOOKS',
  'STATUS$READY',
] as const;

export type V0Event = {
  id: number;
  timestamp: string;
  source: 'agent' | 'user' | 'environment';
  message: string;
} & Record<string, unknown>;

export class V0Run extends Run {
  readonly id = hexId();
  readonly events: V0Event[] = [];
  protected readonly startPhases = V0_RUNTIME_STATUSES;

  constructor(env: RunEnv, init: RunInit) {
    super(env, init);
  }

  ids(): string[] {
    return [this.id];
  }

  /**
   * Anything not in memory (stopped, evicted, restarted) reads STOPPED. A finished agent
   * keeps the conversation RUNNING, as the real server does while the loop is in memory.
   */
  status(): 'STARTING' | 'RUNNING' | 'STOPPED' | 'ERROR' {
    if (this.stopped) return 'STOPPED';
    if (this.phase === 'start-failed' || this.phase === 'failed') return 'ERROR';
    return this.phase === 'starting' ? 'STARTING' : 'RUNNING';
  }

  runtimeStatus(): string | null {
    if (this.stopped) return null;
    if (this.phase === 'start-failed') return 'STATUS$ERROR_RUNTIME_DISCONNECTED';
    if (this.phase === 'failed') return 'STATUS$ERROR';
    return V0_RUNTIME_STATUSES[this.startIndex] ?? null;
  }

  toConversation(statusRead: boolean): Record<string, unknown> {
    // [sim:blip]: a false ERROR right after the start, seen by status reads only.
    const blip = statusRead && this.consumeBlip();
    const inMemory = !this.stopped;
    return {
      conversation_id: this.id,
      title: this.init.title ?? `Conversation ${this.id.slice(0, 5)}`,
      last_updated_at: this.updatedAt,
      status: blip ? 'ERROR' : this.status(),
      runtime_status: this.runtimeStatus(),
      selected_repository: this.init.selectedRepository,
      selected_branch: this.init.selectedBranch,
      git_provider: this.init.gitProvider,
      trigger: 'gui',
      num_connections: 0,
      url: inMemory ? `/api/conversations/${this.id}` : null,
      session_api_key: null,
      created_at: this.createdAt,
      pr_number: [...this.prNumbers],
      conversation_version: 'V0',
      sub_conversation_ids: [],
    };
  }

  protected enterStartPhase(index: number): void {
    if (index === 0) this.agentState('loading');
  }

  protected failStart(): void {
    this.observe(
      'error',
      'Runtime disconnected: the sandbox stopped responding while starting.',
      { error_id: 'STATUS$ERROR_RUNTIME_DISCONNECTED' },
      'environment',
    );
    this.agentState('error', 'STATUS$ERROR_RUNTIME_DISCONNECTED');
  }

  protected enterRunning(): void {
    this.userMessage(this.prompt);
    this.agentState('running');
  }

  protected applyUserMessage(text: string, resumes: boolean): void {
    this.userMessage(text);
    if (resumes) this.agentState('running');
  }

  protected applyStep(step: AgentStep): void {
    switch (step.type) {
      case 'command': {
        const action = this.act('run', `Running command: ${step.command}`, {
          command: step.command,
          is_input: false,
          thought: step.thought,
          blocking: false,
          is_static: false,
          cwd: null,
          hidden: false,
          confirmation_state: 'confirmed',
        });
        this.observe(
          'run',
          step.output,
          {
            command: step.command,
            metadata: {
              exit_code: step.exitCode,
              pid: -1,
              username: 'openhands',
              hostname: 'runtime',
              working_dir: '/workspace/project',
              py_interpreter_path: '/openhands/poetry/bin/python',
              prefix: '',
              suffix: `\n[The command completed with exit code ${step.exitCode}.]`,
            },
            hidden: false,
          },
          'agent',
          action.id,
          `Command \`${step.command}\` executed with exit code ${step.exitCode}.`,
        );
        return;
      }
      case 'view': {
        const action = this.act('read', `Reading file: ${step.path}`, {
          path: step.path,
          start: 0,
          end: -1,
          thought: step.thought,
          impl_source: 'oh_aci',
          view_range: null,
        });
        this.observe(
          'read',
          step.output,
          { path: step.path, impl_source: 'oh_aci' },
          'agent',
          action.id,
          `I read the file ${step.path}.`,
        );
        return;
      }
      case 'edit': {
        const action = this.act('edit', `Editing file: ${step.path}`, {
          path: step.path,
          command: 'str_replace',
          file_text: null,
          old_str: step.oldStr,
          new_str: step.newStr,
          insert_line: null,
          thought: step.thought,
          impl_source: 'oh_aci',
        });
        this.observe(
          'edit',
          `The file ${step.path} has been edited. Review the changes and make sure they are as expected.`,
          {
            path: step.path,
            prev_exist: true,
            old_content: step.oldStr,
            new_content: step.newStr,
            impl_source: 'oh_aci',
            diff: `-${step.oldStr}\n+${step.newStr}`,
          },
          'agent',
          action.id,
          `I edited the file ${step.path}.`,
        );
        return;
      }
      case 'open-pr': {
        const url = this.openPr();
        const gitlab = this.init.repo.provider === 'gitlab';
        const name = gitlab ? 'create_mr' : 'create_pr';
        const args = {
          [gitlab ? 'id' : 'repo_name']: this.init.repo.repository,
          source_branch: workBranch(),
          target_branch: this.init.repo.branch,
          title: 'Apply requested change',
          [gitlab ? 'description' : 'body']: 'Automated change by OpenHands',
        };
        const action = this.act('call_tool_mcp', `I am calling the MCP tool ${name}`, {
          name,
          arguments: args,
          thought: step.thought,
        });
        // The MCP result as the real observation carries it: a JSON dump whose text holds the URL.
        const content = JSON.stringify({
          meta: null,
          content: [{ type: 'text', text: url, annotations: null }],
          structuredContent: null,
          isError: false,
        });
        this.observe('mcp', content, { name, arguments: args }, 'agent', action.id, content);
        return;
      }
      case 'ask':
        this.act('message', step.question, {
          content: step.question,
          file_urls: null,
          image_urls: null,
          wait_for_response: true,
        });
        this.agentState(step.confirm ? 'awaiting_user_confirmation' : 'awaiting_user_input');
        return;
      case 'fail':
        this.observe('error', step.error, { error_id: '' });
        this.agentState('error', step.error);
        return;
      case 'finish': {
        const finalThought = finishMessage(this.prUrl);
        this.finalResponse = finalThought;
        this.act('finish', finalThought, { final_thought: finalThought, outputs: {}, thought: '' });
        this.agentState('finished');
        return;
      }
    }
  }

  private push(event: Omit<V0Event, 'id' | 'timestamp'>): V0Event {
    const full = { id: this.events.length, timestamp: isoNow(), ...event } as V0Event;
    this.events.push(full);
    return full;
  }

  private act(
    action: string,
    message: string,
    args: Record<string, unknown>,
    source: V0Event['source'] = 'agent',
  ): V0Event {
    return this.push({ source, message, action, args });
  }

  private observe(
    observation: string,
    content: string,
    extras: Record<string, unknown>,
    source: V0Event['source'] = 'agent',
    cause?: number,
    message = content,
  ): V0Event {
    return this.push({
      source,
      message,
      ...(cause === undefined ? {} : { cause }),
      observation,
      content,
      extras,
    });
  }

  private userMessage(text: string): void {
    this.act(
      'message',
      text,
      { content: text, file_urls: [], image_urls: [], wait_for_response: false },
      'user',
    );
  }

  private agentState(state: string, reason = ''): void {
    this.observe('agent_state_changed', '', { agent_state: state, reason }, 'environment', undefined, '');
  }
}
