/**
 * A V1 (1.x) conversation: an AppConversationStartTask that walks its statuses, then an
 * AppConversation whose events follow the agent SDK's shapes (MessageEvent, ActionEvent,
 * ObservationEvent, AgentErrorEvent, ConversationStateUpdateEvent).
 */
import { hexId, isoNow, uuid } from './ids.js';
import { Run, type RunEnv, type RunInit } from './run.js';
import { type AgentStep, createPrCommand, finishMessage, workBranch } from './script.js';

export const V1_TASK_STATUSES = [
  'WORKING',
  'WAITING_FOR_SANDBOX',
  'PREPARING_REPOSITORY',
  'RUNNING_SETUP_SCRIPT',
  'SETTING_UP_GIT_HOOKS',
  'SETTING_UP_SKILLS',
  'STARTING_CONVERSATION',
  'READY',
] as const;

export type V1Event = {
  id: string;
  timestamp: string;
  source: 'agent' | 'user' | 'environment';
  kind: string;
} & Record<string, unknown>;

const text = (value: string) => [{ type: 'text', text: value }];

export class V1Run extends Run {
  readonly taskId = hexId();
  /** Chosen up front but only exposed (task.app_conversation_id, batch reads) from READY on. */
  readonly id = hexId();
  readonly sandboxId: string;
  readonly sandboxSessionKey = hexId();
  /** The question was a request for confirmation (waiting_for_confirmation) rather than a plain message. */
  private confirming = false;
  readonly events: V1Event[] = [];
  taskStatus: string = V1_TASK_STATUSES[0];
  taskDetail: string | null = null;
  /** Wall-clock time the conversation became READY (search/list lags behind it). */
  readyMs: number | null = null;
  protected readonly startPhases = V1_TASK_STATUSES;

  constructor(
    env: RunEnv,
    init: RunInit,
    /** The start request as received, echoed in the task's `request`. */
    readonly request: unknown,
  ) {
    super(env, init);
    this.sandboxId = `oh-sandbox-${hexId().slice(0, 12)}`;
  }

  /** The sandbox's agent server, served by the simulator under /agent-server/{sandbox id}. */
  get agentServerUrl(): string {
    return `${this.env.baseUrl()}/agent-server/${this.sandboxId}`;
  }

  get ready(): boolean {
    return this.readyMs !== null;
  }

  /** The sandbox exists once the task got past WORKING. */
  get hasSandbox(): boolean {
    return this.startIndex >= 1 || this.phase === 'start-failed';
  }

  ids(): string[] {
    return [this.taskId, this.id, this.sandboxId];
  }

  sandboxStatus(): 'STARTING' | 'RUNNING' | 'PAUSED' | 'ERROR' {
    if (this.phase === 'start-failed') return 'ERROR';
    if (this.stopped) return 'PAUSED';
    return this.ready ? 'RUNNING' : 'STARTING';
  }

  /** null unless the sandbox is RUNNING (as the real server). */
  executionStatus(): string | null {
    if (this.sandboxStatus() !== 'RUNNING') return null;
    switch (this.phase) {
      case 'waiting':
        // A turn that ended with a plain message reads "finished" (shared/openhands-api.md).
        return this.confirming ? 'waiting_for_confirmation' : 'finished';
      case 'finished':
        return 'finished';
      case 'failed':
        return 'error';
      default:
        return 'running';
    }
  }

  toTask(): Record<string, unknown> {
    return {
      id: this.taskId,
      created_by_user_id: null,
      status: this.taskStatus,
      detail: this.taskDetail,
      app_conversation_id: this.ready ? this.id : null,
      sandbox_id: this.hasSandbox ? this.sandboxId : null,
      agent_server_url: this.hasSandbox ? this.agentServerUrl : null,
      request: this.request,
      created_at: this.createdAt,
      updated_at: this.updatedAt,
    };
  }

  /** The AppConversation, or null when it does not exist (not READY yet, or deleted). */
  toConversation(statusRead: boolean): Record<string, unknown> | null {
    if (!this.ready || this.deleted) return null;
    // [sim:blip]: a false "error" right after the start, seen by status reads only.
    const blip = statusRead && this.consumeBlip();
    return {
      id: this.id,
      created_by_user_id: null,
      sandbox_id: this.sandboxId,
      selected_repository: this.init.selectedRepository,
      selected_branch: this.init.selectedBranch,
      git_provider: this.init.gitProvider,
      title: this.init.title ?? `Conversation ${this.id.slice(0, 5)}`,
      trigger: null,
      pr_number: [...this.prNumbers],
      llm_model: 'anthropic/claude-sonnet-4-5-20250929',
      metrics: null,
      parent_conversation_id: null,
      sub_conversation_ids: [],
      sandbox_status: this.sandboxStatus(),
      execution_status: blip ? 'error' : this.executionStatus(),
      conversation_url: `${this.agentServerUrl}/api/conversations/${this.id}`,
      session_api_key: this.sandboxSessionKey,
      created_at: this.createdAt,
      updated_at: this.updatedAt,
    };
  }

  protected enterStartPhase(index: number): void {
    this.taskStatus = V1_TASK_STATUSES[index] ?? 'READY';
    if (this.taskStatus === 'READY') this.readyMs = Date.now();
  }

  protected failStart(): void {
    this.taskStatus = 'ERROR';
    this.taskDetail = `Sandbox failed to start within 120s: sandbox ${this.sandboxId} did not report healthy (status: STARTING)`;
  }

