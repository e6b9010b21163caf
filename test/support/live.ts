import { createClient as createSseClient } from 'graphql-sse';
import { type Client, createClient as createWsClient } from 'graphql-ws';
import WebSocket from 'ws';
import { waitFor } from './graphql.js';
import { type RunningService, TEST_TOKEN } from './service.js';

export interface LiveEventMessage {
  seq: number;
  type: string;
  status: string;
  percent: number;
  phase: string;
  message: string | null;
  run: { id: string; status: string; percent: number };
}

export const RUN_PROGRESS = `subscription($runId: ID!, $afterSeq: Int) {
  runProgress(runId: $runId, afterSeq: $afterSeq) { seq type status percent phase message run { id status percent } }
}`;

/** What one subscription received, and how it ended. */
export interface Collected<T> {
  items: T[];
  errors: unknown[];
  /** Resolves when the server completes the subscription (or rejects on error). */
  done: Promise<void>;
  stop(): void;
}

/** A real graphql-ws client (protocol graphql-transport-ws) over a real WebSocket. */
export function wsClient(
  httpUrl: string,
  token: string | null = TEST_TOKEN,
  extra: Partial<Parameters<typeof createWsClient>[0]> = {},
): Client {
  return createWsClient({
    url: `${httpUrl.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
    lazy: true,
    retryAttempts: 0,
    ...extra,
  });
}

type Sink<T> = {
  next: (result: { data?: { [key: string]: T } | null; errors?: readonly unknown[] }) => void;
  error: (error: unknown) => void;
  complete: () => void;
};

/** Gathers what one subscription delivers, whatever the transport. */
function collect<T>(
  subscribe: (sink: Sink<T>) => () => void,
  onItem?: (item: T, all: T[]) => void,
): Collected<T> {
  const items: T[] = [];
  const errors: unknown[] = [];
  let stop = () => {};
  const done = new Promise<void>((resolve, reject) => {
    stop = subscribe({
      next: (result) => {
        if (result.errors) errors.push(...result.errors);
        const value = result.data ? Object.values(result.data)[0] : undefined;
        if (value) {
          items.push(value);
          onItem?.(value, items);
        }
      },
      error: (error) => {
        errors.push(error);
        reject(error);
      },
      complete: () => resolve(),
    });
  });
  done.catch(() => {});
  return { items, errors, done, stop: () => stop() };
}

export function collectWs<T = LiveEventMessage>(
  client: Client,
  query: string,
  variables: Record<string, unknown>,
  onItem?: (item: T, all: T[]) => void,
): Collected<T> {
  return collect<T>((sink) => client.subscribe<{ [key: string]: T }>({ query, variables }, sink), onItem);
}

/** A real SSE client (graphql-sse, distinct connections mode, which yoga serves). */
export function collectSse<T = LiveEventMessage>(
  httpUrl: string,
  query: string,
  variables: Record<string, unknown>,
  token: string | null = TEST_TOKEN,
): Collected<T> & { client: ReturnType<typeof createSseClient> } {
  const client = createSseClient({
    url: `${httpUrl}/graphql`,
    singleConnection: false,
    retryAttempts: 0,
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  const collected = collect<T>((sink) => client.subscribe<{ [key: string]: T }>({ query, variables }, sink));
  return { ...collected, client };
}

/** Seqs must go up by exactly one each time. */
export function expectContiguous(seqs: number[]): void {
  for (let i = 1; i < seqs.length; i++) {
    if (seqs[i] !== seqs[i - 1] + 1) throw new Error(`gap or duplicate in seqs: ${seqs.join(',')}`);
  }
}

/** What runsChanged sends of a run, as the catch-up tests read it. */
export interface RunChangeMessage {
  seq: number;
  run: { id: string; status: string };
}

/** A runsChanged subscription over graphql-ws for one project, returned once the service holds it open. */
export async function openRunsChanged(
  service: RunningService,
  projectId: string,
): Promise<Collected<RunChangeMessage> & { client: Client }> {
  const client = wsClient(service.url);
  const openBefore = service.app.live.open;
  const sub = collectWs<RunChangeMessage>(
    client,
    'subscription($p: String) { runsChanged(projectId: $p) { seq run { id status } } }',
    { p: projectId },
  );
  await waitFor('the subscription to be open', async () => service.app.live.open > openBefore);
  return { ...sub, client };
}

/** The first message showing the run in `status`. */
export function changeTo(sub: Collected<RunChangeMessage>, runId: string, status: string) {
  return sub.items.find((m) => m.run.id === runId && m.run.status === status);
}
