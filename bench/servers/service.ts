/**
 * The whole openhands-runner service in a child process (buildApp + loadConfig, configured from the
 * environment like `npm start`), listening on a free loopback port. BENCH_INSTANCE_ID names its
 * poller leases.
 */
import { writeHeapSnapshot } from 'node:v8';
import { pino } from 'pino';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/service.js';
import { serveChild } from '../lib/child.js';

const config = loadConfig(process.env);
const app = await buildApp(config, {
  instanceId: process.env.BENCH_INSTANCE_ID,
  log: pino({ level: process.env.LOG_LEVEL ?? 'silent' }),
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