  protected enterRunning(): void {
    this.emit('agent', 'SystemPromptEvent', {
      system_prompt: {
        type: 'text',
        text: 'You are OpenHands agent, a helpful AI assistant that can interact with a computer to solve tasks.',
      },
      tools: [{ name: 'terminal' }, { name: 'file_editor' }, { name: 'task_tracker' }, { name: 'finish' }],
    });
    this.emitUserMessage(this.prompt);
    this.emitState('running');
    this.pushConversation('running');
  }

  /** A pause also reaches the agent server's webhooks, as a ConversationInfo. */
  override halt(): void {
    const live = this.ready && !this.stopped && (this.phase === 'running' || this.phase === 'waiting');
    super.halt();
    if (live) this.pushConversation('paused');
  }

  /** The agent server's ConversationInfo (dashed UUID id, as it serialises it) to its webhooks. */
  private pushConversation(executionStatus: string): void {
    const dashed = this.id.replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5');
    this.env.push?.conversation(
      {
        id: dashed,
        title: this.init.title,
        execution_status: executionStatus,
        created_at: this.createdAt,
        updated_at: isoNow(),
      },
      this.sandboxSessionKey,
    );
  }

  protected applyUserMessage(message: string, resumes: boolean): void {
    this.emitUserMessage(message);
    if (resumes) this.emitState('running');
  }

  protected applyStep(step: AgentStep): void {
    switch (step.type) {
      case 'command':
        this.emitTool(
          'terminal',
          step.thought,
          { kind: 'TerminalAction', command: step.command, is_input: false, timeout: null, reset: false },
          {
            kind: 'TerminalObservation',
            content: text(step.output),
            command: step.command,
            exit_code: step.exitCode,
            is_error: step.exitCode !== 0,
            timeout: false,
          },
        );
        return;
      case 'view':
        this.emitTool(
          'file_editor',
          step.thought,
          { kind: 'FileEditorAction', command: 'view', path: step.path },
          {
            kind: 'FileEditorObservation',
            command: 'view',
            path: step.path,
            content: text(step.output),
            is_error: false,
          },
        );
        return;
      case 'edit':
        this.emitTool(
          'file_editor',
          step.thought,
          {
            kind: 'FileEditorAction',
            command: 'str_replace',
            path: step.path,
            old_str: step.oldStr,
            new_str: step.newStr,
          },
          {
            kind: 'FileEditorObservation',
            command: 'str_replace',
            path: step.path,
            content: text(`The file ${step.path} has been edited.`),
            is_error: false,
          },
        );
        return;
      case 'open-pr': {
        const url = this.openPr();
        const command = createPrCommand(this.init.repo);
        this.emitTool(
          'terminal',
          step.thought,
          { kind: 'TerminalAction', command, is_input: false, timeout: null, reset: false },
          {
            kind: 'TerminalObservation',
            content: text(
              `\nCreating pull request for ${workBranch()} into ${this.init.repo.branch} in ${this.init.repo.repository}\n\n${url}`,
            ),
            command,
            exit_code: 0,
            is_error: false,
            timeout: false,
          },
        );
        return;
      }
      case 'ask':
        this.confirming = step.confirm;
        this.emit('agent', 'MessageEvent', {
          llm_message: { role: 'assistant', content: text(step.question) },
          activated_skills: [],
          extended_content: [],
        });
        this.emitState(step.confirm ? 'waiting_for_confirmation' : 'finished');
        return;
      case 'fail':
        this.emit('agent', 'AgentErrorEvent', {
          error: step.error,
          tool_name: 'terminal',
          tool_call_id: `toolu_${hexId().slice(0, 20)}`,
        });
        this.emitState('error');
        return;
      case 'finish': {
        const message = finishMessage(this.prUrl);
        this.finalResponse = message;
        this.emitTool(
          'finish',
          '',
          { kind: 'FinishAction', message },
          { kind: 'FinishObservation', content: text(message), is_error: false },
        );
        this.emitState('finished');
        return;
      }
    }
  }

  private emit(source: V1Event['source'], kind: string, fields: Record<string, unknown>): V1Event {
    const event: V1Event = { id: uuid(), timestamp: isoNow(), source, kind, ...fields };
    this.events.push(event);
    this.env.push?.event(this.id, this.sandboxSessionKey, event); // agent-server webhooks
    return event;
  }

  private emitUserMessage(message: string): void {
    this.emit('user', 'MessageEvent', {
      llm_message: { role: 'user', content: text(message) },
      activated_skills: [],
      extended_content: [],
    });
  }

  private emitState(value: string): void {
    this.emit('environment', 'ConversationStateUpdateEvent', { key: 'execution_status', value });
  }

  /** An ActionEvent and the ObservationEvent answering it. */
  private emitTool(
    toolName: string,
    thought: string,
    action: Record<string, unknown>,
    observation: Record<string, unknown>,
  ): void {
    const toolCallId = `toolu_${hexId().slice(0, 20)}`;
    const actionEvent = this.emit('agent', 'ActionEvent', {
      thought: thought ? text(thought) : [],
      action,
      tool_name: toolName,
      tool_call_id: toolCallId,
      llm_response_id: `chatcmpl-${hexId().slice(0, 16)}`,
      security_risk: 'LOW',
    });
    this.emit('environment', 'ObservationEvent', {
      observation,
      action_id: actionEvent.id,
      tool_name: toolName,
      tool_call_id: toolCallId,
    });
  }
}
