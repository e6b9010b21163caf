import { startRunBench } from './scenarios/startrun.js';
const r = await startRunBench({ connections: 10, durationMs: 2000, warmupMs: 500, rounds: 1, instances: [1, 2] });
console.log(JSON.stringify({ ...r, baseline: { ...r.baseline, rounds: undefined }, service: r.service.map((s) => ({ ...s, rounds: undefined })) }, null, 1));
