import type { PrismaClient } from '../generated/prisma/client.js';
import type { Logger } from '../logger.js';

/** Something that holds connections or streams opened with stored tokens. */
export interface TokenHolder {
  tokenIds(): Iterable<string>;
  /** Ends what this token opened; returns how many things it ended. */
  closeFor(tokenId: string): number;
}

/**
 * Requests re-check their token every time, but a subscription or WebSocket lives on after its
 * check. Every `intervalMs` this looks up the stored tokens behind open ones (one indexed query,
 * only while any are open) and ends those whose token was revoked or deleted.
 */
export class RevocationWatch {
  private timer: NodeJS.Timeout | undefined;
  private checking: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly prisma: PrismaClient,
    private readonly holders: TokenHolder[],
    private readonly intervalMs: number,
    private readonly log: Logger,
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.checking = this.check().catch((error) =>
        this.log.warn({ err: error }, 'could not check open subscriptions for revoked tokens'),
      );
    }, this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.checking;
  }

  /** One pass; returns how many subscriptions and connections it ended. */
  async check(): Promise<number> {
    const ids = new Set<string>();
    for (const holder of this.holders) for (const id of holder.tokenIds()) ids.add(id);
    if (ids.size === 0) return 0;
    const live = await this.prisma.apiToken.findMany({
      where: { id: { in: [...ids] }, revokedAt: null },
      select: { id: true },
    });
    for (const { id } of live) ids.delete(id);
    let closed = 0;
    for (const id of ids) {
      // Holders in order: sockets first, as a socket closed with 4403 tells the client why, where
      // a completed subscription would look like a normal end.
      let ended = 0;
      for (const holder of this.holders) ended += holder.closeFor(id);
      if (ended > 0) this.log.info({ tokenId: id, ended }, 'token revoked: closed what it had open');
      closed += ended;
    }
    return closed;
  }
}
