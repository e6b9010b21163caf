/**
 * What the agent did, as events in the run's log (AGENT_MESSAGE, AGENT_ACTION, AGENT_OBSERVATION).
 * Pure rules: how long a message may be, which text looks like a secret, and how many activity events
 * one run keeps. The store applies them on the locked row (src/runs/store/append-activity.ts).
 */
import type { Prisma } from '../generated/prisma/client.js';

export type ActivityType = 'AGENT_MESSAGE' | 'AGENT_ACTION' | 'AGENT_OBSERVATION';

/** One upstream event worth showing, keyed by the upstream event id (stored once per run). */
export interface ActivityItem {
  upstreamId: string;
  type: ActivityType;
  message: string;
  data?: Record<string, unknown>;
}

/** An activity event ready to store: bounded and masked. */
export interface ActivityEvent {
  upstreamId: string | null;
  type: string;
  message: string | null;
  data?: Prisma.InputJsonValue;
}

export const MAX_MESSAGE_CHARS = 4_000;
export const MAX_ACTIVITY_EVENTS = 2_000;

// Likely secrets: forge tokens, API keys, bearer values and password assignments.
const SECRET_PATTERNS: Array<[RegExp, string]> = [
  [/\b(gh[pousr]_)[A-Za-z0-9]{16,}/g, '$1***'],
  [/\b(github_pat_)[A-Za-z0-9_]{20,}/g, '$1***'],
  [/\b(glpat-)[A-Za-z0-9_-]{16,}/g, '$1***'],
  [/\b(sk-)[A-Za-z0-9_-]{16,}/g, '$1***'],
  [/\b(Bearer\s+)[A-Za-z0-9._~+/=-]{8,}/gi, '$1***'],
  [/\b(password\s*[=:]\s*)("[^"]*"|'[^']*'|[^\s&"']+)/gi, '$1***'],
];

/** Replaces what looks like a secret with its prefix and `***`. */
export function maskSecrets(text: string): string {
  let masked = text;
  for (const [pattern, replacement] of SECRET_PATTERNS) masked = masked.replace(pattern, replacement);
  return masked;
}

/** Masks and cuts a message to MAX_MESSAGE_CHARS; a cut message says so in its data. */
export function boundMessage(text: string): { message: string; cut?: { truncated: true; length: number } } {
  const masked = maskSecrets(text);
  if (masked.length <= MAX_MESSAGE_CHARS) return { message: masked };
  return { message: masked.slice(0, MAX_MESSAGE_CHARS), cut: { truncated: true, length: masked.length } };
}

/** One activity item as it will be stored. */
export function toActivityEvent(item: ActivityItem): ActivityEvent {
  const { message, cut } = boundMessage(item.message);
  const data = maskData({ ...(item.data ?? {}), ...(cut ?? {}) });
  return {
    upstreamId: item.upstreamId,
    type: item.type,
    message,
    data: Object.keys(data).length > 0 ? (data as Prisma.InputJsonValue) : undefined,
  };
}

function maskData(data: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(data)) {
    if (value === undefined) continue;
    out[key] = typeof value === 'string' ? boundMessage(value).message : value;
  }
  return out;
}

/**
 * Which of the new (not yet stored) items a run keeps, given how many activity events it already
 * counted: up to MAX_ACTIVITY_EVENTS are stored, later ones only counted, and the first item over the
 * cap adds one ACTIVITY_TRUNCATED event.
 */
export function admitActivity(
  counted: number,
  fresh: ActivityItem[],
  cap = MAX_ACTIVITY_EVENTS,
): { events: ActivityEvent[]; counted: number } {
  const room = Math.max(0, cap - counted);
  const events = fresh.slice(0, room).map(toActivityEvent);
  if (counted <= cap && counted + fresh.length > cap) {
    events.push({
      upstreamId: null,
      type: 'ACTIVITY_TRUNCATED',
      message: `More than ${cap} agent events: later ones are counted, not stored`,
      data: { limit: cap },
    });
  }
  return { events, counted: counted + fresh.length };
}
