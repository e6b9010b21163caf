/**
 * The life of one simulated conversation, independent of the API version.
 *
 * A run walks through its start phases (one per step), then plays its agent script
 * (one step each), driven by its own timer. Subclasses render what happens into the
 * version's status fields and events. Holds (`[sim:stuck]`, `[sim:hang]`, `[sim:ask]`)
 * simply stop the timer until `release()` / a user message.
 */
import { isoNow } from './ids.js';
import type { AgentServerPusher } from './push.js';
import { agentStepFactor, BLIP_READS, type Scenario, startStepFactor, THROTTLED_READS } from './scenarios.js';
import { type AgentStep, buildScript, pullRequestUrl, type RepoInfo } from './script.js';

export interface RunEnv {
  stepMs: number;
  /** The simulator's own URL, once it listens (agent servers are served under it). */
  baseUrl(): string;
  /** V1: the agent server's webhooks, when the simulator pushes (tools/simulator/push.ts). */
  push?: AgentServerPusher;
  /** Global pull-request counter (starts at 1). */
  nextPrNumber(): number;
}

export interface RunInit {
  prompt: string;
  scenario: Scenario;
  repo: RepoInfo;
  /** What the client asked for (null when it sent no repository / branch / provider). */
  selectedRepository: string | null;
  selectedBranch: string | null;
  gitProvider: string | null;
  title: string | null;
}

export type RunPhase =
  | 'starting'
  | 'start-failed'
  | 'running'
  | 'waiting' // [sim:ask]: waiting for a user message
  | 'finished'
  | 'failed';

/** Index of the start phase where `[sim:stuck]` stays and `[sim:sandbox-error]` gives up. */
const SANDBOX_PHASE = 1;

export abstract class Run {
  phase: RunPhase = 'starting';
  /** Index into `startPhases`. */
  startIndex = 0;
  /** Stopped / paused / evicted: progression halted for good. */
  stopped = false;
  deleted = false;
  /** Waiting for `release()` ([sim:stuck] / [sim:hang]). */
  held = false;
  readonly messages: string[] = [];
  /** Files the agent changed so far, as git reports them (agent server / V0 git changes). */
  readonly changedFiles: Array<{ status: string; path: string }> = [];
  /** The last FinishAction message, else the last agent message (agent_final_response). */
  finalResponse = '';
  readonly prNumbers: number[] = [];
  prUrl: string | null = null;
  /** [sim:blip]: status reads that still see the false error. */
  blipReadsLeft = 0;
  /** [sim:blip]: false errors actually shown to status reads so far. */
  blipsShown = 0;
  /** [sim:429]: status reads still answered 429. */
  throttledReadsLeft: number;
  /** [sim:flaky]: requests seen about this run. */
  requestsSeen = 0;
  readonly createdAt = isoNow();
  updatedAt = this.createdAt;

