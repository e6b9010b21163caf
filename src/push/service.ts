/**
 * Applies what OpenHands agent servers push (routes in ./routes.ts). A push is turned into the
 * same Snapshot a V1 poll produces (src/openhands/push.ts) and decided by the same lifecycle
 * (src/runs/lifecycle-push.ts → `observed`) on the locked run, through `RunStore.transition`: by the
 * time `receive…` returns, the change is committed, in the run's event log and announced (NOTIFY, in
 * the transaction), so a subscriber on any replica sees it right after the POST is answered.
 *
 * Idempotency and order: a run keeps the timestamp of the newest pushed execution_status it applied
 * (`pushStatusAt`). A status stamped no later than that — a retried batch, an older batch arriving
 * late — changes nothing; so each status event is applied at most once, and an older status never
 * overwrites a newer one. (A per-run timestamp rather than a table of event ids: status is a single
 * value per run, so the newest timestamp is all that decides it, at one column instead of a row per
 * event.)
 */
import type { Logger } from '../logger.js';
import {
  type PushedState,
  pushedSnapshot,
  readPushedConversation,
  readPushedEvents,
} from '../openhands/push.js';
import { sessionKeyMatches } from '../openhands/session-key.js';
import type { V1Event } from '../openhands/types.js';
import type { LifecycleRules } from '../runs/lifecycle.js';
import { isNewerStatus, pushed, type ReconcileRules } from '../runs/lifecycle-push.js';
import type { Run, RunStore } from '../runs/store/index.js';

/** What happened to each event of a push (metrics: openhands_push_events_total). */
export type EventOutcome = 'applied' | 'duplicate' | 'stale' | 'activity' | 'ignored';

export type PushReceipt =
  | { kind: 'applied'; runIds: string[]; counts: Record<EventOutcome, number> }
  | { kind: 'rejected'; reason: 'session_key'; message: string };

/**
 * Where pushed activity (agent messages and actions) goes. Until the conversation's activity log
 * (issue 12) is connected here, pushed activity only moves the phase and is otherwise read by the
 * reconciliation poll.
 */
export type ActivitySink = (run: Run, events: V1Event[]) => Promise<void>;

export interface PushServiceOptions {
  rules: LifecycleRules & ReconcileRules;
  onEvents?: (outcome: EventOutcome, count: number) => void;
  ingestActivity?: ActivitySink;
}

export class PushService {
  private readonly log: Logger;

  constructor(
    private readonly store: RunStore,
    private readonly options: PushServiceOptions,
    log: Logger,
  ) {
    this.log = log.child({ component: 'push' });
  }

  /** POST /openhands/events/{conversationId}: a batch of the conversation's events. */
  receiveEvents(conversationId: string, events: V1Event[], sessionKey: string | undefined) {
    const now = new Date();
    return this.apply(conversationId, readPushedEvents(events, now), sessionKey, now);
  }

  /** POST /openhands/conversations: one ConversationInfo. */
  receiveConversation(info: { id: string }, sessionKey: string | undefined) {
    const now = new Date();
    return this.apply(info.id, readPushedConversation(info, now), sessionKey, now);
  }

  private async apply(
    conversationId: string,
    state: PushedState,
    sessionKey: string | undefined,
    now: Date,
  ): Promise<PushReceipt> {
    const counts = emptyCounts();
    const targets = await this.store.findRunsByConversation(spellings(conversationId));
    if (targets.length === 0) {
      counts.ignored = Math.max(state.newEvents, state.statusEvents);
      return this.done([], counts);
    }
    // Only when both sides know the sandbox's key: a push without the header (the operator's
    // configuration sends only the bearer secret) is still accepted.
    if (sessionKey !== undefined) {
      const wrong = targets.find((t) => t.sessionKeyHash && !sessionKeyMatches(sessionKey, t.sessionKeyHash));
      if (wrong) {
        return {
          kind: 'rejected',
          reason: 'session_key',
          message: 'X-Session-API-Key does not match the conversation',
        };
      }
    }
    for (const target of targets) {
      const result = await this.store.transition(target.id, (run) => {
        const fresh = state.status !== undefined && isNewerStatus(state.status.at, run.pushStatusAt);
        tally(counts, state, run, fresh);
        const snapshot = pushedSnapshot(state, run, fresh);
        return pushed(
          run,
          { snapshot, statusAt: fresh ? state.status?.at : undefined },
          this.options.rules,
          now,
        );
      });
      // The one place pushed messages and actions are handed on (issue 12's activity log, once merged).
      if (result && state.activityEvents.length > 0 && this.options.ingestActivity) {
        await this.options.ingestActivity(result.run, state.activityEvents);
      }
    }
    return this.done(
      targets.map((t) => t.id),
      counts,
    );
  }

  private done(runIds: string[], counts: Record<EventOutcome, number>): PushReceipt {
    for (const [outcome, count] of Object.entries(counts) as Array<[EventOutcome, number]>) {
      if (count > 0) this.options.onEvents?.(outcome, count);
    }
    if (counts.applied > 0) this.log.debug({ runIds, counts }, 'pushed status applied');
    return { kind: 'applied', runIds, counts };
  }
}

function emptyCounts(): Record<EventOutcome, number> {
  return { applied: 0, duplicate: 0, stale: 0, activity: 0, ignored: 0 };
}

/**
 * Counts each event of the push once (the decision may be re-run only for a second run of the same
 * conversation, which does not happen in practice): the newest status is applied, a duplicate of
 * the one applied last, or stale; older statuses in the same push are stale; the rest is activity.
 */
function tally(counts: Record<EventOutcome, number>, state: PushedState, run: Run, fresh: boolean): void {
  if (counts.applied + counts.duplicate + counts.stale + counts.activity > 0) return;
  counts.activity = state.newEvents - (state.newEvents > 0 ? state.statusEvents : 0);
  if (!state.status) return;
  const newest = fresh ? 'applied' : state.status.at === run.pushStatusAt ? 'duplicate' : 'stale';
  counts[newest] += 1;
  counts.stale += state.statusEvents - 1;
}

/** V1 parses conversation ids as UUIDs: 32 hex and the dashed form name the same conversation. */
export function spellings(conversationId: string): string[] {
  const hex = conversationId.replaceAll('-', '').toLowerCase();
  const dashed = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  return [...new Set([hex, dashed, conversationId])];
}

const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

export function isConversationId(text: string): boolean {
  return UUID.test(text);
}
