import pg from 'pg';
import type { Logger } from '../logger.js';
import { noticesOf, RUN_EVENTS_CHANNEL, type RunNotice, type RunStore } from '../runs/store/index.js';

export interface NoticeListener {
  notice(notice: RunNotice): void;
  /**
   * Notices may have been missed (connection lost): re-read from the log. `since`: the last moment
   * this replica is known to have heard every notice (the last one before the loss).
   */
  resync(since: Date): void;
}

/** Tells this replica's subscribers that a run's log grew, wherever the write happened. */
export interface NoticeBus {
  listen(listener: NoticeListener): () => void;
  close(): Promise<void>;
}

export abstract class Fanout implements NoticeBus {
  protected readonly listeners = new Set<NoticeListener>();
  /** When the last notice arrived (or the bus started): nothing before it was missed. */
  private heardAt = Date.now();
  /** Set when the connection is lost: notices from then on may be missing until the resync. */
  private gapFrom: number | undefined;

  listen(listener: NoticeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  protected deliver(notice: RunNotice): void {
    this.heardAt = Date.now();
    for (const l of this.listeners) l.notice(notice);
  }

  /** The connection is gone; remembered so that notices on the next one do not hide the gap. */
  protected markGap(): void {
    this.gapFrom ??= this.heardAt;
  }

  /** A check showed that every notice sent before `at` has arrived. */
  protected heardUpTo(at: number): void {
    if (this.gapFrom === undefined && at > this.heardAt) this.heardAt = at;
  }

  /** The first connection is up, and no resync follows: a failed first attempt is no gap to keep. */
  protected forgetGap(): void {
    this.gapFrom = undefined;
  }

  protected resyncAll(): void {
    const since = new Date(this.gapFrom ?? this.heardAt);
    this.gapFrom = undefined;
    for (const l of this.listeners) l.resync(since);
  }

  abstract close(): Promise<void>;
}

/**
 * Pings a bus's notice connection. A connection that a proxy, a NAT or a failover dropped without a
 * word looks alive for hours (TCP keep-alive), and the notices meant for it are gone. A ping answers
 * only on a live connection, after every notice sent before it; so an answer moves "heard up to"
 * forward, and a ping that fails, or is still unanswered at the next one, means the connection is
 * lost (the bus replaces it, then resyncs).
 */
export class Heartbeat<Connection extends object> {
  /** The ping sent on the connection in use and not answered yet. */
  private out: { connection: Connection; sentAt: number } | undefined;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly intervalMs: number,
    private readonly link: {
      /** The connection in use, if one is up. */
      current(): Connection | undefined;
      ping(connection: Connection): Promise<unknown>;
      answered(sentAt: number): void;
      silent(connection: Connection, error: Error): void;
    },
  ) {
    this.timer = setInterval(() => this.beat(), intervalMs);
    this.timer.unref();
  }

  /** The connection was replaced: a ping sent on the old one is no longer owed. */
  reset(): void {
    this.out = undefined;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private beat(): void {
    const connection = this.link.current();
    if (!connection) return;
    const unanswered = this.out;
    if (unanswered?.connection === connection) {
      // One more turn first: after an event-loop stall, timers run before the sockets are read,
      // and the answer may already be waiting.
      setImmediate(() => {
        if (this.out !== unanswered) return;
        this.out = undefined;
        this.link.silent(connection, new Error(`no answer to a ping within ${this.intervalMs} ms`));
      });
      return;
    }
    const out = { connection, sentAt: Date.now() };
    this.out = out;
    this.link.ping(connection).then(
      () => {
        if (this.out !== out) return;
        this.out = undefined;
        this.link.answered(out.sentAt);
      },
      (error: Error) => {
        if (this.out !== out) return;
        this.out = undefined;
        this.link.silent(connection, error);
      },
    );
  }
}

/** Embedded mode: one process, so the store's after-commit callback is the whole story. */
export class LocalBus extends Fanout {
  private readonly off: () => void;

