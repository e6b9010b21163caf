import type { Logger } from '../logger.js';
import type { TokenStore } from './token-store.js';

/** Why a token's open connections are ended: revoked (or deleted), or past its expiresAt. */
export type TokenEnd = 'revoked' | 'expired';

/** Something that holds connections or streams opened with stored tokens. */
export interface TokenHolder {
  tokenIds(): Iterable<string>;
  /** Ends what this token opened; returns how many things it ended. */
  closeFor(tokenId: string, why: TokenEnd): number;
}

/**
 * Requests re-check their token every time, but a subscription or WebSocket lives on after its
 * check. Every `intervalMs` this looks up the stored tokens behind open ones (one indexed query,
 * only while any are open) and ends those whose token was revoked, deleted or has expired.
 */
export class RevocationWatch {
  private timer: NodeJS.Timeout | undefined;
  private checking: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly tokens: TokenStore,
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
    const rows = await this.tokens.states([...ids]);
    const now = Date.now();
    const ends = new Map<string, TokenEnd>([...ids].map((id) => [id, 'revoked']));
    for (const row of rows) {
      if (row.revokedAt) continue;
      if (row.expiresAt && row.expiresAt.getTime() <= now) ends.set(row.id, 'expired');
      else ends.delete(row.id);
    }
    let closed = 0;
    for (const [id, why] of ends) {
      // Holders in order: sockets first, as a socket closed with 4403 tells the client why, where
      // a completed subscription would look like a normal end.
      let ended = 0;
      for (const holder of this.holders) ended += holder.closeFor(id, why);
      if (ended > 0) this.log.info({ tokenId: id, ended }, `token ${why}: closed what it had open`);
      closed += ended;
    }
    return closed;
  }
}
