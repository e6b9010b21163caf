/**
 * Reads what an agent server pushes (shared/openhands-api.md, "Agent-server webhooks") into the
 * same terms as a V1 poll: a batch of events (the shapes events search returns) or one
 * ConversationInfo becomes a Snapshot through the V1 mapping (`fromV1Conversation`), so pushed and
 * polled state go through one lifecycle. Pure.
 */

import { type ActivityItem, MAX_MESSAGE_CHARS } from '../runs/activity.js';
import { findPullRequests } from '../runs/pull-requests.js';
import type { Observation, Snapshot } from '../runs/upstream.js';
import { v1Activity, v1MessageText } from './activity.js';
import { activityPhase, fromV1Conversation } from './progress.js';
import type { V1Event } from './types.js';
import { type Cursor, readCursor } from './v1.js';

/** A pushed execution_status with its normalised timestamp (see `normalizeTimestamp`). */
export interface PushedStatus {
  value: string;
  at: string;
  eventId: string | null;
}

/** One push, read. */
export interface PushedState {
  /** The newest execution_status the push carries, if any. */
  status?: PushedStatus;
  /** Status events in the push (a ConversationInfo counts as one). */
  statusEvents: number;
  /** Events of any kind (0 for a ConversationInfo). */
  newEvents: number;
  activity?: string;
  finalMessage?: string;
  pullRequests: Snapshot['pullRequests'];
  /** Messages and actions: the conversation's activity, stored in the run's event log. */
  activityEvents: V1Event[];
  /**
   * The agent's last event in the push, and its last message: a `finished` after a plain message
   * is a question (AWAITING_INPUT), after a finish action the end.
   */
  lastAgent?: 'message' | 'finish' | 'action';
  lastMessage?: string;
}

const STAMP = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})?$/i;

/**
 * An agent-server timestamp as fixed-width UTC text with microseconds ("2026-01-02T03:04:05.123456Z"),
 * so that text order is time order. The agent server writes naive ISO times with microseconds
 * (UTC); ConversationInfo's updated_at may carry an offset. Undefined when unreadable.
 */
export function normalizeTimestamp(text: unknown): string | undefined {
  if (typeof text !== 'string') return undefined;
  const m = STAMP.exec(text.trim());
  if (!m) return undefined;
  const zone = !m[4] || m[4].toUpperCase() === 'Z' ? 'Z' : m[4].replace(/^([+-]\d{2})(\d{2})$/, '$1:$2');
  const seconds = Date.parse(`${m[1]}T${m[2]}${zone}`);
  if (Number.isNaN(seconds)) return undefined;
  const micros = (m[3] ?? '').padEnd(6, '0').slice(0, 6);
  return `${new Date(seconds).toISOString().slice(0, 19)}.${micros}Z`;
}

/** The execution_status an event sets, if it is a state update that sets one. */
function statusOf(event: V1Event): string | undefined {
  if (event.kind !== 'ConversationStateUpdateEvent') return undefined;
  if (event.key === 'execution_status' && typeof event.value === 'string') return event.value;
  // The first update a subscriber gets is the full state, execution_status among its fields.
  const full = event.value as { execution_status?: unknown } | null;
  if (event.key === 'full_state' && typeof full?.execution_status === 'string') return full.execution_status;
  return undefined;
}

function isActivity(event: V1Event): boolean {
  return event.kind === 'MessageEvent' || event.kind === 'ActionEvent';
}

/** A batch of pushed events, oldest first by timestamp (batches may come late and out of order). */
export function readPushedEvents(events: V1Event[], receivedAt: Date): PushedState {
  const stamped = events.map((event) => ({
    event,
    at: normalizeTimestamp(event.timestamp) ?? normalizeTimestamp(receivedAt.toISOString())!,
  }));
  stamped.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  const state: PushedState = {
    statusEvents: 0,
    newEvents: events.length,
    pullRequests: [],
    activityEvents: [],
  };
  const texts: string[] = [];
  for (const { event, at } of stamped) {
    const status = statusOf(event);
    if (status !== undefined) {
      state.statusEvents++;
      state.status = { value: status, at, eventId: typeof event.id === 'string' ? event.id : null };
      continue;
    }
    if (isActivity(event)) state.activityEvents.push(event);
    if (event.source === 'user') continue; // the prompt may quote other PRs
    texts.push(JSON.stringify(event));
    if (event.kind === 'ActionEvent') {
      state.activity = activityPhase(event.tool_name ?? event.action?.kind) ?? state.activity;
      state.lastAgent = 'action';
      if (event.tool_name === 'finish' || event.action?.kind === 'FinishAction') {
        state.lastAgent = 'finish';
        if (typeof event.action?.message === 'string') state.finalMessage = event.action.message;
      }
    } else if (event.kind === 'MessageEvent' && event.source === 'agent') {
      const text = v1MessageText(event);
      if (text) {
        state.finalMessage = text;
        state.lastAgent = 'message';
        state.lastMessage = text.slice(0, MAX_MESSAGE_CHARS);
      }
    }
  }
  state.pullRequests = findPullRequests(texts.join('\n'));
  return state;
}

