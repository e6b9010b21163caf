import { DESCRIPTIONS } from '../../api/descriptions.js';
import { badInput } from '../../errors.js';
import { sizedFieldCost } from '../../limits/graphql.js';
import { runIdArgument } from '../../runs/ids.js';
import type { Page, StartRunResult } from '../../runs/service.js';
import type { Run } from '../../runs/store/index.js';
import { type GitProvider, LIMITS } from '../../runs/validation.js';
import { builder } from '../builder.js';
import { readsColumns, runColumns } from '../run-columns.js';
import { GitProviderEnum, RunStatusEnum } from './enums.js';
import { RunEventType } from './run-event.js';

const RunErrorType = builder
  .objectRef<{ code: string; message: string; retryable: boolean }>('RunError')
  .implement({
    fields: (t) => ({
      code: t.exposeString('code', { description: DESCRIPTIONS.errorCode }),
      message: t.exposeString('message'),
      retryable: t.exposeBoolean('retryable', { description: DESCRIPTIONS.errorRetryable }),
    }),
  });

const PullRequestType = builder.objectRef<Run>('PullRequest').implement({
  fields: (t) => ({
    provider: t.string({ resolve: (run) => run.prProvider ?? 'GITHUB' }),
    url: t.string({ resolve: (run) => run.prUrl! }),
    number: t.int({ nullable: true, resolve: (run) => run.prNumber }),
    state: t.string({ description: DESCRIPTIONS.pullRequestState, resolve: (run) => run.prState ?? 'OPEN' }),
    headBranch: t.string({ nullable: true, resolve: (run) => run.prHeadBranch }),
    headSha: t.string({ nullable: true, resolve: (run) => run.prHeadSha }),
  }),
});

const OpenHandsStateType = builder.objectRef<Run>('OpenHandsState').implement({
  description: 'The raw upstream values, as OpenHands reported them.',
  fields: (t) => ({
    apiVersion: t.string({ nullable: true, description: 'v1 or v0', resolve: (run) => run.apiVersion }),
    startTaskId: t.string({ nullable: true, resolve: (run) => run.startTaskId }),
    conversationId: t.string({ nullable: true, resolve: (run) => run.conversationId }),
    sandboxId: t.string({ nullable: true, resolve: (run) => run.sandboxId }),
    status: t.string({
      nullable: true,
      description:
        'Last upstream state, e.g. "sandbox:RUNNING execution:running" (V1) or "status:RUNNING runtime:STATUS$READY agent:running" (V0).',
      resolve: (run) => run.upstreamStatus,
    }),
    statuses: t.field({
      type: 'JSON',
      nullable: true,
      description: 'The same state as an object, e.g. {"sandbox":"RUNNING","execution":"running"}.',
      resolve: (run) =>
        run.upstreamStatus
          ? Object.fromEntries(run.upstreamStatus.split(' ').map((pair) => pair.split(/:(.*)/s, 2)))
          : null,
    }),
    agentSteps: t.int({ resolve: (run) => run.upstreamEventCount }),
  }),
});

// Both connections page forward only (newest first for runs, seq order for events).
function forwardOnly(args: {
  first?: number | null;
  after?: string | null;
  last?: number | null;
  before?: string | null;
}) {
  if (args.last != null || args.before != null) {
    throw badInput(
      args.last != null ? 'last' : 'before',
      'Only forward pagination (first/after) is supported',
    );
  }
  return { first: args.first, after: args.after };
}

const totalCount = (page: object) => (page as Page<unknown>).totalCount();

