import { builder } from '../builder.js';
import { RunStatusEnum } from './enums.js';

/** One entry of a run's timeline; `seq` counts 1, 2, 3 … per run with no gaps. */
export const RunEventType = builder.prismaObject('RunEvent', {
  description: "One entry of a run's timeline; seq counts 1, 2, 3 … per run with no gaps.",
  fields: (t) => ({
    seq: t.exposeInt('seq'),
    type: t.exposeString('type', {
      description: 'CREATED, STATUS_CHANGED, PROGRESS, PULL_REQUEST, UPSTREAM_FAULT, …',
    }),
    status: t.expose('status', { type: RunStatusEnum }),
    percent: t.exposeInt('percent'),
    phase: t.exposeString('phase'),
    message: t.exposeString('message', { nullable: true }),
    data: t.expose('data', { type: 'JSON', nullable: true }),
    at: t.expose('at', { type: 'DateTime' }),
  }),
});
