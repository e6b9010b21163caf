import type { PushTarget } from '../runs/store/find-runs-by-conversation.js';
import type { Semaphore } from './serial.js';

/** Conversations per look-up statement. */
const MAX_BATCH = 500;

interface Waiting {
  resolve: (targets: PushTarget[]) => void;
  reject: (error: unknown) => void;
}

/**
 * Finds the runs behind pushed conversations, many conversations per statement. Every push needs
 * this look-up, and a burst of pushes (thousands of sandboxes starting at once, most of them before
 * their runs know their conversation ids) would otherwise be one query each, queued for the push
 * connections while pushes for running runs wait behind them (bench/RESULTS.md, issue 13). Look-ups
 * that arrive while the connections are busy are gathered and answered by the next statement; an
 * idle replica still sends each one at once.
 */
export class ConversationLookup {
  /** By conversation id (32 hex): the spellings pushed for it and the pushes waiting for its runs. */
  private readonly pending = new Map<string, { spellings: Set<string>; waiting: Waiting[] }>();
  private queued = false;

  constructor(
    private readonly find: (conversationIds: string[]) => Promise<PushTarget[]>,
    private readonly slots: Semaphore,
    private readonly maxBatch = MAX_BATCH,
  ) {}

  /** The runs that follow this conversation (dashed or not). */
  runsOf(conversationId: string): Promise<PushTarget[]> {
    const key = hexOf(conversationId);
    return new Promise<PushTarget[]>((resolve, reject) => {
      const entry = this.pending.get(key) ?? { spellings: new Set<string>(), waiting: [] };
      this.pending.set(key, entry);
      for (const spelling of spellings(conversationId)) entry.spellings.add(spelling);
      entry.waiting.push({ resolve, reject });
      this.queue();
    });
  }

  /** One statement waits for a connection at a time; what arrives meanwhile joins it. */
  private queue(): void {
    if (this.queued) return;
    this.queued = true;
    void this.slots.run(async () => {
      this.queued = false;
      const batch = new Map<string, { spellings: Set<string>; waiting: Waiting[] }>();
      for (const [key, entry] of this.pending) {
        if (batch.size >= this.maxBatch) break;
        batch.set(key, entry);
      }
      for (const key of batch.keys()) this.pending.delete(key);
      if (this.pending.size > 0) this.queue();
      try {
        const rows = await this.find([...batch.values()].flatMap((entry) => [...entry.spellings]));
        const byConversation = new Map<string, PushTarget[]>();
        for (const row of rows) {
          const key = hexOf(row.conversationId);
          byConversation.set(key, [...(byConversation.get(key) ?? []), row]);
        }
        for (const [key, entry] of batch) {
          for (const w of entry.waiting) w.resolve(byConversation.get(key) ?? []);
        }
      } catch (error) {
        for (const entry of batch.values()) for (const w of entry.waiting) w.reject(error);
      }
    });
  }
}

function hexOf(conversationId: string): string {
  return conversationId.replaceAll('-', '').toLowerCase();
}

/** V1 parses conversation ids as UUIDs: 32 hex and the dashed form name the same conversation. */
export function spellings(conversationId: string): string[] {
  const hex = hexOf(conversationId);
  const dashed = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  return [...new Set([hex, dashed, conversationId])];
}
