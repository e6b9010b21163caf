import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readRawBody } from '../http/body.js';
import { sendError, sendJson } from '../http/respond.js';
import type { Route } from '../http/router.js';
import type { Logger } from '../logger.js';
import type { V1Event } from '../openhands/types.js';
import { isConversationId, type PushReceipt, type PushService } from './service.js';

/** Why a push was refused (metrics: openhands_push_rejected_total). */
export type RejectReason =
  | 'not_configured'
  | 'unauthenticated'
  | 'session_key'
  | 'too_large'
  | 'invalid_json'
  | 'invalid_payload';

export interface PushEndpointOptions {
  /** OPENHANDS_WEBHOOK_SECRET; unset answers 503. */
  secret: string | undefined;
  /** WEBHOOK_MAX_BODY_BYTES, as for the forge webhooks. */
  maxBodyBytes: number;
  onReceived?: (route: 'events' | 'conversations', outcome: 'accepted' | 'ignored' | 'rejected') => void;
  onRejected?: (reason: RejectReason) => void;
}

class Refusal extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly reason: RejectReason,
  ) {
    super(message);
  }
}

/** POST /openhands/events/{conversationId} and POST /openhands/conversations (agent-server webhooks). */
export function pushRoutes(service: PushService, options: PushEndpointOptions, parentLog: Logger): Route[] {
  const log = parentLog.child({ component: 'push' });
  const handle =
    (
      route: 'events' | 'conversations',
      apply: (body: unknown, params: Record<string, string>, key?: string) => Promise<PushReceipt>,
    ) =>
    async (req: IncomingMessage, res: ServerResponse, params: Record<string, string>) => {
      try {
        authenticate(req, options.secret);
        const body = await readJson(req, options.maxBodyBytes);
        if (body === undefined) return; // the client went away
        const receipt = await apply(body, params, sessionKeyOf(req));
        if (receipt.kind === 'rejected')
          throw new Refusal(401, 'UNAUTHENTICATED', receipt.message, receipt.reason);
        const ignored = receipt.runIds.length === 0;
        options.onReceived?.(route, ignored ? 'ignored' : 'accepted');
        sendJson(res, 200, { ok: true, runIds: receipt.runIds, ...receipt.counts });
      } catch (error) {
        if (!(error instanceof Refusal)) throw error;
        options.onReceived?.(route, 'rejected');
        options.onRejected?.(error.reason);
        if (error.status === 401) log.warn({ route, reason: error.reason }, 'agent-server push refused');
        sendError(
          res,
          error.status,
          error.code,
          error.message,
          error.status === 413 ? { connection: 'close' } : {},
        );
      }
    };
  return [
    {
      method: 'POST',
      path: '/openhands/events/:conversationId',
      handler: handle('events', (body, params, key) => {
        const id = params.conversationId;
        if (!isConversationId(id)) throw invalid(`"${id.slice(0, 80)}" is not a conversation id (a UUID)`);
        return service.receiveEvents(id, eventsOf(body), key);
      }),
    },
    {
      method: 'POST',
      path: '/openhands/conversations',
      handler: handle('conversations', (body, _params, key) =>
        service.receiveConversation(conversationOf(body), key),
      ),
    },
  ];
}

function authenticate(req: IncomingMessage, secret: string | undefined): void {
  if (!secret) {
    throw new Refusal(
      503,
      'PUSH_NOT_CONFIGURED',
      'Agent-server pushes are disabled: set OPENHANDS_WEBHOOK_SECRET and send it as "Authorization: Bearer <secret>"',
      'not_configured',
    );
  }
  const header = req.headers.authorization ?? '';
  const given = /^Bearer\s+(.+)$/i.exec(header)?.[1]?.trim();
  if (!given)
    throw new Refusal(
      401,
      'UNAUTHENTICATED',
      'Authorization: Bearer <OPENHANDS_WEBHOOK_SECRET> is missing',
      'unauthenticated',
    );
  // Hashes have equal lengths, so the comparison takes the same time whatever was sent.
  const digest = (text: string) => createHash('sha256').update(text).digest();
  if (!timingSafeEqual(digest(given), digest(secret))) {
    throw new Refusal(401, 'UNAUTHENTICATED', 'The bearer secret is wrong', 'unauthenticated');
  }
}

function sessionKeyOf(req: IncomingMessage): string | undefined {
  const value = req.headers['x-session-api-key'];
  return typeof value === 'string' && value ? value : undefined;
}

async function readJson(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  const read = await readRawBody(req, maxBytes);
  if (read.kind === 'aborted') return undefined;
  if (read.kind === 'too-large') {
    throw new Refusal(
      413,
      'PAYLOAD_TOO_LARGE',
      `The body is larger than WEBHOOK_MAX_BODY_BYTES (${maxBytes} bytes)`,
      'too_large',
    );
  }
  try {
    return JSON.parse(read.bytes.toString('utf8'));
  } catch {
    throw new Refusal(400, 'INVALID_JSON', 'The body is not valid JSON', 'invalid_json');
  }
}

function invalid(message: string): Refusal {
  return new Refusal(400, 'INVALID_PAYLOAD', message, 'invalid_payload');
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function eventsOf(body: unknown): V1Event[] {
  if (!Array.isArray(body)) throw invalid('The body must be a JSON array of events');
  if (!body.every(isObject)) throw invalid('Every element of the array must be an event object');
  return body as V1Event[];
}

function conversationOf(body: unknown): { id: string; execution_status?: unknown; updated_at?: unknown } {
  if (!isObject(body)) throw invalid('The body must be one ConversationInfo object');
  if (typeof body.id !== 'string' || !isConversationId(body.id)) {
    throw invalid('The ConversationInfo has no conversation id (a UUID)');
  }
  return body as { id: string };
}
