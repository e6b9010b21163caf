/**
 * The whole openhands-runner service in a child process (buildApp + loadConfig, configured from the
 * environment like `npm start`), listening on a free loopback port. BENCH_INSTANCE_ID names its
 * poller leases.
 */
import { writeHeapSnapshot } from 'node:v8';
import { pino } from 'pino';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/service.js';
import { createLogger } from '../../src/logger.js';
import { serveChild } from '../lib/child.js';

const config = loadConfig(process.env);
const app = await buildApp(config, {
  instanceId: process.env.BENCH_INSTANCE_ID,
  // The service's own logger (request-id mixin, redaction); with logging on (scenario 6) its lines
  // go to BENCH_LOG_FILE (e.g. /dev/null), not the console.
  log: createLogger(
    process.env.LOG_LEVEL ?? 'silent',
    pino.destination({ dest: process.env.BENCH_LOG_FILE ?? 1, sync: false }),
  ),
});
const { url } = await app.start(0, '127.0.0.1');
serveChild(
  url,
  () => app.stop(),
  { instanceId: process.env.BENCH_INSTANCE_ID },
  (message) => {
    if (message.type === 'ticks') return app.poller.ticks;
    if (message.type === 'subscriptions') return app.live.open;
    // For memory investigations: where the heap goes (open the file in Chrome DevTools).
    if (message.type === 'heap-snapshot') return writeHeapSnapshot(String(message.path));
    return null;
  },
);
