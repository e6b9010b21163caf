import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendError } from './respond.js';

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
