import type { RunStatus } from '../generated/prisma/enums.js';

export type { RunStatus };

export const RUN_STATUSES = [
  'QUEUED',
  'STARTING',
  'RUNNING',
  'AWAITING_INPUT',
  'COMPLETED',
  'FAILED',
  'CANCELLED',
  'TIMED_OUT',
] as const satisfies readonly RunStatus[];

export const FINAL_STATUSES: readonly RunStatus[] = ['COMPLETED', 'FAILED', 'CANCELLED', 'TIMED_OUT'];
/** Statuses that hold an OpenHands conversation (they count against MAX_ACTIVE_RUNS). */
export const UPSTREAM_ACTIVE_STATUSES: readonly RunStatus[] = ['STARTING', 'RUNNING', 'AWAITING_INPUT'];

export function isFinal(status: RunStatus): boolean {
  return FINAL_STATUSES.includes(status);
}

/** SQL list literal of statuses; built from the constants above, never from input. */
export function sqlStatusList(statuses: readonly RunStatus[]): string {
  return statuses.map((s) => `'${s}'`).join(', ');
}
