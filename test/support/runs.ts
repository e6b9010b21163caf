/** Shared set-up for end-to-end tests: one database, one simulator, one service, torn down in order. */
import pg from 'pg';
import { type Simulator, type SimulatorOptions, startSimulator } from '../../tools/simulator/index.js';
import { createTestDatabase } from './database.js';
import { envFor, SIMULATOR_DEFAULTS, type Stack } from './fixtures.js';
import { GET_RUN, gql, RUN_FIELDS, START_RUN, waitFor, waitForStatus } from './graphql.js';
import { startService } from './service.js';

export const CANCEL_RUN = `mutation($id: ID!) { cancelRun(id: $id) { run { ${RUN_FIELDS} } } }`;
export const FINAL = ['COMPLETED', 'FAILED', 'CANCELLED', 'TIMED_OUT'];

/**
 * A fresh database, a simulator and a service pointed at both, outside the fixtures: for a test that
 * needs a stack of its own (the file's `stack` fixture in ./fixtures.ts serves the others).
 */
export async function startStack(
  simOptions: SimulatorOptions = {},
  env: Record<string, string> = {},
  serviceOptions: Parameters<typeof startService>[3] = {},
): Promise<Stack> {
  const db = await createTestDatabase();
  let sim: Simulator | undefined;
  try {
    sim = await startSimulator({ ...SIMULATOR_DEFAULTS, ...simOptions });
    const service = await startService(db.url, sim.url, envFor(simOptions, env), serviceOptions);
    const s = sim;
    return {
      db,
      sim: s,
      service,
      url: service.graphqlUrl,
      async stop() {
        await service.stop().catch(() => {});
        await s.stop().catch(() => {});
        await db.drop();
      },
    };
  } catch (error) {
    await sim?.stop().catch(() => {});
    await db.drop().catch(() => {});
    throw error;
  }
}

/**
 * The one way tests start a run: GraphQL `startRun` as a client sends it (projectId 'p1' unless given),
 * failing the test on errors. Returns the run as created, or with `until` as first seen in one of those
 * statuses.
 */
export async function startRun(
  url: string,
  input: Record<string, unknown>,
  options: { until?: string[] } = {},
): Promise<Record<string, any>> {
  const res = await gql(url, START_RUN, { input: { projectId: 'p1', ...input } });
  if (res.errors || !res.data?.startRun) throw new Error(`startRun failed: ${JSON.stringify(res.errors)}`);
  const run = res.data.startRun.run;
  return options.until ? waitForStatus(url, run.id, options.until) : run;
}

export async function getRun(url: string, id: string): Promise<Record<string, any>> {
  const res = await gql(url, GET_RUN, { id });
  if (res.errors || !res.data?.run) throw new Error(`run(${id}) failed: ${JSON.stringify(res.errors)}`);
  return res.data.run;
}

export function finalRun(url: string, id: string, timeoutMs = 30_000) {
  return waitForStatus(url, id, FINAL, timeoutMs);
}

/** The run's events as plain nodes. */
export function eventsOf(run: Record<string, any>): Array<{
  seq: number;
  type: string;
  status: string;
  percent: number;
  phase: string;
  message: string | null;
}> {
  return run.events.edges.map((e: { node: unknown }) => e.node);
}

/** Checks the invariants every run's timeline must keep. */
export function expectSaneTimeline(run: Record<string, any>): void {
  const events = eventsOf(run);
  const problems: string[] = [];
  events.forEach((e, i) => {
    if (e.seq !== i + 1) problems.push(`event ${i} has seq ${e.seq}`);
    if (i > 0 && e.percent < events[i - 1].percent) problems.push(`percent went down at seq ${e.seq}`);
    if (e.percent === 100 && e.status !== 'COMPLETED')
      problems.push(`100% while ${e.status} at seq ${e.seq}`);
  });
  const finalAt = events.findIndex((e) => FINAL.includes(e.status));
  if (finalAt >= 0 && events.slice(finalAt).some((e) => e.status !== events[finalAt].status)) {
    problems.push('status changed after a final status');
  }
  if (problems.length)
    throw new Error(`bad timeline for ${run.id}: ${problems.join('; ')}\n${JSON.stringify(events)}`);
}

/** Waits until the simulator reports the conversation with this prompt marker as stopped. */
export function waitForUpstreamStop(sim: Simulator, promptIncludes: string, timeoutMs = 10_000) {
  return waitFor(
    `the conversation for "${promptIncludes}" to be stopped upstream`,
    async () =>
      sim.conversations().find((c) => c.prompt.includes(promptIncludes) && (c.stopped || c.deleted)),
    timeoutMs,
  );
}

/** Direct SQL against a test database, for checks the API does not expose (row counts, leases). */
export async function sql<T extends Record<string, unknown>>(
  dbUrl: string,
  text: string,
  values: unknown[] = [],
): Promise<T[]> {
  const client = new pg.Client({ connectionString: dbUrl });
  await client.connect();
  try {
    return (await client.query(text, values)).rows as T[];
  } finally {
    await client.end();
  }
}

/** Largest number of requests the simulator saw within any 1-second window. */
export function peakRequestsPerSecond(requests: ReadonlyArray<{ at: number }>): number {
  const times = requests.map((r) => r.at).sort((a, b) => a - b);
  let peak = 0;
  let lo = 0;
  for (let hi = 0; hi < times.length; hi++) {
    while (times[hi] - times[lo] >= 1000) lo++;
    peak = Math.max(peak, hi - lo + 1);
  }
  return peak;
}

/**
 * Records when the service's request budget lets each OpenHands request go. The budget is the
 * service's promise; arrival times at the simulator add network and event-loop jitter on top.
 */
export function recordBudgetGrants(budget: { take(): Promise<void> }): number[] {
  const granted: number[] = [];
  const take = budget.take.bind(budget);
  budget.take = async () => {
    await take();
    granted.push(Date.now());
  };
  return granted;
}

export type { Stack };
export { GET_RUN, gql, START_RUN, waitFor, waitForStatus };

/** The client's prompt as it reached OpenHands, without the run-marker request the service appends. */
export function clientPrompt(conversation: { prompt: string }): string {
  return conversation.prompt.split('\n\n---\n')[0];
}
