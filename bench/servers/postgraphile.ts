/**
 * Peer for scenario 6: PostGraphile v5 (grafast) with the Amber preset over the same database and
 * the same "Run"/"RunEvent" tables as the service (the bench prepares them, see
 * `preparePeerTables` in bench/scenarios/peer.ts). No auth, default settings, no GraphiQL.
 */
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, serveChild } from '../lib/child.js';

// PostGraphile 5 needs Node ≥ 22 (engines). On Node 20, @dataplan/pg's executor calls
// Promise.withResolvers (Node 22+), catches the TypeError and hands grafast `undefined` rows, which
// surfaces as "Cannot read properties of undefined (reading 'items')" in ConnectionStep on every
// select (mutations take another path and work). Both servers run on the same Node here, so the
// peer gets the one missing built-in (the standard polyfill) before it loads.
if (!('withResolvers' in Promise)) {
  Object.defineProperty(Promise, 'withResolvers', {
    configurable: true,
    writable: true,
    value<T>() {
      let resolve!: (value: T | PromiseLike<T>) => void;
      let reject!: (reason?: unknown) => void;
      const promise = new Promise<T>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      return { promise, resolve, reject };
    },
  });
}

// `postgraphile` (a devDependency) comes from the project's node_modules, or from the folder named
// by BENCH_PEER_MODULES (a separate `npm install postgraphile@<version>`), so the peer can run while
// the shared node_modules lacks it. Loaded by path, so type checks do not depend on it either.
const resolveFrom = createRequire(join(process.env.BENCH_PEER_MODULES ?? ROOT, 'package.json'));
const load = (name: string): Promise<any> => import(pathToFileURL(resolveFrom.resolve(name)).href);
const { postgraphile } = await load('postgraphile');
const { makePgService } = await load('postgraphile/adaptors/pg');
const { grafserv } = await load('postgraphile/grafserv/node');
const { PostGraphileAmberPreset } = await load('postgraphile/presets/amber');

const pgl = postgraphile({
  extends: [PostGraphileAmberPreset],
  pgServices: [makePgService({ connectionString: process.env.DATABASE_URL, schemas: ['public'] })],
  grafserv: { graphiql: false, watch: false },
  grafast: { explain: false },
});
const serv = pgl.createServ(grafserv);
const server = createServer();
serv.addTo(server);
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
// The schema is built lazily; build it before reporting ready so start-up time includes it.
await pgl.getSchema();
const { port } = server.address() as AddressInfo;
serveChild(`http://127.0.0.1:${port}`, async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await pgl.release();
});
