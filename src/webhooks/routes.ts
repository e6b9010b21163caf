import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Config } from '../config/service.js';
import { readRawBody } from '../http/body.js';
import { sendError, sendJson } from '../http/respond.js';
import type { Route } from '../http/router.js';
import type { Logger } from '../logger.js';
import { github } from './github.js';
import { gitlab } from './gitlab.js';
import type { Receipt, WebhookService } from './service.js';
import { PayloadError, type WebhookSource } from './types.js';

const MAX_DELIVERY_ID = 200;
const LABEL = { GITHUB: 'GitHub', GITLAB: 'GitLab' } as const;

/** POST /webhooks/github and /webhooks/gitlab. */
export function webhookRoutes(
  service: WebhookService,
  config: Config['webhooks'],
  parentLog: Logger,
): Route[] {
  const log = parentLog.child({ component: 'webhooks' });
  const route = (
    path: string,
    source: WebhookSource,
    secret: string | undefined,
    agentLogins: readonly string[],
  ): Route => ({
    method: 'POST',
    path,
    handler: (req, res) =>
      receive({ source, secret, agentLogins, maxBytes: config.maxBodyBytes, service, log }, req, res),
  });
  return [
    route('/webhooks/github', github, config.githubSecret, config.githubAgentLogins),
    route('/webhooks/gitlab', gitlab, config.gitlabSecret, config.gitlabAgentUsernames),
  ];
}

interface Endpoint {
  source: WebhookSource;
  secret: string | undefined;
  /** Accounts the agent opens requests as on this forge (correlation's branch rule). */
  agentLogins: readonly string[];
  maxBytes: number;
  service: WebhookService;
  log: Logger;
}

function status(receipt: Receipt, ping: boolean): number {
  if (receipt.duplicate || ping) return 200;
  return receipt.outcome === 'IGNORED' || receipt.outcome === 'UNMATCHED' ? 202 : 200;
}

/** Refuse → verify → parse → apply, cheapest checks first; every refusal is a JSON error. */
async function receive(endpoint: Endpoint, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { source, secret, agentLogins, maxBytes, service, log } = endpoint;
  const label = LABEL[source.provider];
  const refuse = (code: number, error: string, message: string, headers: Record<string, string> = {}) => {
    if (code === 401) log.warn({ provider: source.provider, reason: message }, 'webhook delivery refused');
    sendError(res, code, error, message, headers);
  };

  if (!secret) {
    return refuse(
      503,
      'WEBHOOK_NOT_CONFIGURED',
      `${label} webhooks are disabled: set ${source.secretVariable} to accept signed deliveries`,
    );
  }
  const missing = source.missingCredentials(req.headers, secret);
  if (missing) return refuse(401, 'UNAUTHENTICATED', missing);
  const mediaType = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (!source.mediaTypes.includes(mediaType)) {
    return refuse(
      415,
      'UNSUPPORTED_MEDIA_TYPE',
      `Content-Type must be ${source.mediaTypes.join(' or ')}, got ${JSON.stringify(mediaType || '(none)')}`,
    );
  }
  const tooLarge = () =>
    refuse(413, 'PAYLOAD_TOO_LARGE', `The body is larger than WEBHOOK_MAX_BODY_BYTES (${maxBytes} bytes)`, {
      connection: 'close',
    });
  // Raw bytes: the signatures cover the exact body.
  const read = await readRawBody(req, maxBytes);
  if (read.kind === 'aborted') return;
  if (read.kind === 'too-large') return tooLarge();
  const body = read.bytes;

  const refused = source.verify(secret, req.headers, body);
  if (refused) return refuse(401, 'UNAUTHENTICATED', refused);

  const { deliveryId, event } = source.identify(req.headers, body);
  if (!event) return refuse(400, 'BAD_REQUEST', `The ${source.eventHeader} header is missing`);
  if (!deliveryId || deliveryId.length > MAX_DELIVERY_ID) {
    const problem = `The ${source.deliveryHeader} header is missing or longer than ${MAX_DELIVERY_ID} characters`;
    return refuse(400, 'BAD_REQUEST', problem);
  }
  let payload: unknown;
  try {
    payload = JSON.parse(source.decode(mediaType, body));
  } catch (error) {
    const message = error instanceof PayloadError ? error.message : 'The body is not valid JSON';
    return refuse(400, 'INVALID_JSON', message);
  }
  let parsed: ReturnType<WebhookSource['parse']>;
  try {
    parsed = source.parse(event, payload);
  } catch (error) {
    if (error instanceof PayloadError)
      return refuse(400, 'INVALID_PAYLOAD', `Not a usable ${event} payload: ${error.message}`);
    throw error;
  }

  const receipt = await service.receive({
    provider: source.provider,
    deliveryId,
    event,
    action: parsed.action,
    parsed: parsed.parsed,
    agentLogins,
  });
  sendJson(res, status(receipt, parsed.parsed.kind === 'ping'), {
    ok: true,
    provider: source.provider,
    deliveryId,
    event,
    action: parsed.action,
    ...receipt,
  });
}
