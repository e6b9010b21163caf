import { RUN_STATUSES } from '../../runs/status.js';
import { GIT_PROVIDERS } from '../../runs/validation.js';
import { builder } from '../builder.js';

export const RunStatusEnum = builder.enumType('RunStatus', {
  description:
    'QUEUED → STARTING → RUNNING (⇄ AWAITING_INPUT) → COMPLETED | FAILED | CANCELLED | TIMED_OUT. The last four are final.',
  values: RUN_STATUSES,
});

export const GitProviderEnum = builder.enumType('GitProvider', { values: GIT_PROVIDERS });
