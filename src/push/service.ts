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
  decidesAlone,
  mergePushedStates,
  type PushedState,
  pushedSnapshot,
  readPushedConversation,
  readPushedEvents,
} from '../openhands/push.js';
import { sessionKeyMatches } from '../openhands/session-key.js';
import type { V1Event } from '../openhands/types.js';
import type { LifecycleRules } from '../runs/lifecycle.js';
import { isNewerStatus, pushed, type ReconcileRules } from '../runs/lifecycle-push.js';
import { isFinal } from '../runs/status.js';
import type { Run, RunStore } from '../runs/store/index.js';
import { ConversationLookup } from './lookup.js';
import { PushCoalescer, Semaphore } from './serial.js';

/** What happened to each event of a push (metrics: openhands_push_events_total). */
export type EventOutcome = 'applied' | 'duplicate' | 'stale' | 'activity' | 'ignored';
type Counts = Record<EventOutcome, number>;

export type PushReceipt =
  | { kind: 'applied'; runIds: string[]; counts: Counts }
  | { kind: 'rejected'; reason: 'session_key'; message: string };

export interface PushServiceOptions {
  rules: LifecycleRules & ReconcileRules;
  /** Database connections pushes hold at once on this replica (the rest wait without one). */
  concurrency?: number;
  onEvents?: (outcome: EventOutcome, count: number) => void;
}

export class PushService {
  private readonly log: Logger;
  private readonly writer: PushCoalescer<PushedState, Map<PushedState, Counts>>;
  private readonly slots: Semaphore;
  private readonly lookup: ConversationLookup;

  constructor(
    private readonly store: RunStore,
    private readonly options: PushServiceOptions,
    log: Logger,
  ) {
    this.log = log.child({ component: 'push' });
    this.slots = new Semaphore(options.concurrency ?? 4);
    this.writer = new PushCoalescer((runId, states) => this.write(runId, states), this.slots);
    this.lookup = new ConversationLookup(this.store.findRunsByConversation, this.slots);
  }

  /** POST /openhands/events/{conversationId}: a batch of the conversation's events. */
  receiveEvents(conversationId: string, events: V1Event[], sessionKey: string | undefined) {
    return this.apply(conversationId, readPushedEvents(events, new Date()), sessionKey);
  }

  /** POST /openhands/conversations: one ConversationInfo. */
  receiveConversation(info: { id: string }, sessionKey: string | undefined) {
    return this.apply(info.id, readPushedConversation(info, new Date()), sessionKey);
  }

  private async apply(
    conversationId: string,
    state: PushedState,
    sessionKey: string | undefined,
  ): Promise<PushReceipt> {
    const targets = await this.lookup.runsOf(conversationId);
    if (targets.length === 0) {
      const counts = emptyCounts();
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
    let counts: Counts | undefined;
    for (const target of targets) {
      const outcomes = await this.writer.submit(target.id, state);
      counts ??= outcomes.get(state);
    }
    return this.done(
      targets.map((t) => t.id),
      counts ?? emptyCounts(),
    );
  }

  /** One transaction for the pushes of one run that arrived together; each push's counts. */
  private async write(runId: string, states: PushedState[]): Promise<Map<PushedState, Counts>> {
    const merged = mergePushedStates(states);
    const outcomes = new Map<PushedState, Counts>();
    const now = new Date();
    // Pushed messages and actions are in the snapshot: stored with the change, once per event id.
    await this.store.transition(runId, (run) => {
      const fresh = merged.status !== undefined && isNewerStatus(merged.status.at, run.pushStatusAt);
      // A run still working is read at once when the push cannot decide alone; a final run stays final.
      const readNow = fresh && !isFinal(run.status) && !decidesAlone(merged);
      const apply = fresh && !readNow;
      for (const state of states) outcomes.set(state, tally(state, merged, run, apply));
      const snapshot = pushedSnapshot(merged, run, apply);
      return pushed(
        run,
        { snapshot, statusAt: apply ? merged.status?.at : undefined, readNow },
        this.options.rules,
        now,
      );
    });
    return outcomes;
  }

  private done(runIds: string[], counts: Counts): PushReceipt {
    for (const [outcome, count] of Object.entries(counts) as Array<[EventOutcome, number]>) {
      if (count > 0) this.options.onEvents?.(outcome, count);
    }
    if (counts.applied > 0) this.log.debug({ runIds, counts }, 'pushed status applied');
    return { kind: 'applied', runIds, counts };
  }
}

function emptyCounts(): Counts {
  return { applied: 0, duplicate: 0, stale: 0, activity: 0, ignored: 0 };
}

/**
 * What became of one push's events, written together with others (`merged`): its newest status
 * was applied (the newest of all, and newer than the run's), a duplicate (the very status the run
 * applied last, or one as new as the status applied with it), or stale; older statuses in the same
 * push are stale; the other events are activity.
 */
function tally(state: PushedState, merged: PushedState, run: Run, fresh: boolean): Counts {
  const counts = emptyCounts();
  counts.activity = state.newEvents - (state.newEvents > 0 ? state.statusEvents : 0);
  if (!state.status) return counts;
  const { at } = state.status;
  const newest = merged.status;
  if (state.status === newest && fresh) counts.applied = 1;
  else if (at === run.pushStatusAt || (state.status !== newest && at === newest?.at)) counts.duplicate = 1;
  else counts.stale = 1;
  counts.stale += state.statusEvents - 1;
  return counts;
}
const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

export function isConversationId(text: string): boolean {
  return UUID.test(text);
}
