/**
 * `npm run simulator`: runs the OpenHands simulator until SIGINT / SIGTERM.
 *
 * Env: SIMULATOR_PORT (3000), SIMULATOR_HOST (127.0.0.1), SIMULATOR_API_VERSION (v1 | v0),
 * SIMULATOR_SESSION_API_KEY, SIMULATOR_STEP_MS (150).
 *
 * Flags (V1: push like an agent server's webhook, see push.ts): --push-url <runner>/openhands,
 * --push-secret <OPENHANDS_WEBHOOK_SECRET>, --push-buffer-size 5, --push-flush-delay-ms 500,
 * --push-retries 3, --push-retry-delay-ms 5000, --push-loss-rate 0 (fraction of batches dropped).
 */
import { parseArgs } from 'node:util';
import type { PushOptions } from './push.js';
import { startSimulator } from './server.js';
import type { ApiVersion } from './types.js';

function intFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0)
    throw new Error(`${name} must be a non-negative integer, got "${raw}"`);
  return value;
}

function versionFromEnv(): ApiVersion {
  const raw = (process.env.SIMULATOR_API_VERSION ?? 'v1').toLowerCase();
  if (raw !== 'v1' && raw !== 'v0') throw new Error(`SIMULATOR_API_VERSION must be v1 or v0, got "${raw}"`);
  return raw;
}

function number(flag: string, raw: string | undefined, max = Number.POSITIVE_INFINITY): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0 || value > max)
    throw new Error(`--${flag} must be a number from 0 to ${max}, got "${raw}"`);
  return value;
}

/** The --push-* flags; undefined without --push-url. */
function pushFromArgs(): PushOptions | undefined {
  const { values } = parseArgs({
    options: {
      'push-url': { type: 'string' },
      'push-secret': { type: 'string' },
      'push-buffer-size': { type: 'string' },
      'push-flush-delay-ms': { type: 'string' },
      'push-retries': { type: 'string' },
      'push-retry-delay-ms': { type: 'string' },
      'push-loss-rate': { type: 'string' },
    },
  });
  const url = values['push-url'];
  if (!url) return undefined;
  return {
    url,
    secret: values['push-secret'],
    bufferSize: number('push-buffer-size', values['push-buffer-size']),
    flushDelayMs: number('push-flush-delay-ms', values['push-flush-delay-ms']),
    retries: number('push-retries', values['push-retries']),
    retryDelayMs: number('push-retry-delay-ms', values['push-retry-delay-ms']),
    lossRate: number('push-loss-rate', values['push-loss-rate'], 1),
  };
}

async function main(): Promise<void> {
  const push = pushFromArgs();
  const apiVersion = versionFromEnv();
  const sessionApiKey = process.env.SIMULATOR_SESSION_API_KEY || undefined;
  const sim = await startSimulator({
    apiVersion,
    port: intFromEnv('SIMULATOR_PORT', 3000),
    host: process.env.SIMULATOR_HOST || '127.0.0.1',
    stepMs: intFromEnv('SIMULATOR_STEP_MS', 150),
    ...(sessionApiKey ? { sessionApiKey } : {}),
    ...(push ? { push } : {}),
  });
  console.log(
    `OpenHands simulator (${apiVersion}) listening on ${sim.url}${sessionApiKey ? ' (session API key required)' : ''}${push ? `, pushing to ${push.url}` : ''}`,
  );
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`OpenHands simulator: ${signal} received, closing`);
    sim.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
