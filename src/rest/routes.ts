import type { IncomingMessage, ServerResponse } from 'node:http';
import { authenticate } from '../auth/authenticate.js';
import type { Principal } from '../auth/principal.js';
import type { TokenVerifier } from '../auth/tokens.js';
import { AppError } from '../errors.js';
import { sendJson } from '../http/respond.js';
import type { Route } from '../http/router.js';
import type { Logger } from '../logger.js';
import type { NotificationService } from '../notifications/service.js';
import type { RunService } from '../runs/service.js';
import type { RunEvent } from '../runs/store/index.js';
import { checkMetadata } from '../runs/validation.js';
import { DEFAULT_BODY_LIMIT, readJsonObject } from './body.js';
import { RestError, sendRestError } from './errors.js';
import { nulPath } from './nul.js';
import { openApiDocument, openApiText } from './openapi.js';
import { listFilter } from './query.js';
import {
  CreateWebhookEndpointRequest,
  RotateWebhookSecretRequest,
  SendRunMessageRequest,
  type SendRunMessageResponse,
  StartRunRequest,
  type StartRunResponse,
  UpdateWebhookEndpointRequest,
} from './schemas.js';
import { runDetail, runList, runSummary, webhookDelivery, webhookEndpoint } from './serialize.js';
import { bodyValidator } from './validate.js';

export interface RestDeps {
  runs: RunService;
  notifications: NotificationService;
  tokens: TokenVerifier;
  log: Logger;
  /** The service's page-size cap (MAX_PAGE_SIZE); also how many events the detail reads per query. */
  maxPageSize: number;
  version: string;
  bodyLimitBytes?: number;
}

/** The detail route returns the whole timeline; this bounds a pathological one. */
export const MAX_DETAIL_EVENTS = 10_000;

interface Call {
  req: IncomingMessage;
  res: ServerResponse;
  params: Record<string, string>;
  principal: Principal;
}

/**
 * The REST API of the old Python service: thin handlers over RunService (the same calls GraphQL's
 * resolvers make), snake_case JSON in and out, errors as {"error":{"code","message"}}.
 */
