import { TEST_TOKEN } from './service.js';

export interface GraphQLResponse<T = Record<string, unknown>> {
  status: number;
  data?: T | null;
  errors?: Array<{ message: string; path?: string[]; extensions?: Record<string, unknown> }>;
}

/** A GraphQL request over real HTTP, as a client would send it. */
export async function gql<T = Record<string, any>>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  token: string | null = TEST_TOKEN,
): Promise<GraphQLResponse<T>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as GraphQLResponse<T>;
  return { ...body, status: response.status };
}

export const RUN_FIELDS = `
  id projectId compiledPrompt repository branch gitProvider metadata status percent phase conversationId
  openhands { apiVersion status statuses startTaskId conversationId sandboxId }
  error { code message retryable }
  pullRequest { provider url number state }
  createdAt updatedAt startedAt finishedAt
`;

export const START_RUN = `mutation($input: StartRunInput!) { startRun(input: $input) { created run { ${RUN_FIELDS} } } }`;
export const GET_RUN = `query($id: ID!) { run(id: $id) { ${RUN_FIELDS} events(first: 100) { totalCount edges { node { seq type status percent phase message } } } } }`;

/** Polls until `check` returns a value; fails with the last seen state after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | null | false>,
  timeoutMs = 20_000,
  everyMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value) return value;
      last = value;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  throw new Error(`Timed out waiting for ${what} (last: ${JSON.stringify(last)})`);
}

export async function waitForStatus(url: string, id: string, statuses: string[], timeoutMs?: number) {
  return waitFor(
    `run ${id} to reach ${statuses.join('|')}`,
    async () => {
      const res = await gql(url, GET_RUN, { id });
      const run = res.data?.run;
      return run && statuses.includes(run.status) ? run : undefined;
    },
    timeoutMs,
  );
}
