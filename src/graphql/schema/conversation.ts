/** The agent conversation: Run.question, Run.outcome and sendRunMessage (docs/graphql.md). */
import { DESCRIPTIONS } from '../../api/descriptions.js';
import { runIdArgument } from '../../runs/ids.js';
import type { Run, RunEvent } from '../../runs/store/index.js';
import type { FileChange, Outcome } from '../../runs/upstream.js';
import { builder } from '../builder.js';
import { RunType } from './run.js';
import { RunEventType } from './run-event.js';

type StoredOutcome = Outcome & { fetchedAt: string };

const FileChangeEnum = builder.enumType('FileChange', {
  values: ['ADDED', 'MODIFIED', 'DELETED', 'RENAMED'] as const,
});

const ChangedFileType = builder.objectRef<{ path: string; change: FileChange }>('ChangedFile').implement({
  fields: (t) => ({
    path: t.exposeString('path', { description: 'Relative to the repository.' }),
    change: t.field({ type: FileChangeEnum, resolve: (file) => file.change }),
  }),
});

const RunOutcomeType = builder.objectRef<StoredOutcome>('RunOutcome').implement({
  fields: (t) => ({
    summary: t.string({
      nullable: true,
      description: "The agent's final answer: its finish message, else its last message.",
      resolve: (outcome) => outcome.summary,
    }),
    changedFiles: t.field({
      type: [ChangedFileType],
      nullable: true,
      description: 'Null when OpenHands could not say.',
      resolve: (outcome) => outcome.changedFiles,
    }),
    fetchedAt: t.field({ type: 'DateTime', resolve: (outcome) => new Date(outcome.fetchedAt) }),
  }),
});

builder.objectField(RunType, 'question', (t) =>
  t.exposeString('question', { nullable: true, description: DESCRIPTIONS.question }),
);

builder.objectField(RunType, 'outcome', (t) =>
  t.field({
    type: RunOutcomeType,
    nullable: true,
    description: DESCRIPTIONS.outcome,
    resolve: (run) => (run.outcome as StoredOutcome | null) ?? null,
  }),
);

const SendRunMessageInput = builder.inputType('SendRunMessageInput', {
  fields: (t) => ({
    runId: t.id({ required: true }),
    text: t.string({ required: true, description: '1 to 100,000 characters.' }),
    idempotencyKey: t.string({ description: 'Same key on the same run → the same message, sent once.' }),
  }),
});

const SendRunMessagePayload = builder
  .objectRef<{ run: Run; event: RunEvent }>('SendRunMessagePayload')
  .implement({
    fields: (t) => ({
      run: t.field({ type: RunType, resolve: (p) => p.run }),
      event: t.field({ type: RunEventType, description: 'The USER_MESSAGE event.', resolve: (p) => p.event }),
    }),
  });

builder.mutationFields((t) => ({
  sendRunMessage: t.field({
    type: SendRunMessagePayload,
    description: DESCRIPTIONS.sendRunMessage,
    args: { input: t.arg({ type: SendRunMessageInput, required: true }) },
    resolve: (_root, { input }, ctx) =>
      ctx.services.runs.sendMessage(runIdArgument('runId', String(input.runId)), input, ctx.principal),
  }),
}));