  constructor(store: RunStore) {
    super();
    this.off = store.onEvents((result) => {
      for (const notice of noticesOf(result)) this.deliver(notice);
    });
  }

  async close(): Promise<void> {
    this.off();
  }
}

/**
 * PostgreSQL LISTEN on a dedicated connection. The store NOTIFYs inside each write transaction, so a
 * notice means the rows are committed. When the connection drops (database restart), it reconnects
 * with backoff and asks every subscriber to resync from the log, which closes any gap.
 */
export class PgListenBus extends Fanout {
  private client: pg.Client | undefined;
  /** The connection being made or in use: events of an older, abandoned one are ignored. */
  private current: pg.Client | undefined;
  private closed = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly heartbeat: Heartbeat<pg.Client>;
  private attempts = 0;
  /** Resolves once the first LISTEN is in place. */
  readonly ready: Promise<void>;
  private markReady!: () => void;

  constructor(
    private readonly url: string,
    private readonly log: Logger,
    private readonly pingMs = 15_000,
  ) {
    super();
    this.ready = new Promise((resolve) => {
      this.markReady = resolve;
    });
    this.heartbeat = new Heartbeat(pingMs, {
      current: () => (this.closed ? undefined : this.client),
      ping: (client) => client.query('SELECT 1'),
      answered: (sentAt) => this.heardUpTo(sentAt),
      silent: (client, error) => this.lost(client, error),
    });
    void this.connect();
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    // Timeouts, so that a reconnect into a silent network fails and is retried instead of waiting
    // forever; the name lets operators (and tests) find this connection in pg_stat_activity.
    const timeoutMs = Math.max(this.pingMs, 5000);
    const client = new pg.Client({
      connectionString: this.url,
      keepAlive: true,
      application_name: LISTEN_APPLICATION_NAME,
      connectionTimeoutMillis: timeoutMs,
      query_timeout: timeoutMs,
    });
    this.current = client;
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client, new Error('connection ended')));
    client.on('notification', (message) => {
      if (message.channel !== RUN_EVENTS_CHANNEL || !message.payload) return;
      try {
        this.deliver(JSON.parse(message.payload) as RunNotice);
      } catch {
        this.log.warn('ignoring a malformed run notice');
      }
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${RUN_EVENTS_CHANNEL}`);
    } catch (error) {
      this.lost(client, error as Error);
      return;
    }
    if (this.closed || this.current !== client) {
      await endWithin(client, 1000);
      return;
    }
    const reconnected = this.attempts > 0;
    this.client = client;
    this.attempts = 0;
    this.markReady();
    if (reconnected) {
      this.log.info('LISTEN connection re-established; resyncing subscriptions');
      this.resyncAll();
    }
  }

  private lost(client: pg.Client, error: Error): void {
    if (this.closed || client !== this.current) return;
    if (this.retryTimer) return;
    this.markGap();
    this.current = undefined;
    this.client = undefined;
    client.removeAllListeners('notification');
    client.end().catch(() => {});
    this.attempts++;
    const delay = Math.min(10_000, 100 * 2 ** Math.min(this.attempts, 7));
    this.log.warn({ err: error, attempt: this.attempts, delay }, 'LISTEN connection lost; reconnecting');
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      // Mark as "reconnecting" so the next successful connect triggers a resync.
      this.client = undefined;
      void this.connect();
    }, delay);
    this.retryTimer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.heartbeat.stop();
    this.markReady();
    // A dead connection may never answer the goodbye: shutdown does not wait for it.
    if (this.client) await endWithin(this.client, 1000);
    this.client = undefined;
  }
}

/** The LISTEN connection's application_name in pg_stat_activity. */
export const LISTEN_APPLICATION_NAME = 'openhands-runner-listen';

/** Closes a client, waiting at most `ms` for the server to see it go. */
async function endWithin(client: pg.Client, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    client.end().catch(() => {}),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
}