export function restRoutes(deps: RestDeps): Route[] {
  const documentText = openApiText(openApiDocument({ version: deps.version, maxPageSize: deps.maxPageSize }));
  const startRunBody = bodyValidator(StartRunRequest);
  const createEndpointBody = bodyValidator(CreateWebhookEndpointRequest);
  const updateEndpointBody = bodyValidator(UpdateWebhookEndpointRequest);
  const rotateSecretBody = bodyValidator(RotateWebhookSecretRequest);
  const sendMessageBody = bodyValidator(SendRunMessageRequest);
  const readBody = (req: IncomingMessage) => readJsonObject(req, deps.bodyLimitBytes ?? DEFAULT_BODY_LIMIT);

  /** Auth first (401 before any validation), then the handler; client errors become JSON here. */
  function authed(handler: (call: Call) => Promise<void>): Route['handler'] {
    return async (req, res, params) => {
      try {
        const principal = await authenticate(deps.tokens, req.headers.authorization);
        // No run id holds a NUL or runs this long; such a lookup would only fail in the database.
        const runId = params.run_id;
        if (runId !== undefined && (runId.length > 200 || runId.includes('\u0000'))) {
          throw new AppError('NOT_FOUND', 'Run not found');
        }
        await handler({ req, res, params, principal });
      } catch (error) {
        if (!sendRestError(res, error)) throw error;
        // Code and path only: messages can quote client input, headers carry the token.
        deps.log.debug(
          { code: (error as { code: string }).code, path: req.url?.split('?')[0] },
          'rest request refused',
        );
      }
    };
  }

  async function startRun({ req, res, principal }: Call): Promise<void> {
    const body = startRunBody(await readJsonObject(req, deps.bodyLimitBytes ?? DEFAULT_BODY_LIMIT));
    // Depth and lone surrogates first: the NUL search below recurses.
    if (body.metadata && typeof body.metadata === 'object') checkMetadata(body.metadata);
    const nul = nulPath(body, '');
    if (nul)
      throw new RestError(422, 'BAD_USER_INPUT', `${nul} must not contain NUL (\\u0000) characters`, nul);
    // Only the documented fields are passed on; anything else is ignored, as pydantic did.
    const { run, created, notify } = await deps.runs.start(
      {
        projectId: body.project_id,
        compiledPrompt: body.compiled_prompt,
        repository: body.repository,
        branch: body.branch,
        gitProvider: body.git_provider,
        metadata: body.metadata,
        idempotencyKey: body.idempotency_key,
        notifyUrl: body.notify_url,
      },
      principal,
    );
    const answer: StartRunResponse = {
      run_id: run.id,
      status: run.status,
      ...(notify ? { notify_secret: notify.secret, notify_endpoint_id: notify.endpointId } : {}),
    };
    sendJson(res, created ? 201 : 200, answer, { location: `/runs/${run.id}` });
  }

  async function listRuns({ req, res, principal }: Call): Promise<void> {
    const params = new URL(req.url ?? '/', 'http://localhost').searchParams;
    const page = await deps.runs.list(listFilter(params), principal);
    const nextCursor = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
    sendJson(
      res,
      200,
      runList(
        page.edges.map((edge) => edge.node),
        nextCursor,
      ),
    );
  }

  async function getRun({ res, params, principal }: Call): Promise<void> {
    sendJson(res, 200, runSummary(await deps.runs.require(params.run_id, principal)));
  }

  async function getRunDetail({ res, params, principal }: Call): Promise<void> {
    const run = await deps.runs.require(params.run_id, principal);
    const events: RunEvent[] = [];
    let after: string | null = null;
    let more = true;
    while (more && events.length < MAX_DETAIL_EVENTS) {
      const page = await deps.runs.events(run.id, { first: deps.maxPageSize, after });
      events.push(...page.edges.map((edge) => edge.node));
      more = page.pageInfo.hasNextPage;
      after = page.pageInfo.endCursor;
    }
    sendJson(
      res,
      200,
      runDetail(run, events.slice(0, MAX_DETAIL_EVENTS), more || events.length > MAX_DETAIL_EVENTS),
    );
  }

  async function cancelRun({ res, params, principal }: Call): Promise<void> {
    // The body (the old service took none) is ignored.
    sendJson(res, 200, runSummary(await deps.runs.cancel(params.run_id, principal)));
  }

  async function sendMessage({ req, res, params, principal }: Call): Promise<void> {
    const body = sendMessageBody(await readBody(req));
    const { run, event } = await deps.runs.sendMessage(
      params.run_id,
      { text: body.text, idempotencyKey: body.idempotency_key },
      principal,
    );
    const answer: SendRunMessageResponse = { run_id: run.id, seq: event.seq };
    sendJson(res, 202, answer);
  }

  // Webhook endpoints (run notifications): the same NotificationService GraphQL calls.
  async function createEndpoint({ req, res, principal }: Call): Promise<void> {
    const body = createEndpointBody(await readBody(req));
    const created = await deps.notifications.create(
      { projectId: body.project_id, url: body.url, events: body.events },
      principal,
    );
    sendJson(res, 201, { endpoint: webhookEndpoint(created.endpoint), secret: created.secret });
  }

  async function listEndpoints({ req, res, principal }: Call): Promise<void> {
    const projectId = new URL(req.url ?? '/', 'http://localhost').searchParams.get('project_id');
    if (!projectId) throw new RestError(422, 'BAD_USER_INPUT', 'project_id is required', 'project_id');
    const endpoints = await deps.notifications.list(projectId, principal);
    sendJson(res, 200, { endpoints: endpoints.map(webhookEndpoint) });
  }

  async function updateEndpoint({ req, res, params, principal }: Call): Promise<void> {
    const body = updateEndpointBody(await readBody(req));
    const endpoint = await deps.notifications.update({ id: params.endpoint_id, ...body }, principal);
    sendJson(res, 200, webhookEndpoint(endpoint));
  }

  async function deleteEndpoint({ res, params, principal }: Call): Promise<void> {
    const deleted = await deps.notifications.delete(params.endpoint_id, principal);
    sendJson(res, 200, { id: params.endpoint_id, deleted });
  }

  async function rotateSecret({ req, res, params, principal }: Call): Promise<void> {
    // The body is optional: no body rotates with the default overlap.
    const hasBody = Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'];
    const body = hasBody ? rotateSecretBody(await readBody(req)) : {};
    const rotated = await deps.notifications.rotate(params.endpoint_id, body.overlap_seconds, principal);
    sendJson(res, 200, { endpoint: webhookEndpoint(rotated.endpoint), secret: rotated.secret });
  }

  async function listDeliveries({ req, res, params, principal }: Call): Promise<void> {
    const query = new URL(req.url ?? '/', 'http://localhost').searchParams;
    const limit = query.get('limit');
    if (limit !== null && !/^\d{1,9}$/.test(limit.trim())) {
      throw new RestError(422, 'BAD_USER_INPUT', 'limit must be a positive integer', 'limit');
    }
    const page = await deps.notifications.deliveries(
      params.endpoint_id,
      { first: limit === null ? null : Number(limit), after: query.get('cursor') },
      principal,
    );
    sendJson(res, 200, {
      deliveries: page.edges.map((edge) => webhookDelivery(edge.node)),
      next_cursor: page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null,
    });
  }

  async function redeliver({ res, params, principal }: Call): Promise<void> {
    sendJson(res, 200, webhookDelivery(await deps.notifications.redeliver(params.delivery_id, principal)));
  }

  return [
    {
      method: 'GET',
      path: '/openapi.json',
      handler: (_req, res) => {
        res.writeHead(200, {
          'content-type': 'application/json; charset=utf-8',
          'content-length': Buffer.byteLength(documentText),
        });
        res.end(documentText);
      },
    },
    { method: 'POST', path: '/runs', handler: authed(startRun) },
    { method: 'GET', path: '/runs', handler: authed(listRuns) },
    { method: 'GET', path: '/runs/:run_id', handler: authed(getRun) },
    { method: 'GET', path: '/runs/:run_id/detail', handler: authed(getRunDetail) },
    { method: 'POST', path: '/runs/:run_id/cancel', handler: authed(cancelRun) },
    { method: 'POST', path: '/runs/:run_id/messages', handler: authed(sendMessage) },
    { method: 'POST', path: '/webhook-endpoints', handler: authed(createEndpoint) },
    { method: 'GET', path: '/webhook-endpoints', handler: authed(listEndpoints) },
    { method: 'PATCH', path: '/webhook-endpoints/:endpoint_id', handler: authed(updateEndpoint) },
    { method: 'DELETE', path: '/webhook-endpoints/:endpoint_id', handler: authed(deleteEndpoint) },
    { method: 'POST', path: '/webhook-endpoints/:endpoint_id/rotate-secret', handler: authed(rotateSecret) },
    { method: 'GET', path: '/webhook-endpoints/:endpoint_id/deliveries', handler: authed(listDeliveries) },
    { method: 'POST', path: '/webhook-deliveries/:delivery_id/redeliver', handler: authed(redeliver) },
  ];
}