  private readonly script: AgentStep[];
  private scriptIndex = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    protected readonly env: RunEnv,
    readonly init: RunInit,
  ) {
    this.script = buildScript(init.scenario, init.repo);
    this.throttledReadsLeft = init.scenario.has('429') ? THROTTLED_READS : 0;
  }

  get prompt(): string {
    return this.init.prompt;
  }

  get scenario(): Scenario {
    return this.init.scenario;
  }

  /** Version-specific names of the start phases; the last one means "ready". */
  protected abstract readonly startPhases: readonly string[];
  protected abstract enterStartPhase(index: number): void;
  protected abstract failStart(): void;
  /** Start phases done: emit the user's prompt and the "running" state. */
  protected abstract enterRunning(): void;
  protected abstract applyStep(step: AgentStep): void;
  /** Record a user message event (and the "running" state when it resumes the agent). */
  protected abstract applyUserMessage(text: string, resumes: boolean): void;
  /** Ids a request may use to name this run (for [sim:flaky] / [sim:429]). */
  abstract ids(): string[];

  /** Kick off: render the first start phase and schedule the next step. */
  begin(): void {
    this.enterStartPhase(0);
    this.schedule();
  }

  /** Halt progression for good (stop / pause / eviction / restart / simulator stop). */
  halt(): void {
    this.stopped = true;
    this.clearTimer();
    this.touch();
  }

  /** Clears the timer without marking the run stopped (simulator shutdown). */
  clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** A user message; it resumes an agent waiting for input ([sim:ask]). */
  sendMessage(text: string): void {
    this.messages.push(text);
    this.deliverMessage(text);
  }

  /** A paused sandbox started again: the run goes on where it stopped. */
  resume(): void {
    if (!this.stopped || this.deleted) return;
    this.stopped = false;
    this.touch();
    this.schedule();
  }

  /** Release stuck / hang / ask holds (test helper). */
  release(): void {
    if (this.stopped) return;
    if (this.phase === 'waiting') {
      this.deliverMessage('continue');
      return;
    }
    if (this.held) {
      this.held = false;
      this.schedule();
    }
  }

  /** True while a [sim:blip] false error should be shown; consumes one read. */
  consumeBlip(): boolean {
    if (this.blipReadsLeft > 0 && this.phase === 'running' && !this.stopped) {
      this.blipReadsLeft -= 1;
      this.blipsShown += 1;
      return true;
    }
    return false;
  }

  protected touch(): void {
    this.updatedAt = isoNow();
  }

  /** Opens the PR: takes the next global number and records it on the run. */
  protected openPr(): string {
    const n = this.env.nextPrNumber();
    this.prNumbers.push(n);
    this.prUrl = pullRequestUrl(this.init.repo, n);
    return this.prUrl;
  }

  private deliverMessage(text: string): void {
    if (this.stopped) return;
    const resumes = this.phase === 'waiting';
    this.applyUserMessage(text, resumes);
    this.touch();
    if (resumes) {
      this.phase = 'running';
      this.schedule();
    }
  }

  private schedule(): void {
    if (this.timer || this.stopped || this.held) return;
    if (this.phase !== 'starting' && this.phase !== 'running') return;
    const factor =
      this.phase === 'starting' ? startStepFactor(this.scenario) : agentStepFactor(this.scenario);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.tick();
      this.schedule();
    }, this.env.stepMs * factor);
    // Never keep a process alive just for a simulated agent.
    this.timer.unref();
  }

  private tick(): void {
    if (this.stopped) return;
    if (this.phase === 'starting') this.advanceStart();
    else if (this.phase === 'running') this.advanceScript();
    this.touch();
  }

  private advanceStart(): void {
    const next = this.startIndex + 1;
    if (this.scenario.has('sandbox-error') && next > SANDBOX_PHASE) {
      this.phase = 'start-failed';
      this.failStart();
      return;
    }
    this.startIndex = next;
    this.enterStartPhase(next);
    if (next >= this.startPhases.length - 1) {
      this.phase = 'running';
      if (this.scenario.has('blip')) this.blipReadsLeft = BLIP_READS;
      this.enterRunning();
      if (this.scenario.has('hang')) this.held = true;
      return;
    }
    if (this.scenario.has('stuck') && next === SANDBOX_PHASE) this.held = true;
  }

  private advanceScript(): void {
    const step = this.script[this.scriptIndex];
    if (!step) return;
    this.scriptIndex += 1;
    this.applyStep(step);
    if (step.type === 'edit') this.changedFiles.push({ status: 'UPDATED', path: step.path });
    if (step.type === 'ask') {
      this.phase = 'waiting';
      this.finalResponse = step.question;
      // An idle sandbox is paused by OpenHands: a message needs a resume first.
      if (this.scenario.has('idle-pause')) this.halt();
    } else if (step.type === 'fail') this.phase = 'failed';
    else if (step.type === 'finish') this.phase = 'finished';
  }
}
