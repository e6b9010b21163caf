import { type Client, createClient } from 'graphql-ws';

/** A GraphQL error as the dashboard shows it: the API's code and message. */
export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 0,
  ) {
    super(message);
  }
}

interface GraphQLResponse<T> {
  data?: T | null;
  errors?: Array<{ message: string; extensions?: { code?: string } }>;
}

/** idle: no subscription open, so the lazy socket is closed on purpose. */
export type LiveState = 'connecting' | 'connected' | 'reconnecting' | 'idle';

/** graphql-ws closes with 4403 when the token is wrong, expired or revoked: retrying cannot help. */
const FORBIDDEN = 4403;
/** The client closes its lazy socket with 1000 once the last subscription ends. */
const NORMAL = 1000;

function isCloseEvent(value: unknown): value is { code: number } {
  return typeof value === 'object' && value !== null && 'code' in value;
}

/**
 * The signed-in user's connection to the service: queries and mutations over HTTP, subscriptions
 * over one graphql-ws socket that reconnects by itself. The token goes in a header and in the
 * socket's connection_init, never in a URL.
 */
export class Session {
  readonly socket: Client;
  private readonly liveListeners = new Set<(state: LiveState) => void>();
  live: LiveState = 'connecting';

  constructor(
    readonly token: string,
    private readonly onTokenRefused: (message: string) => void,
  ) {
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    this.socket = createClient({
      url: `${scheme}://${location.host}/graphql`,
      connectionParams: { authorization: `Bearer ${token}` },
      lazy: true,
      retryAttempts: Number.POSITIVE_INFINITY,
      retryWait: (retries) =>
        new Promise((resolve) => setTimeout(resolve, Math.min(5000, 250 * 2 ** retries))),
      shouldRetry: (event) => !(isCloseEvent(event) && event.code === FORBIDDEN),
      on: {
        connected: () => this.setLive('connected'),
        closed: (event) => {
          if (isCloseEvent(event) && event.code === FORBIDDEN)
            this.onTokenRefused('The service no longer accepts this token. Sign in again.');
          else this.setLive(isCloseEvent(event) && event.code === NORMAL ? 'idle' : 'reconnecting');
        },
      },
    });
  }

  async request<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
    let response: Response;
    try {
      response = await fetch('/graphql', {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/graphql-response+json, application/json',
          authorization: `Bearer ${this.token}`,
        },
        body: JSON.stringify({ query, variables }),
      });
    } catch {
      throw new ApiError('NETWORK', 'The service cannot be reached.');
    }
    const body = (await response.json().catch(() => null)) as GraphQLResponse<T> | null;
    const first = body?.errors?.[0];
    if (first) {
      const code = first.extensions?.code ?? `HTTP_${response.status}`;
      if (code === 'UNAUTHENTICATED') this.onTokenRefused(first.message);
      throw new ApiError(code, first.message, response.status);
    }
    if (!body?.data)
      throw new ApiError(`HTTP_${response.status}`, `The service answered ${response.status}.`);
    return body.data;
  }

  /**
   * A subscription. `variables` is the very object graphql-ws re-sends when it reconnects, so a
   * caller may update it as events arrive (runProgress's afterSeq) to resume where it stopped.
   */
  subscribe<T>(
    query: string,
    variables: Record<string, unknown>,
    sink: { next: (data: T) => void; error?: (error: ApiError) => void; complete?: () => void },
  ): () => void {
    return this.socket.subscribe<T>(
      { query, variables },
      {
        next: (result) => {
          if (result.data) sink.next(result.data as T);
        },
        error: (error) => {
          const first = Array.isArray(error) ? error[0] : undefined;
          sink.error?.(
            new ApiError(first?.extensions?.code ?? 'LIVE', first?.message ?? 'Live updates stopped.'),
          );
        },
        complete: () => sink.complete?.(),
      },
    );
  }

  onLive(listener: (state: LiveState) => void): () => void {
    this.liveListeners.add(listener);
    return () => this.liveListeners.delete(listener);
  }

  private setLive(state: LiveState): void {
    this.live = state;
    for (const listener of this.liveListeners) listener(state);
  }

  close(): void {
    void this.socket.dispose();
  }
}

/** Checks a token before keeping it: a cheap authenticated query. */
export async function checkToken(token: string): Promise<void> {
  const probe = new Session(token, () => {});
  try {
    await probe.request('{ runs(first: 1) { totalCount } }');
  } finally {
    probe.close();
  }
}
