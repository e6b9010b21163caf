import { DESCRIPTIONS } from '../../api/descriptions.js';
import { RUN_STATUSES } from '../../runs/status.js';
import { GIT_PROVIDERS } from '../../runs/validation.js';
import { builder } from '../builder.js';

export const RunStatusEnum = builder.enumType('RunStatus', {
  description: DESCRIPTIONS.runStatus,
  values: RUN_STATUSES,
});

export const GitProviderEnum = builder.enumType('GitProvider', { values: GIT_PROVIDERS });
