import { pollerBench } from './scenarios/poller.js';
const r = await pollerBench({ runs: Number(process.env.N ?? 200), apiVersion: (process.env.V ?? 'v1') as 'v1', pollIntervalMs: 2000, maxRps: 8, batchSize: 99, instances: Number(process.env.I ?? 1), changesPerSec: 5, windowMs: 5000, drainMs: 4000, stepMs: 20 });
console.log(JSON.stringify(r, null, 1));
