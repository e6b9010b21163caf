/**
 * The simulator's agent-server webhooks (shared/openhands-api.md, "Agent-server webhooks"): like the
 * agent server in each V1 sandbox, it POSTs each conversation's events to `{url}/events/{id hex}` in
 * batches (flushed when `bufferSize` events wait or `flushDelayMs` passed since the first), and each
 * ConversationInfo on start and pause to `{url}/conversations`, with the configured headers plus
 * `X-Session-API-Key`. A failed batch is retried `retries` times, `retryDelayMs` apart, then dropped.
 * `lossRate` silently drops that fraction of batches (lost pushes, for reconciliation tests).
 */
import { setMaxListeners } from 'node:events';

export interface PushOptions {
  /** The webhook's base URL (OH_WEBHOOKS_<n>_BASE_URL), e.g. http://127.0.0.1:8080/openhands. */
  url: string;
  /** Sent as `Authorization: Bearer <secret>` (what an operator puts in OH_WEBHOOKS_<n>_HEADERS). */
  secret?: string;
  /** OH_WEBHOOKS_<n>_EVENT_BUFFER_SIZE (default 5, as the agent server). */
  bufferSize?: number;
  /** OH_WEBHOOKS_<n>_FLUSH_DELAY in ms (the agent server's default is 30 s; here 500 ms). */
  flushDelayMs?: number;
  /** OH_WEBHOOKS_<n>_NUM_RETRIES (default 3). */
  retries?: number;
  /** OH_WEBHOOKS_<n>_RETRY_DELAY in ms (default 5000 as the agent server). */
  retryDelayMs?: number;
  /** Fraction (0–1) of batches dropped without a word (default 0). */
  lossRate?: number;
  /** Random source for `lossRate` (tests seed it). */
  random?: () => number;
  /** Told of every batch `lossRate` dropped (the benchmark tells lost changes from the others). */
  onLost?: (conversationId: string, events: Array<{ id: string }>) => void;
}

export interface PushStats {
  batchesSent: number;
  eventsSent: number;
  conversationsSent: number;
  /** Dropped on purpose (`lossRate`). */
  batchesLost: number;
  /** Given up after every retry failed. */
  batchesFailed: number;
  /** Failed attempts (a retry follows unless it was the last). */
  failedAttempts: number;
}

type Pushed = { id: string } & Record<string, unknown>;

interface Queue {
  events: Pushed[];
  sessionKey: string;
  timer?: NodeJS.Timeout;
}

export class AgentServerPusher {
  readonly stats: PushStats = {
    batchesSent: 0,
    eventsSent: 0,
    conversationsSent: 0,
    batchesLost: 0,
    batchesFailed: 0,
    failedAttempts: 0,
  };
  private readonly queues = new Map<string, Queue>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly controller = new AbortController();
  private stopped = false;

  constructor(private readonly options: PushOptions) {
    // Every request in flight listens on the one stop signal: thousands at once are expected.
    setMaxListeners(0, this.controller.signal);
  }

  /** A conversation event, in the order the agent produced it. */
  event(conversationId: string, sessionKey: string, event: Pushed): void {
    if (this.stopped) return;
    const hex = conversationId.replaceAll('-', '');
    const queue = this.queues.get(hex) ?? { events: [], sessionKey };
    this.queues.set(hex, queue);
    queue.events.push(event);
    if (queue.events.length >= (this.options.bufferSize ?? 5)) this.flush(hex);
    else if (!queue.timer) {
      queue.timer = this.later(() => this.flush(hex), this.options.flushDelayMs ?? 500);
    }
  }

  /** A ConversationInfo (start, pause, update, delete), sent at once. */
  conversation(info: Pushed, sessionKey: string): void {
    if (this.stopped) return;
    this.send('/conversations', info, sessionKey, () => {
      this.stats.conversationsSent++;
    });
  }

  /** Changes the fraction of batches dropped from now on. */
  setLossRate(rate: number): void {
    this.options.lossRate = rate;
  }

  /** Sends what is buffered now (tests), and waits for every request in flight. */
  async drain(): Promise<void> {
    for (const hex of this.queues.keys()) this.flush(hex);
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  /** Stops sending: buffered events are dropped, requests in flight aborted. */
  stop(): void {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.controller.abort();
  }

  private flush(hex: string): void {
    const queue = this.queues.get(hex);
    if (!queue || queue.events.length === 0) return;
    if (queue.timer) {
      clearTimeout(queue.timer);
      this.timers.delete(queue.timer);
    }
    queue.timer = undefined;
    const batch = queue.events.splice(0);
    if ((this.options.random ?? Math.random)() < (this.options.lossRate ?? 0)) {
      this.stats.batchesLost++;
      this.options.onLost?.(hex, batch);
      return;
    }
    this.send(`/events/${hex}`, batch, queue.sessionKey, () => {
      this.stats.batchesSent++;
      this.stats.eventsSent += batch.length;
    });
  }

  private send(path: string, body: unknown, sessionKey: string, onSent: () => void): void {
    const attempt = async (left: number): Promise<void> => {
      if (this.stopped) return;
      if (await this.post(path, body, sessionKey)) return onSent();
      this.stats.failedAttempts++;
      if (left <= 0 || this.stopped) {
        this.stats.batchesFailed++;
        return;
      }
      await new Promise<void>((resolve) => this.later(resolve, this.options.retryDelayMs ?? 5000));
      return attempt(left - 1);
    };
    const sending = attempt(this.options.retries ?? 3);
    this.inFlight.add(sending);
    void sending.finally(() => this.inFlight.delete(sending));
  }

  private async post(path: string, body: unknown, sessionKey: string): Promise<boolean> {
    try {
      const response = await fetch(`${this.options.url.replace(/\/$/, '')}${path}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-session-api-key': sessionKey,
          ...(this.options.secret ? { authorization: `Bearer ${this.options.secret}` } : {}),
        },
        body: JSON.stringify(body),
        signal: this.controller.signal,
      });
      await response.arrayBuffer();
      return response.ok;
    } catch {
      return false;
    }
  }

  private later(fn: () => void, ms: number): NodeJS.Timeout {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    timer.unref();
    this.timers.add(timer);
    return timer;
  }
}
