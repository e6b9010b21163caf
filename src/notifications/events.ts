import { isFinal, type RunStatus } from '../runs/status.js';
import type { RunEvent } from '../runs/store/index.js';
import type { NotificationType } from './types.js';

const ON_STATUS: Partial<Record<RunStatus, NotificationType>> = {
  AWAITING_INPUT: 'RUN_AWAITING_INPUT',
  COMPLETED: 'RUN_COMPLETED',
  FAILED: 'RUN_FAILED',
  CANCELLED: 'RUN_CANCELLED',
  TIMED_OUT: 'RUN_TIMED_OUT',
};

/**
 * The notifications one appended event causes (usually none). RUN_STARTED is sent when a run leaves
 * QUEUED for an active status (STARTING: the conversation exists on OpenHands); RUN_AWAITING_INPUT
 * each time it enters AWAITING_INPUT; the final statuses once. A pull request opened, updated or
 * closed is PULL_REQUEST_CHANGED — also when the same event completes the run (then both are sent).
 */
export function notificationTypes(statusBefore: RunStatus, event: RunEvent): NotificationType[] {
  const types: NotificationType[] = [];
  const after = event.status;
  if (after !== statusBefore) {
    if (statusBefore === 'QUEUED' && !isFinal(after)) types.push('RUN_STARTED');
    const onStatus = ON_STATUS[after];
    if (onStatus) types.push(onStatus);
  }
  if (event.type === 'PULL_REQUEST' || event.type === 'PULL_REQUEST_UPDATED')
    types.push('PULL_REQUEST_CHANGED');
  return types;
}
