/** The parts of OpenHands' responses the runner reads (see shared/openhands-api.md). */

export type ApiVersion = 'v1' | 'v0';

export interface V1StartTask {
  id: string;
  status: string;
  detail?: string | null;
  app_conversation_id?: string | null;
  sandbox_id?: string | null;
  /** The start request as sent (its title names the run). */
  request?: { title?: string | null } | null;
  updated_at?: string;
}

export interface V1Conversation {
  id: string;
  sandbox_id?: string | null;
  sandbox_status?: string | null;
  execution_status?: string | null;
  pr_number?: number[] | null;
  conversation_url?: string | null;
  session_api_key?: string | null;
  updated_at?: string;
}

export interface V1Event {
  id: string;
  timestamp?: string;
  source?: string;
  kind?: string;
  tool_name?: string;
  action?: { kind?: string; message?: string; [key: string]: unknown };
  key?: string;
  value?: unknown;
  [key: string]: unknown;
}

export interface V0Conversation {
  conversation_id: string;
  status?: string | null;
  runtime_status?: string | null;
  pr_number?: number[] | null;
  last_updated_at?: string;
  url?: string | null;
}

export interface V0Event {
  id: number;
  timestamp?: string;
  source?: string;
  message?: string;
  action?: string;
  observation?: string;
  args?: Record<string, unknown>;
  extras?: Record<string, unknown>;
  content?: string;
  [key: string]: unknown;
}
