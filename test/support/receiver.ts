import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  at: number;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** The status this request was answered with. */
  answered: number;
}

/**
 * A real HTTP server on 127.0.0.1 standing in for a platform's webhook receiver. `answers` are the
 * statuses of the next requests (then 200; 0 = never answer); `retryAfter` adds a Retry-After header to non-2xx.
 */
export class Receiver {
  readonly received: Received[] = [];
  answers: number[] = [];
  retryAfter: string | undefined;
  private server: Server | undefined;
  port = 0;

  async start(port = 0): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const answered = this.answers.shift() ?? 200;
        this.received.push({
          at: Date.now(),
          path: req.url ?? '/',
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          answered,
        });
        if (answered === 0) return; // hold the request open: the sender must time out or die
        const headers: Record<string, string> = { 'content-type': 'text/plain' };
        if (answered >= 300 && this.retryAfter) headers['retry-after'] = this.retryAfter;
        res.writeHead(answered, headers);
        res.end(answered < 300 ? 'ok' : 'nope');
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  url(path = '/hook'): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  /** Requests to `path`. */
  to(path: string): Received[] {
    return this.received.filter((r) => r.path === path);
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
