// `npm run demo`: the service and the OpenHands simulator side by side on loopback, with one
// sample run followed to the end: the agent works, asks a question, gets an answer through
// sendRunMessage and opens a pull request. Leaves both running for GraphiQL until Ctrl-C.
import { randomBytes } from 'node:crypto';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config/service.js';
import { startSimulator } from '../tools/simulator/index.js';

const simulator = await startSimulator({
  apiVersion: process.env.SIMULATOR_API_VERSION === 'v0' ? 'v0' : 'v1',
  stepMs: 400,
});
const token = `demo_${randomBytes(12).toString('hex')}`;
const config = loadConfig({
  ...process.env,
  HOST: process.env.HOST ?? '127.0.0.1',
  DATA_DIR: process.env.DATA_DIR ?? './.data/demo',
  OPENHANDS_BASE_URL: simulator.url,
  API_TOKENS: token,
  POLL_INTERVAL_MS: process.env.POLL_INTERVAL_MS ?? '500',
  LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
});
const app = await buildApp(config);
const { url } = await app.start();
console.log(`OpenHands simulator: ${simulator.url}`);
console.log(`GraphiQL:            ${url}/graphql   (header  Authorization: Bearer ${token})\n`);

async function gql(query: string, variables: Record<string, unknown> = {}) {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as { data?: any; errors?: unknown };
}

const started = await gql(
  `mutation($input: StartRunInput!) { startRun(input: $input) { run { id status } } }`,
  {
    input: {
      projectId: 'demo',
      // [sim:ask]: the simulated agent stops to ask a question before it goes on.
      compiledPrompt: 'Make the greeting friendlier [sim:ask]',
      repository: 'acme/widgets',
      branch: 'main',
    },
  },
);
const runId: string = started.data.startRun.run.id;
console.log(`started ${runId}`);
let seen = 0;
let answered = false;
for (;;) {
  const { data } = await gql(
    `query($id: ID!) { run(id: $id) { status question pullRequest { url } outcome { summary changedFiles { path change } }
      events(first: 100) { edges { node { seq type status percent phase message } } } } }`,
    { id: runId },
  );
  for (const { node } of data.run.events.edges.slice(seen)) {
    console.log(
      `  #${node.seq} ${node.type.padEnd(18)} ${node.status.padEnd(14)} ${String(node.percent).padStart(3)}%  ${node.message ?? node.phase}`,
    );
  }
  seen = data.run.events.edges.length;
  if (data.run.status === 'AWAITING_INPUT' && data.run.question && !answered) {
    answered = true;
    const answer = 'Yes, end it with an exclamation mark.';
    console.log(`\n  the agent asks: ${data.run.question}\n  answering:      ${answer}\n`);
    await gql(`mutation($input: SendRunMessageInput!) { sendRunMessage(input: $input) { event { seq } } }`, {
      input: { runId, text: answer },
    });
  }
  if (['COMPLETED', 'FAILED', 'CANCELLED', 'TIMED_OUT'].includes(data.run.status)) {
    console.log(
      `\n${runId} ended ${data.run.status}${data.run.pullRequest ? ` with ${data.run.pullRequest.url}` : ''}`,
    );
    if (data.run.outcome) console.log(`outcome: ${JSON.stringify(data.run.outcome)}`);
    break;
  }
  await new Promise((resolve) => setTimeout(resolve, 300));
}
console.log('\nStill serving; press Ctrl-C to stop.');
process.on('SIGINT', async () => {
  await app.stop();
  await simulator.stop();
  process.exit(0);
});
