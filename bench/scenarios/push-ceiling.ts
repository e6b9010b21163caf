/**
 * How many agent-server pushes one instance absorbs (issue 13): a closed loop of `connections`
 * senders POSTs batches of `eventsPerBatch` events (OH_WEBHOOKS_1_EVENT_BUFFER_SIZE; docs/push.md
 * recommends 1) to `/openhands/events/{conversationId}` as fast as the instance answers, spread over
 * conversations of RUNNING runs, while the instance keeps polling its runs as usual. Each event is a
 * new agent action (a terminal command), so every answer stands for committed activity events in the
 * run's log and a notice. A 200 counts only when its body says every event was taken.
 */
import { randomUUID } from 'node:crypto';
import type { Child } from '../lib/child.js';
import { round } from '../lib/common.js';
import { runLoad } from '../lib/load.js';

export interface PushCeilingResult {
  connections: number;
  eventsPerBatch: number;
  seconds: number;
  /** Batches answered 200 with every event taken, per second. */
  pushesPerSec: number;
  eventsPerSec: number;
  failures: Record<string, number>;
  errors: number;
  latency: { p50: number; p99: number; max: number };
  /** Service CPU (user + system) per absorbed push, polling included. */
  cpuMsPerPush: number;
  /** Service CPU seconds per wall second during the loop. */
  serviceCpu: number;
}

export async function pushCeiling(
  instance: Child,
  secret: string,
  conversationIds: string[],
  options: { connections: number; durationMs: number; eventsPerBatch: number },
): Promise<PushCeilingResult> {
  const cpu0 = await instance.cpu();
  const load = await runLoad({
    urls: [instance.url],
    path: (i) => `/openhands/events/${conversationIds[i % conversationIds.length]}`,
    connections: options.connections,
    durationMs: options.durationMs,
    headers: { authorization: `Bearer ${secret}` },
    body: (i) =>
      Array.from({ length: options.eventsPerBatch }, (_, k) => ({
        id: randomUUID(),
        timestamp: new Date().toISOString(),
        source: 'agent',
        kind: 'ActionEvent',
        thought: [{ type: 'text', text: `Checking step ${i}.${k}` }],
        action: {
          kind: 'TerminalAction',
          command: `echo ${i}.${k}`,
          is_input: false,
          timeout: null,
          reset: false,
        },
        tool_name: 'terminal',
        tool_call_id: `toolu_${i}_${k}`,
        llm_response_id: `chatcmpl-${i}`,
        security_risk: 'LOW',
      })),
    accept: (text) => {
      const counts = JSON.parse(text) as { applied?: number; activity?: number };
      return (counts.applied ?? 0) + (counts.activity ?? 0) === options.eventsPerBatch;
    },
  });
  const cpu1 = await instance.cpu();
  const cpuMs = (cpu1.user + cpu1.system - cpu0.user - cpu0.system) / 1000;
  return {
    connections: options.connections,
    eventsPerBatch: options.eventsPerBatch,
    seconds: round(load.seconds),
    pushesPerSec: round(load.rps, 1),
    eventsPerSec: round(load.rps * options.eventsPerBatch, 1),
    failures: load.failures,
    errors: load.errors,
    latency: { p50: round(load.latency.p50), p99: round(load.latency.p99), max: round(load.latency.max) },
    cpuMsPerPush: load.ok ? round(cpuMs / load.ok, 2) : 0,
    serviceCpu: round(cpuMs / 1000 / load.seconds, 2),
  };
}
