import { pino } from 'pino';
import { type App, type AppOptions, buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/service.js';

export const TEST_TOKEN = 'test-token-0123456789';

export interface RunningService {
  app: App;
  url: string;
  graphqlUrl: string;
  stop(): Promise<void>;
}

/** Starts the whole service on a free loopback port against `databaseUrl` and `openhandsUrl`. */
export async function startService(
  databaseUrl: string | undefined,
  openhandsUrl: string,
  env: Record<string, string> = {},
  options: { instanceId?: string; dataDir?: string; app?: Partial<AppOptions> } = {},
): Promise<RunningService> {
  const config = loadConfig({
    DATABASE_URL: databaseUrl,
    DATA_DIR: options.dataDir,
    OPENHANDS_BASE_URL: openhandsUrl,
    API_TOKENS: TEST_TOKEN,
    POLL_INTERVAL_MS: '50',
    LOG_LEVEL: 'silent',
    UPSTREAM_ERROR_TOLERANCE_MS: '300',
    // Tests send mutations and queries much faster than any client; test/ops/limits.test.ts tests the limits.
    RATE_LIMIT_MUTATIONS_PER_MINUTE: '0',
    RATE_LIMIT_QUERIES_PER_MINUTE: '0',
    ...env,
  });
  const app = await buildApp(config, {
    instanceId: options.instanceId,
    retryBaseMs: 20,
    log: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    ...options.app,
  });
  const { url } = await app.start(0, '127.0.0.1');
  return { app, url, graphqlUrl: `${url}/graphql`, stop: () => app.stop() };
}
