import { buildApp } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { redactDatabaseUrl } from './storage/database-url.js';

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig();
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(`openhands-runner: ${error.message}`);
    process.exit(2);
  }
  throw error;
}

const app = await buildApp(config);
const { url } = await app.start();
app.log.info(
  {
    url: `${url}/graphql`,
    database: config.databaseUrl ? redactDatabaseUrl(config.databaseUrl) : `embedded (${config.dataDir})`,
    openhands: config.openhands.baseUrl,
  },
  'openhands-runner listening',
);
if (app.bootstrapToken) {
  // Printed once, outside the structured log: only its hash is stored.
  process.stderr.write(
    `\nNo API token was configured, so one was created. It is shown only this once:\n\n    ${app.bootstrapToken}\n\nSend it as "Authorization: Bearer <token>". Set API_TOKENS to use your own.\n\n`,
  );
}

let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal }, 'shutting down');
    // Bounded: Cloud Run and Kubernetes kill the process a little later anyway (SHUTDOWN_TIMEOUT_MS).
    const deadline = setTimeout(() => {
      app.log.error('shutdown took too long; exiting');
      process.exit(1);
    }, config.ops.shutdownTimeoutMs);
    deadline.unref();
    app
      .stop()
      .then(() => process.exit(0))
      .catch((error) => {
        app.log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      });
  });
}
