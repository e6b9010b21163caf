/** Small helpers for driving the simulator over real HTTP in tests. */
import type { Simulator } from '../../tools/simulator/index.js';

export interface JsonResponse<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
}

export async function call<T = unknown>(
  sim: Simulator,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<JsonResponse<T>> {
  const res = await fetch(`${sim.url}${path}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    body: (text === '' ? undefined : JSON.parse(text)) as T,
  };
}

/** Polls `fn` until it returns a truthy value (returned), failing after `timeoutMs`. */
export async function waitFor<T>(
  fn: () => Promise<T | null | undefined | false> | T | null | undefined | false,
  what: string,
  timeoutMs = 5000,
  intervalMs = 15,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function v1StartBody(prompt: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    initial_message: { role: 'user', content: [{ type: 'text', text: prompt }] },
    selected_repository: 'acme/widgets',
    selected_branch: 'main',
    git_provider: 'github',
    title: 'Simulated run',
    ...extra,
  };
}

export type V1Task = {
  id: string;
  status: string;
  detail: string | null;
  app_conversation_id: string | null;
  sandbox_id: string | null;
};
export type V1Conversation = {
  id: string;
  sandbox_id: string;
  sandbox_status: string;
  execution_status: string | null;
  pr_number: number[];
};
export type V1Event = { id: string; kind: string; source: string; timestamp: string } & Record<
  string,
  unknown
>;
export type V0Conversation = {
  conversation_id: string;
  status: string;
  runtime_status: string | null;
  pr_number: number[];
};
export type V0Event = { id: number; source: string } & Record<string, unknown>;

/** Starts a V1 conversation and waits for its start task to be READY; returns the task. */
export async function startV1Ready(
  sim: Simulator,
  prompt: string,
  extra?: Record<string, unknown>,
): Promise<V1Task> {
  const started = await call<V1Task>(sim, 'POST', '/api/v1/app-conversations', v1StartBody(prompt, extra));
  if (started.status !== 200) throw new Error(`start failed: ${started.status}`);
  return waitFor(async () => {
    const res = await call<(V1Task | null)[]>(
      sim,
      'GET',
      `/api/v1/app-conversations/start-tasks?ids=${started.body.id}`,
    );
    const task = res.status === 200 ? res.body[0] : null;
    return task?.status === 'READY' ? task : null;
  }, 'start task READY');
}

export async function v1Conversation(sim: Simulator, id: string): Promise<V1Conversation | null> {
  const res = await call<(V1Conversation | null)[]>(sim, 'GET', `/api/v1/app-conversations?ids=${id}`);
  if (res.status !== 200) throw new Error(`batch read answered ${res.status}`);
  return res.body[0] ?? null;
}

/** Every event of a V1 conversation, following next_page_id. */
export async function allV1Events(sim: Simulator, id: string, limit = 100): Promise<V1Event[]> {
  const items: V1Event[] = [];
  let pageId: string | null = null;
  do {
    const query: string = `sort_order=TIMESTAMP&limit=${limit}${pageId ? `&page_id=${pageId}` : ''}`;
    const res = await call<{ items: V1Event[]; next_page_id: string | null }>(
      sim,
      'GET',
      `/api/v1/conversation/${id}/events/search?${query}`,
    );
    items.push(...res.body.items);
    pageId = res.body.next_page_id;
  } while (pageId);
  return items;
}

/** Every event of a V0 conversation, paging with start_id = last id + 1. */
export async function allV0Events(sim: Simulator, id: string, limit = 100): Promise<V0Event[]> {
  const events: V0Event[] = [];
  let startId = 0;
  for (;;) {
    const res = await call<{ events: V0Event[]; has_more: boolean }>(
      sim,
      'GET',
      `/api/conversations/${id}/events?start_id=${startId}&limit=${limit}`,
    );
    events.push(...res.body.events);
    const last = res.body.events.at(-1);
    if (!res.body.has_more || !last) return events;
    startId = last.id + 1;
  }
}

export async function startV0(
  sim: Simulator,
  prompt: string,
  extra: Record<string, unknown> = {},
): Promise<string> {
  const res = await call<{ conversation_id: string }>(sim, 'POST', '/api/conversations', {
    initial_user_msg: prompt,
    repository: 'acme/widgets',
    selected_branch: 'main',
    git_provider: 'github',
    ...extra,
  });
  if (res.status !== 200) throw new Error(`V0 start failed: ${res.status}`);
  return res.body.conversation_id;
}

export async function v0Conversation(sim: Simulator, id: string): Promise<V0Conversation | null> {
  const res = await call<V0Conversation | null>(sim, 'GET', `/api/conversations/${id}`);
  if (res.status !== 200) throw new Error(`V0 read answered ${res.status}`);
  return res.body;
}

/** Last agent_state of a V0 event list. */
export function lastAgentState(events: V0Event[]): string | undefined {
  const states = events.filter((e) => e.observation === 'agent_state_changed');
  return (states.at(-1)?.extras as { agent_state?: string } | undefined)?.agent_state;
}