/** A pushed ConversationInfo: its execution_status, stamped with its updated_at. */
export function readPushedConversation(
  info: { id: string; execution_status?: unknown; updated_at?: unknown },
  receivedAt: Date,
): PushedState {
  const state: PushedState = { statusEvents: 0, newEvents: 0, pullRequests: [], activityEvents: [] };
  if (typeof info.execution_status !== 'string') return state;
  state.statusEvents = 1;
  state.status = {
    value: info.execution_status,
    at: normalizeTimestamp(info.updated_at) ?? normalizeTimestamp(receivedAt.toISOString())!,
    eventId: null,
  };
  return state;
}

/**
 * Several pushes about one run, read as one (they are written in one transaction, see
 * src/push/serial.ts): the newest status wins, the rest adds up in arrival order.
 */
export function mergePushedStates(states: PushedState[]): PushedState {
  if (states.length === 1) return states[0];
  const merged: PushedState = { statusEvents: 0, newEvents: 0, pullRequests: [], activityEvents: [] };
  for (const state of states) {
    if (state.status && (!merged.status || state.status.at > merged.status.at)) merged.status = state.status;
    merged.statusEvents += state.statusEvents;
    merged.newEvents += state.newEvents;
    merged.activity = state.activity ?? merged.activity;
    merged.finalMessage = state.finalMessage ?? merged.finalMessage;
    merged.lastAgent = state.lastAgent ?? merged.lastAgent;
    merged.lastMessage = state.lastMessage ?? merged.lastMessage;
    for (const pr of state.pullRequests) {
      if (!merged.pullRequests.some((p) => p.url === pr.url)) merged.pullRequests.push(pr);
    }
    merged.activityEvents.push(...state.activityEvents);
  }
  return merged;
}

/**
 * Whether the push's status can be applied on what the push itself says. A `finished` means the end
 * only when the agent's turn ended with a finish action, and a question when it ended with a plain
 * message; when the push does not carry that turn (it came earlier, perhaps before the runner knew
 * the conversation, and was ignored), the poller reads the events instead of guessing.
 */
export function decidesAlone(state: PushedState): boolean {
  return state.status?.value !== 'finished' || state.lastAgent !== undefined;
}

/** What the V1 driver's cursor remembers of the agent's last turn (a push updates it too). */
type TurnMemory = Pick<Cursor, 'lastAgent' | 'lastMessage' | 'finalText'>;

/**
 * The push as a poll's Snapshot. `useStatus` says whether the pushed status is newer than what the
 * run already applied (src/runs/lifecycle-push.ts); when it is not, or the push has none, the run's
 * last reading stands. An agent server only pushes while its sandbox runs. Its own execution_status
 * is no app-server read that may blip around a resume, so it is believed at once (not `suspect`).
 *
 * The agent's last turn (a question or the end) may have come in an earlier push or poll than the
 * `finished` status: it is kept in the driver's cursor, which the poller and pushes both update, so
 * a `finished` after a question parks the run AWAITING_INPUT either way.
 */
export function pushedSnapshot(
  state: PushedState,
  run: {
    status: Observation['status'];
    percent: number;
    phase: string;
    upstreamStatus: string | null;
    upstreamEventCount: number;
    eventCursor: string | null;
    repository: string | null;
  },
  useStatus: boolean,
): Snapshot {
  const steps = run.upstreamEventCount;
  const cursor = readCursor(run.eventCursor);
  const lastAgent = state.lastAgent ?? cursor.lastAgent;
  const lastMessage = state.lastMessage ?? cursor.lastMessage;
  const endedWithMessage = lastAgent === 'message';
  const observation =
    useStatus && state.status
      ? {
          ...fromV1Conversation(
            { sandbox_status: 'RUNNING', execution_status: state.status.value },
            steps,
            endedWithMessage,
          ),
          suspect: false,
        }
      : // No newer status: the run's status stands (its last reading may be older than this push,
        // and the push's agent events alone do not say whether the agent still works).
        { status: run.status, percent: run.percent, phase: run.phase, upstream: run.upstreamStatus ?? '' };
  const activity = state.activityEvents
    .map((event) => v1Activity(event, run.repository))
    .filter((item): item is ActivityItem => item !== undefined);
  const remembered: TurnMemory | undefined = state.lastAgent
    ? {
        lastAgent: state.lastAgent,
        lastMessage,
        finalText: state.finalMessage?.slice(0, MAX_MESSAGE_CHARS) ?? cursor.finalText,
      }
    : undefined;
  return {
    observation,
    agentSteps: steps,
    newEvents: state.newEvents,
    pullRequests: state.pullRequests,
    finalMessage: state.finalMessage,
    ...(state.lastAgent === 'finish' && state.finalMessage ? { finalIsFinish: true } : {}),
    doing: state.activity,
    ...(activity.length > 0 ? { activity } : {}),
    ...(lastMessage && endedWithMessage ? { question: lastMessage } : {}),
    ...(remembered ? { eventCursor: JSON.stringify({ ...cursor, ...remembered }) } : {}),
  };
}
