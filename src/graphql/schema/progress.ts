import type { LiveEvent } from '../../live/feeds.js';
import { runIdArgument } from '../../runs/ids.js';
import type { Run } from '../../runs/store/index.js';
import { builder } from '../builder.js';
import { RunStatusEnum } from './enums.js';
import { RunType } from './run.js';
import { RunEventType } from './run-event.js';

// The run an event belongs to: live events carry the row read with them; timeline entries load it,
// batched per operation (one query for a page of events).
builder.objectField(RunEventType, 'run', (t) =>
  t.field({
    type: RunType,
    resolve: (event, _args, ctx) => (event as Partial<LiveEvent>).run ?? ctx.loadRun(event.runId),
  }),
);

const RunsChangedPayload = builder.objectRef<{ run: Run; seq: number }>('RunsChangedPayload').implement({
  fields: (t) => ({
    run: t.field({ type: RunType, resolve: (p) => p.run }),
    seq: t.exposeInt('seq', { description: "The run's latest event seq when it was read." }),
  }),
});

builder.subscriptionFields((t) => ({
  runProgress: t.field({
    type: RunEventType,
    description:
      "The run's events in seq order: those after afterSeq already stored, then live ones, with no gap or duplicate. " +
      'Without afterSeq it starts with the current state as one SNAPSHOT event. Completes after the event that ' +
      'puts the run in a final state.',
    args: {
      runId: t.arg.id({ required: true }),
      afterSeq: t.arg.int({ description: 'Resume after this seq (the last one you received).' }),
    },
    subscribe: (_root, args, ctx) =>
      ctx.services.live.runProgress(
        runIdArgument('runId', String(args.runId)),
        args.afterSeq ?? null,
        ctx.principal,
      ),
    resolve: (event) => event as LiveEvent,
  }),
  runsChanged: t.field({
    type: RunsChangedPayload,
    description:
      'One message per change of any matching run (latest state; a slow reader gets changes coalesced per run).',
    args: {
      projectId: t.arg.string(),
      status: t.arg({ type: [RunStatusEnum] }),
    },
    subscribe: (_root, args, ctx) =>
      ctx.services.live.runsChanged({ projectId: args.projectId, status: args.status }, ctx.principal),
    resolve: (payload) => payload as { run: Run; seq: number },
  }),
}));
