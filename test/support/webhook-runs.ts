import { gql } from './graphql.js';
import { startRun } from './runs.js';
import type { RunningService } from './service.js';

export const RUN_WITH_PR = `query($id: ID!) { run(id: $id) {
  id status percent phase finishedAt
  pullRequest { provider url number state headBranch headSha }
  events(first: 100) { totalCount edges { node { seq type status percent phase message data } } }
} }`;

export interface StartOptions {
  repository?: string;
  branch?: string;
  gitProvider?: string;
  /** Simulator markers; `[sim:hang]` keeps the run RUNNING without a pull request. */
  prompt?: string;
  /** Wait until the run is talking to OpenHands (RUNNING). */
  running?: boolean;
}

/** A run on a repository (project 'webhooks'), through the shared `startRun`; returns its id. */
export async function startWebhookRun(service: RunningService, options: StartOptions = {}): Promise<string> {
  const input = {
    projectId: 'webhooks',
    compiledPrompt: options.prompt ?? 'Fix the bug [sim:hang]',
    repository: options.repository ?? 'acme/widgets',
    branch: options.branch,
    gitProvider: options.gitProvider,
  };
  const run = await startRun(
    service.graphqlUrl,
    input,
    options.running === false ? {} : { until: ['RUNNING'] },
  );
  return run.id as string;
}

export interface RunView {
  id: string;
  status: string;
  percent: number;
  phase: string;
  finishedAt: string | null;
  // null before a pull request is attached
  pullRequest: Record<string, any>;
  events: Array<Record<string, any>>;
}

/** The run as a GraphQL client sees it, events flattened. */
export async function readRun(service: RunningService, id: string): Promise<RunView> {
  const res = await gql(service.graphqlUrl, RUN_WITH_PR, { id });
  if (res.errors) throw new Error(JSON.stringify(res.errors));
  const run = res.data!.run;
  return { ...run, events: run.events.edges.map((e: { node: unknown }) => e.node) };
}

export function deliveries(service: RunningService, provider: string, deliveryId?: string) {
  return service.app.database.prisma.webhookDelivery.findMany({
    where: { provider, ...(deliveryId ? { deliveryId } : {}) },
    orderBy: { receivedAt: 'asc' },
  });
}

let counter = 100;
/** A pull request number nobody else in this test file uses. */
export function nextNumber(): number {
  return ++counter;
}
