import type { IncomingMessage } from 'node:http';
import { readRawBody } from '../http/body.js';
import { RestError } from './errors.js';

/** Big enough for a maximal compiled prompt (200k characters) plus metadata, small enough to refuse floods. */
export const DEFAULT_BODY_LIMIT = 1024 * 1024;

/**
 * JSON, `application/*+json`, or no content type at all: the old FastAPI service parsed a body
 * without a content type as JSON too, and some old clients rely on that.
 */
function isJsonContentType(header: string | undefined): boolean {
  if (!header?.trim()) return true;
  const type = header.split(';')[0].trim().toLowerCase();
  return type === 'application/json' || /^application\/[\w.+-]+\+json$/.test(type);
}

function tooLarge(limit: number): RestError {
  // Connection: close, because the rest of the body is left unread on the socket.
  return new RestError(
    413,
    'PAYLOAD_TOO_LARGE',
    `The request body must be at most ${limit} bytes`,
    undefined,
    {
      connection: 'close',
    },
  );
}

/**
 * The request body as parsed JSON. Not JSON at all → 400; a JSON body that is empty or not an
 * object → 422 on field `body` (a shape problem, like any other validation failure).
 */
export async function readJsonObject(
  req: IncomingMessage,
  limit = DEFAULT_BODY_LIMIT,
): Promise<Record<string, unknown>> {
  if (!isJsonContentType(req.headers['content-type'])) {
    throw new RestError(
      415,
      'UNSUPPORTED_MEDIA_TYPE',
      'The request body must be JSON (Content-Type: application/json)',
    );
  }
  const read = await readRawBody(req, limit);
  if (read.kind === 'too-large') throw tooLarge(limit);
  // The client is gone; the app's catch-all logs it (there is no one left to answer).
  if (read.kind === 'aborted') throw new Error('The request body was not read: the client went away');
  const bytes = read.bytes;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new RestError(400, 'BAD_REQUEST', 'The request body is not valid UTF-8');
  }
  if (!text.trim()) throw new RestError(422, 'BAD_USER_INPUT', 'A JSON object body is required', 'body');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // The parser's message quotes the input; a generic message is enough and echoes nothing back.
    throw new RestError(400, 'BAD_REQUEST', 'The request body is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new RestError(422, 'BAD_USER_INPUT', 'The request body must be a JSON object', 'body');
  }
  return value as Record<string, unknown>;
}
