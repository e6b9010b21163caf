import type { IncomingMessage } from 'node:http';
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
 * Reads the whole body as bytes, refusing more than `limit` (by Content-Length up front, else as it
 * streams). Past the limit the rest is read and dropped rather than the stream destroyed, which
 * would take the socket, and with it the 413, down too.
 */
function readBytes(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(tooLarge(limit));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    req.on('data', (chunk: Buffer) => {
      if (settled) return;
      size += chunk.length;
      if (size > limit) {
        settled = true;
        chunks.length = 0;
        reject(tooLarge(limit));
      } else chunks.push(chunk);
    });
    req.once('end', () => {
      if (!settled) resolve(Buffer.concat(chunks));
      settled = true;
    });
    req.once('error', (error) => {
      if (!settled) reject(error);
      settled = true;
    });
  });
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
  const bytes = await readBytes(req, limit);
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
