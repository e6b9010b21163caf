/**
 * `npm run simulator`: runs the OpenHands simulator until SIGINT / SIGTERM.
 *
 * Env: SIMULATOR_PORT (3000), SIMULATOR_HOST (127.0.0.1), SIMULATOR_API_VERSION (v1 | v0),
 * SIMULATOR_SESSION_API_KEY, SIMULATOR_STEP_MS (150).
 */
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

async function main(): Promise<void> {
  const apiVersion = versionFromEnv();
  const sessionApiKey = process.env.SIMULATOR_SESSION_API_KEY || undefined;
  const sim = await startSimulator({
    apiVersion,
    port: intFromEnv('SIMULATOR_PORT', 3000),
    host: process.env.SIMULATOR_HOST || '127.0.0.1',
    stepMs: intFromEnv('SIMULATOR_STEP_MS', 150),
    ...(sessionApiKey ? { sessionApiKey } : {}),
  });
  console.log(
    `OpenHands simulator (${apiVersion}) listening on ${sim.url}${sessionApiKey ? ' (session API key required)' : ''}`,
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