export const RunType = builder.prismaObject('Run', {
  fields: (t) => ({
    id: t.exposeID('id'),
    projectId: t.exposeString('projectId'),
    // Large values weigh their size in the query cost and count towards GRAPHQL_MAX_RESPONSE_BYTES.
    compiledPrompt: t.exposeString('compiledPrompt', { extensions: sizedFieldCost(LIMITS.compiledPrompt) }),
    repository: t.exposeString('repository', { nullable: true }),
    branch: t.exposeString('branch', { nullable: true }),
    gitProvider: t.field({
      type: GitProviderEnum,
      nullable: true,
      resolve: (run) => run.gitProvider as GitProvider | null,
    }),
    metadata: t.expose('metadata', {
      type: 'JSON',
      nullable: true,
      extensions: sizedFieldCost(LIMITS.metadataBytes),
    }),
    idempotencyKey: t.exposeString('idempotencyKey', { nullable: true }),
    status: t.expose('status', { type: RunStatusEnum }),
    percent: t.exposeInt('percent', { description: DESCRIPTIONS.percent }),
    phase: t.exposeString('phase', { description: DESCRIPTIONS.phase }),
    conversationId: t.exposeString('conversationId', { nullable: true }),
    openhands: t.field({
      type: OpenHandsStateType,
      extensions: readsColumns(
        'apiVersion',
        'startTaskId',
        'conversationId',
        'sandboxId',
        'upstreamStatus',
        'upstreamEventCount',
      ),
      resolve: (run) => run,
    }),
    error: t.field({
      type: RunErrorType,
      nullable: true,
      extensions: readsColumns('errorCode', 'errorMessage', 'errorRetryable'),
      resolve: (run) =>
        run.errorCode
          ? {
              code: run.errorCode,
              message: run.errorMessage ?? run.errorCode,
              retryable: run.errorRetryable ?? false,
            }
          : null,
    }),
    pullRequest: t.field({
      type: PullRequestType,
      nullable: true,
      extensions: readsColumns('prProvider', 'prUrl', 'prNumber', 'prState', 'prHeadBranch', 'prHeadSha'),
      resolve: (run) => (run.prUrl ? run : null),
    }),
    events: t.connection(
      {
        type: RunEventType,
        extensions: readsColumns('id'),
        resolve: (run, args, ctx) => ctx.services.runs.events(run.id, forwardOnly(args)),
      },
      { name: 'RunEventConnection', fields: (c) => ({ totalCount: c.int({ resolve: totalCount }) }) },
      { name: 'RunEventEdge' },
    ),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    startedAt: t.expose('startedAt', { type: 'DateTime', nullable: true }),
    finishedAt: t.expose('finishedAt', { type: 'DateTime', nullable: true }),
  }),
});

builder.queryFields((t) => ({
  run: t.field({
    type: RunType,
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx, info) =>
      ctx.services.runs.get(runIdArgument('id', String(args.id)), ctx.principal, runColumns(info)),
  }),
  runs: t.connection(
    {
      type: RunType,
      description: DESCRIPTIONS.runs,
      args: {
        projectId: t.arg.string(),
        status: t.arg({ type: [RunStatusEnum] }),
        repository: t.arg.string(),
      },
      resolve: (_root, args, ctx, info) =>
        ctx.services.runs.list(
          {
            projectId: args.projectId,
            status: args.status,
            repository: args.repository,
            ...forwardOnly(args),
          },
          ctx.principal,
          runColumns(info, ['edges', 'node']),
        ),
    },
    { name: 'RunConnection', fields: (c) => ({ totalCount: c.int({ resolve: totalCount }) }) },
    { name: 'RunEdge' },
  ),
}));

const StartRunInput = builder.inputType('StartRunInput', {
  fields: (t) => ({
    projectId: t.string({ required: true }),
    compiledPrompt: t.string({ required: true }),
    repository: t.string({ description: DESCRIPTIONS.repository }),
    branch: t.string({ description: DESCRIPTIONS.branch }),
    gitProvider: t.field({ type: GitProviderEnum }),
    metadata: t.field({ type: 'JSON', description: DESCRIPTIONS.metadata }),
    idempotencyKey: t.string({ description: DESCRIPTIONS.idempotencyKey }),
    notifyUrl: t.string({ description: DESCRIPTIONS.notifyUrl }),
  }),
});

const StartRunPayload = builder.objectRef<StartRunResult>('StartRunPayload').implement({
  fields: (t) => ({
    run: t.field({ type: RunType, resolve: (p) => p.run }),
    created: t.exposeBoolean('created', {
      description: 'False when an earlier run with the same idempotencyKey was returned.',
    }),
    notifySecret: t.string({
      nullable: true,
      description: DESCRIPTIONS.notifySecret,
      resolve: (p) => p.notify?.secret ?? null,
    }),
    notifyEndpointId: t.id({
      nullable: true,
      description: DESCRIPTIONS.notifyEndpointId,
      resolve: (p) => p.notify?.endpointId ?? null,
    }),
  }),
});

const CancelRunPayload = builder.objectRef<{ run: Run }>('CancelRunPayload').implement({
  fields: (t) => ({ run: t.field({ type: RunType, resolve: (p) => p.run }) }),
});

builder.mutationFields((t) => ({
  startRun: t.field({
    type: StartRunPayload,
    description: DESCRIPTIONS.startRun,
    args: { input: t.arg({ type: StartRunInput, required: true }) },
    resolve: (_root, { input }, ctx) => ctx.services.runs.start(input, ctx.principal),
  }),
  cancelRun: t.field({
    type: CancelRunPayload,
    description: DESCRIPTIONS.cancelRun,
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, args, ctx) => ({
      run: await ctx.services.runs.cancel(runIdArgument('id', String(args.id)), ctx.principal),
    }),
  }),
}));
