/**
 * A TCP proxy on loopback in front of PostgreSQL, to play the network between a service and its
 * database: `freeze` makes chosen connections go silent without closing them, as a NAT or a proxy
 * that dropped them does (the service's side still looks open; nothing arrives, nothing gets through).
 */
import { connect, createServer, type Socket } from 'node:net';

interface Pair {
  client: Socket;
  upstream: Socket;
  /** The start of what the client sent (enough to tell a LISTEN connection by its statement). */
  sent: string;
  frozen: boolean;
}

const KEEP_SENT_CHARS = 64 * 1024;

export interface TcpProxy {
  /** `databaseUrl` with its host and port replaced by the proxy's. */
  urlFor(databaseUrl: string): string;
  /** Silences the open connections whose client has sent text matching `pattern`; returns how many. */
  freeze(pattern: RegExp): number;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  const pairs = new Set<Pair>();
  const server = createServer((client) => {
    const upstream = connect(targetPort, targetHost);
    const pair: Pair = { client, upstream, sent: '', frozen: false };
    pairs.add(pair);
    client.on('data', (chunk) => {
      if (pair.sent.length < KEEP_SENT_CHARS) pair.sent += chunk.toString('latin1');
      if (!pair.frozen) upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (!pair.frozen) client.write(chunk);
    });
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    for (const socket of [client, upstream]) {
      socket.on('error', end);
      // A frozen connection is left open when the database's side closes (a NAT would not tell).
      socket.on('close', () => {
        if (!pair.frozen) end();
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    urlFor(databaseUrl) {
      const url = new URL(databaseUrl);
      url.hostname = '127.0.0.1';
      url.port = String(port);
      return url.toString();
    },
    freeze(pattern) {
      let frozen = 0;
      for (const pair of pairs) {
        if (pair.frozen || !pattern.test(pair.sent)) continue;
        pair.frozen = true;
        frozen++;
      }
      return frozen;
    },
    async close() {
      for (const pair of pairs) {
        pair.client.destroy();
        pair.upstream.destroy();
      }
      pairs.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
