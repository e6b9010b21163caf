import { buildApp } from './app.js';
import { ConfigError, loadConfig } from './config/service.js';
import { DataDirInUseError } from './storage/database.js';
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

// Signals are handled from the first moment: one that arrives during start-up (migrations, say)
// shuts down cleanly as soon as the app exists, instead of killing the process mid-write.
let app: Awaited<ReturnType<typeof buildApp>> | undefined;
let stopRequested: NodeJS.Signals | undefined;
let stopping = false;

function shutdown(signal: NodeJS.Signals): void {
  stopRequested = signal;
  if (!app || stopping) return;
  stopping = true;
  const running = app;
  running.log.info({ signal }, 'shutting down');
  // Bounded: Cloud Run and Kubernetes kill the process a little later anyway (SHUTDOWN_TIMEOUT_MS).
  const deadline = setTimeout(() => {
    running.log.error('shutdown took too long; exiting');
    process.exit(1);
  }, config.ops.shutdownTimeoutMs);
  deadline.unref();
  running
    .stop()
    .then(() => process.exit(0))
    .catch((error) => {
      running.log.error({ err: error }, 'shutdown failed');
      process.exit(1);
    });
}
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => shutdown(signal));

try {
  app = await buildApp(config);
} catch (error) {
  // Another process has the embedded database: a plain message, not a stack trace.
  if (error instanceof DataDirInUseError) {
    console.error(`openhands-runner: ${error.message}`);
    process.exit(1);
  }
  throw error;
}
if (stopRequested) shutdown(stopRequested);
else await serve(app);

async function serve(running: NonNullable<typeof app>): Promise<void> {
  const { url } = await running.start();
  running.log.info(
    {
      url: `${url}/graphql`,
      database: config.databaseUrl ? redactDatabaseUrl(config.databaseUrl) : `embedded (${config.dataDir})`,
      openhands: config.openhands.baseUrl,
    },
    'openhands-runner listening',
  );
  if (running.bootstrapToken) {
    // Printed once, outside the structured log: only its hash is stored.
    process.stderr.write(
      `\nNo API token was configured, so one was created. It is shown only this once:\n\n    ${running.bootstrapToken}\n\nSend it as "Authorization: Bearer <token>". Set API_TOKENS to use your own.\n\n`,
    );
  }
}
