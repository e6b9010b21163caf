import { Redis } from 'ioredis';
import type { Logger } from '../logger.js';
import { noticesOf, type RunNotice, type RunStore } from '../runs/store/index.js';
import { Fanout, Heartbeat } from './bus.js';

/**
 * Optional fan-out through Redis pub/sub (REDIS_URL). Notices are published after commit, so a
 * notice still means the rows are readable; a publish lost to a Redis outage is recovered by the
 * resync every subscriber does when the subscriber connection comes back, and by its periodic
 * re-check of the log.
 */
export class RedisBus extends Fanout {
  private readonly publisher: Redis;
  private readonly subscriber: Redis;
  private readonly off: () => void;
  private connectedOnce = false;
  private readonly heartbeat: Heartbeat<Redis>;
  readonly ready: Promise<void>;

  constructor(
    url: string,
    private readonly channel: string,
    store: RunStore,
    private readonly log: Logger,
    pingMs = 15_000,
  ) {
    super();
    const options = { lazyConnect: false, maxRetriesPerRequest: 2, enableOfflineQueue: true };
    this.publisher = new Redis(url, options);
    this.subscriber = new Redis(url, options);
    for (const client of [this.publisher, this.subscriber]) {
      client.on('error', (error: Error) => this.log.warn({ err: error }, 'redis connection error'));
    }
    this.subscriber.on('message', (channel: string, payload: string) => {
      if (channel !== this.channel) return;
      try {
        this.deliver(JSON.parse(payload) as RunNotice);
      } catch {
        this.log.warn('ignoring a malformed run notice');
      }
    });
    // As for the LISTEN connection: one dropped without a word is found out by its pings and
    // replaced (ioredis reconnects, and the reconnect resyncs every subscriber).
    this.heartbeat = new Heartbeat(pingMs, {
      current: () => (this.subscriber.status === 'ready' ? this.subscriber : undefined),
      ping: (subscriber) => subscriber.ping(),
      answered: (sentAt) => this.heardUpTo(sentAt),
      silent: (subscriber, error) => {
        // A ping that failed because the connection closed: ioredis is reconnecting already.
        if (subscriber.status !== 'ready') return;
        this.log.warn({ err: error }, 'redis subscriber did not answer a ping; reconnecting');
        subscriber.disconnect(true);
      },
    });
    this.subscriber.on('close', () => {
      this.markGap();
      this.heartbeat.reset();
    });
    this.ready = new Promise((resolve) => {
      this.subscriber.on('ready', () => {
        this.subscriber
          .subscribe(this.channel)
          .then(() => {
            if (this.connectedOnce) {
              this.log.info('redis subscription re-established; resyncing subscriptions');
              this.resyncAll();
            } else this.forgetGap();
            this.connectedOnce = true;
            resolve();
          })
          .catch((error: Error) => this.log.warn({ err: error }, 'could not subscribe to the redis channel'));
      });
    });
    this.off = store.onEvents((result) => {
      for (const notice of noticesOf(result)) {
        this.publisher.publish(this.channel, JSON.stringify(notice)).catch((error: Error) => {
          this.log.warn({ err: error, runId: notice.runId }, 'could not publish a run notice to redis');
        });
      }
    });
  }

  async close(): Promise<void> {
    this.heartbeat.stop();
    this.off();
    this.subscriber.disconnect();
    this.publisher.disconnect();
  }
}
