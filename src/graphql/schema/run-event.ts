import { DESCRIPTIONS } from '../../api/descriptions.js';
import { sizedFieldCost } from '../../limits/graphql.js';
import { builder } from '../builder.js';
import { RunStatusEnum } from './enums.js';

/**
 * What an event's message and data weigh in the query cost. Nothing caps them on write: the service
 * writes them itself from small structured values (pull request, upstream state), so this is a
 * generous bound rather than an enforced limit.
 */
const EVENT_FIELD_BYTES = 16 * 1024;

/** One entry of a run's timeline; `seq` counts 1, 2, 3 … per run with no gaps. */
export const RunEventType = builder.prismaObject('RunEvent', {
  description: DESCRIPTIONS.runEvent,
  fields: (t) => ({
    seq: t.exposeInt('seq'),
    type: t.exposeString('type', { description: DESCRIPTIONS.eventType }),
    status: t.expose('status', { type: RunStatusEnum }),
    percent: t.exposeInt('percent'),
    phase: t.exposeString('phase'),
    message: t.exposeString('message', { nullable: true, extensions: sizedFieldCost(EVENT_FIELD_BYTES) }),
    data: t.expose('data', { type: 'JSON', nullable: true, extensions: sizedFieldCost(EVENT_FIELD_BYTES) }),
    at: t.expose('at', { type: 'DateTime' }),
  }),
});
