/**
 * Public types of the OpenHands simulator.
 *
 * The simulator is a fake OpenHands server used by the runner's tests and demo,
 * because the real server (Docker sandboxes, an LLM) cannot run here. Its shapes
 * follow /work/shared/openhands-api.md.
 */

import type { AgentServerPusher, PushOptions } from './push.js';

export type ApiVersion = 'v1' | 'v0';

export interface SimulatorOptions {
  /** Which server generation to fake. A V1 sim answers 404 on V0 routes and vice versa. Default 'v1'. */
  apiVersion?: ApiVersion;
  /** When set, every non-health route needs `X-Session-API-Key: <key>` (401 otherwise). */
  sessionApiKey?: string;
  /** Duration of one simulated step in ms (default 150). A happy run takes 12-14 steps. */
  stepMs?: number;
  /** Per-IP limiter as on the real server (default true). */
  rateLimit?: boolean;
  /**
   * V0: conversations kept in memory before the oldest is evicted (default 3, as the real server).
   * V1: running sandboxes before the oldest is paused (default unlimited).
   */
  maxConversations?: number;
  host?: string;
  port?: number;
  /** V1: false fakes an older 1.x server without send-message (404; use the agent server). Default true. */
  sendMessageRoute?: boolean;
  /** V1: push every conversation's events and ConversationInfo like an agent server's webhook. */
  push?: PushOptions;
}

export interface RequestLogEntry {
  method: string;
  /** Path without the query string. */
  path: string;
  /** HTTP status sent; 0 while the request is still being answered (or was never answered). */
  status: number;
  /** Arrival time (ms since epoch). */
  at: number;
}

export interface FailNextOptions {
  /** Seconds for the Retry-After header of a 429 (default 1). */
  retryAfter?: number;
  /** Only requests whose path contains this string are failed (and counted). */
  pathIncludes?: string;
}

/** Introspection view of one simulated conversation (see README for field meanings). */
export interface ConversationInfo {
  /** V1: the app conversation id (known from the start, exposed over HTTP from READY on). V0: conversation_id. */
  id: string;
  /**
   * V1: start-task status until READY, then the execution_status (or the sandbox_status when
   * there is none, e.g. PAUSED). V0: the conversation status (STARTING, RUNNING, STOPPED, ERROR).
   */
  status: string;
  prompt: string;
  /** Stopped, paused, evicted or forgotten by a restart. */
  stopped: boolean;
  deleted: boolean;
  /** Texts sent through the message route, oldest first (the prompt is not included). */
  messages: string[];
  /** V1 only: the start task id. */
  taskId?: string;
  sandboxId?: string;
  /** Scenario markers found in the prompt, e.g. ['fail']. */
  scenarios: string[];
  prNumbers: number[];
  prUrl: string | null;
  /** Number of events emitted so far. */
  eventCount: number;
  /** [sim:blip]: how many status reads were shown the false error (0 until it starts running). */
  blipsShown: number;
}

export interface Simulator {
  /** e.g. http://127.0.0.1:PORT */
  url: string;
  port: number;
  /** The agent-server webhooks (`push` option, V1 only): stats, drain(), and lossRate to change. */
  pusher: AgentServerPusher | null;
  /** Closes the server and all sockets and clears every timer. */
  stop(): Promise<void>;
  /** Every request seen, in arrival order. */
  requests: RequestLogEntry[];
  /** The next `count` matching requests answer `status`. */
  failNext(count: number, status: number, opts?: FailNextOptions): void;
  /** While down, every incoming connection is destroyed without an answer. */
  setDown(down: boolean): void;
  /**
   * While held, requests are accepted and logged (status 0) but not answered; hold(false) lets them
   * go on (a request whose client went away meanwhile is still carried out, as a real server would).
   */
  hold(held: boolean): void;
  /** Simulate a server restart: V0 conversations are forgotten (read STOPPED); V1 state is kept. */
  restart(): void;
  conversations(): ConversationInfo[];
  /**
   * Push held conversations forward: a `[sim:stuck]` start, a `[sim:hang]` agent or a `[sim:ask]`
   * question (answered with "continue"). Without an argument, every conversation; otherwise those
   * whose id / task id equals the argument or whose prompt contains it.
   */
  complete(conversationIdOrPromptMarker?: string): void;
}
