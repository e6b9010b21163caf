/**
 * A webhook receiver for scenario 6: answers every POST 200 at once and counts what arrived (and
 * when, in epoch ms, so times compare across processes). Own process, so neither sender shares its
 * event loop.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serveChild } from '../lib/child.js';

let count = 0;
let first = 0;
let last = 0;
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    const now = Date.now();
    if (count === 0) first = now;
    last = now;
    count++;
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('ok');
  });
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address() as AddressInfo;
serveChild(
  `http://127.0.0.1:${port}`,
  () => new Promise<void>((resolve) => server.close(() => resolve())),
  {},
  (message) => {
    if (message.type === 'received') return { count, first, last };
    if (message.type === 'reset') {
      count = 0;
      first = 0;
      last = 0;
    }
    return null;
  },
);
