import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendError } from './respond.js';

export type RawBody = { kind: 'ok'; bytes: Buffer } | { kind: 'too-large' } | { kind: 'aborted' };

/**
 * Reads a request body as raw bytes (webhook signatures cover the exact bytes; REST decodes them),
 * refusing more than `limit`: by Content-Length up front, else as it streams. Past the limit the
 * rest is read and dropped rather than the stream destroyed, which would take the socket, and with
 * it the 413, down too. A client that goes away mid-body gives `aborted`: nobody is left to answer.
 */
export function readRawBody(req: IncomingMessage, limit: number): Promise<RawBody> {
  if (Number(req.headers['content-length'] ?? 0) > limit) return Promise.resolve({ kind: 'too-large' });
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (body: RawBody) => {
      if (done) return;
      done = true;
      chunks.length = 0;
      resolve(body);
    };
    req.on('data', (chunk: Buffer) => {
      if (done) return; // past the limit: drain and drop
      size += chunk.length;
      if (size > limit) finish({ kind: 'too-large' });
      else chunks.push(chunk);
    });
    req.once('end', () => finish({ kind: 'ok', bytes: Buffer.concat(chunks) }));
    req.once('error', () => finish({ kind: 'aborted' }));
    req.once('close', () => finish({ kind: 'aborted' }));
  });
}

/**
 * A safety net in front of every route: a declared body larger than any route accepts is refused
 * before routing (the routes that read bodies — GraphQL, REST, webhooks — enforce their own, smaller
 * limits as they read, chunked bodies included). Returns true when it answered.
 */
export function refuseOversizedBody(req: IncomingMessage, res: ServerResponse, maxBytes: number): boolean {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (!(declared > maxBytes)) return false;
  // Connection: close, as the body is left unread on the socket.
  sendError(res, 413, 'PAYLOAD_TOO_LARGE', `The request body must be at most ${maxBytes} bytes`, {
    connection: 'close',
  });
  return true;
}
