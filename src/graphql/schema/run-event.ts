import { DESCRIPTIONS } from '../../api/descriptions.js';
import { builder } from '../builder.js';
import { RunStatusEnum } from './enums.js';

/** One entry of a run's timeline; `seq` counts 1, 2, 3 … per run with no gaps. */
export const RunEventType = builder.prismaObject('RunEvent', {
  description: DESCRIPTIONS.runEvent,
  fields: (t) => ({
    seq: t.exposeInt('seq'),
    type: t.exposeString('type', { description: DESCRIPTIONS.eventType }),
    status: t.expose('status', { type: RunStatusEnum }),
    percent: t.exposeInt('percent'),
    phase: t.exposeString('phase'),
    message: t.exposeString('message', { nullable: true }),
    data: t.expose('data', { type: 'JSON', nullable: true }),
    at: t.expose('at', { type: 'DateTime' }),
  }),
});
