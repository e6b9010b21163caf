/** Helpers for the agent-server push tests: POSTs as an agent server sends them, over real HTTP. */
import type { Simulator } from '../../tools/simulator/index.js';
import { sql, waitFor } from '../support/runs.js';

export const SECRET = 'push-secret-for-tests';

export interface Answer {
  status: number;
  body: Record<string, any>;
}

/** POST {base}/openhands{path} with the bearer secret (unless overridden) and optional session key. */
export async function push(
  baseUrl: string,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const response = await fetch(`${baseUrl}/openhands${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${SECRET}`, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

/** A ConversationStateUpdateEvent as the agent server serialises it (naive UTC, microseconds). */
export function stateEvent(value: string, at: Date, id = crypto.randomUUID()) {
  return {
    id,
    timestamp: `${at.toISOString().slice(0, 23)}123`,
    source: 'environment',
    kind: 'ConversationStateUpdateEvent',
    key: 'execution_status',
    value,
  };
}

/** The agent's finish action, as the agent server pushes it just before `finished`. */
export function finishEvent(at: Date, id = crypto.randomUUID()) {
  return {
    id,
    timestamp: `${at.toISOString().slice(0, 23)}122`,
    source: 'agent',
    kind: 'ActionEvent',
    tool_name: 'finish',
    action: { kind: 'FinishAction', message: 'Done.' },
  };
}

/** The run's conversation id (32 hex) and its sandbox's session API key, read from OpenHands. */
export async function conversationOf(
  dbUrl: string,
  sim: Simulator,
  runId: string,
): Promise<{ id: string; sessionKey: string }> {
  const row = await waitFor(`run ${runId} to know its conversation and session key`, async () => {
    const [found] = await sql<{ conversationId: string | null; sessionKeyHash: string | null }>(
      dbUrl,
      'SELECT "conversationId", "sessionKeyHash" FROM "Run" WHERE id = $1',
      [runId],
    );
    return found?.conversationId && found.sessionKeyHash ? found : undefined;
  });
  const id = row.conversationId as string;
  const response = await fetch(`${sim.url}/api/v1/app-conversations?ids=${id}`);
  const [conversation] = (await response.json()) as Array<{ session_api_key: string }>;
  return { id, sessionKey: conversation.session_api_key };
}

/** One counter's value from GET /metrics (0 when the series is absent). */
export async function metric(baseUrl: string, series: string): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.split(' ')[1]) : 0;
}

/** How many times the simulator was asked for conversations (one batch read per poll round). */
export function conversationReads(sim: Simulator, since = 0): number {
  return sim.requests.filter((r) => r.path === '/api/v1/app-conversations' && r.at >= since).length;
}
