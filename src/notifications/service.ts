import { randomBytes } from 'node:crypto';
import { canAccessProject, type Principal } from '../auth/principal.js';
import { AppError, badInput, notFound } from '../errors.js';
import { decodeCursor, encodeCursor } from '../runs/cursor.js';
import type { Page, RunNotifyTargets } from '../runs/service.js';
import { LIMITS, rejectNul } from '../runs/validation.js';
import { assertPublicHost } from './address.js';
import { generateSecret, type SecretBox } from './secrets.js';
import type { NotificationDelivery, NotificationStore, WebhookEndpoint } from './store.js';
import { isNotificationType, NOTIFICATION_TYPES, type NotificationType } from './types.js';

export interface NotificationServiceOptions {
  allowHttp: boolean;
  allowPrivate: boolean;
  maxPageSize: number;
  /** Throws RATE_LIMITED when the caller sends mutations too fast (src/limits/rate-limiter.ts). */
  limitMutations?: (principal: Principal) => void;
  /** Told when a delivery became due (a redelivery). */
  onWork?: () => void;
}

export interface CreateWebhookEndpointInput {
  projectId: string;
  url: string;
  events: readonly string[];
}

export interface UpdateWebhookEndpointInput {
  id: string;
  url?: string | null;
  events?: readonly string[] | null;
  /** Re-enabling clears the reason and the failing clock. */
  enabled?: boolean | null;
}

export const MAX_URL_LENGTH = 2048;
export const DEFAULT_OVERLAP_SECONDS = 24 * 3600;
export const MAX_OVERLAP_SECONDS = 7 * 24 * 3600;

type DeliveryCursor = { c: string; i: string };
const isDeliveryCursor = (v: unknown): v is DeliveryCursor =>
  typeof v === 'object' &&
  v !== null &&
  typeof (v as DeliveryCursor).c === 'string' &&
  typeof (v as DeliveryCursor).i === 'string';

/** Webhook endpoints and their delivery log, shared by GraphQL and REST. Secrets leave only on create and rotate. */
export class NotificationService {
  constructor(
    private readonly store: NotificationStore,
    private readonly secrets: SecretBox,
    private readonly options: NotificationServiceOptions,
  ) {}

  async create(
    input: CreateWebhookEndpointInput,
    principal: Principal,
  ): Promise<{ endpoint: WebhookEndpoint; secret: string }> {
    this.options.limitMutations?.(principal);
    const projectId = this.projectId(input.projectId, principal);
    const url = await this.checkUrl(input.url);
    const events = checkEvents(input.events);
    const secret = generateSecret();
    const endpoint = await this.store.createEndpoint({
      id: newEndpointId(),
      projectId,
      url,
      events,
      secret: this.secrets.seal(secret),
    });
    return { endpoint, secret };
  }

  /**
   * A run's own destination (startRun notifyUrl): the URL checked as an endpoint's, every event type,
   * and a secret of its own that startRun returns (also to an idempotent replay, never elsewhere).
   */
  readonly runTargets: RunNotifyTargets = {
    prepare: async (url) => {
      const secret = generateSecret();
      const target = {
        endpointId: newEndpointId(),
        url: await this.checkUrl(url, 'notifyUrl'),
        events: [...NOTIFICATION_TYPES],
        secret: this.secrets.seal(secret),
      };
      return { target, secret };
    },
    find: async (runId) => {
      const endpoint = await this.store.findRunEndpoint(runId);
      return endpoint ? { endpointId: endpoint.id, secret: this.secrets.open(endpoint.secret) } : null;
    },
  };

  async list(projectId: string, principal: Principal): Promise<WebhookEndpoint[]> {
    rejectNul('projectId', projectId);
    if (!canAccessProject(principal, projectId)) return [];
    return this.store.listEndpoints(projectId);
  }

  async update(input: UpdateWebhookEndpointInput, principal: Principal): Promise<WebhookEndpoint> {
    this.options.limitMutations?.(principal);
    await this.require(input.id, principal);
    const enable = input.enabled === true ? { disabledReason: null, failingSince: null } : {};
    return this.store.updateEndpoint(input.id, {
      ...(input.url != null ? { url: await this.checkUrl(input.url) } : {}),
      ...(input.events != null ? { events: checkEvents(input.events) } : {}),
      ...(input.enabled != null ? { enabled: input.enabled, ...enable } : {}),
      ...(input.enabled === false ? { disabledReason: 'disabled by a client' } : {}),
    });
  }

  async delete(id: string, principal: Principal): Promise<boolean> {
    this.options.limitMutations?.(principal);
    await this.require(id, principal);
    const { count } = await this.store.deleteEndpoint(id);
    return count === 1;
  }

  /**
   * A new secret signs from now on; the old one also signs for `overlapSeconds` (default 24 h), so
   * receivers can switch without missing a delivery.
   */
  async rotate(
    id: string,
    overlapSeconds: number | null | undefined,
    principal: Principal,
  ): Promise<{ endpoint: WebhookEndpoint; secret: string }> {
    this.options.limitMutations?.(principal);
    const current = await this.require(id, principal);
    const overlap = overlapSeconds ?? DEFAULT_OVERLAP_SECONDS;
    if (!Number.isInteger(overlap) || overlap < 0 || overlap > MAX_OVERLAP_SECONDS) {
      throw badInput(
        'overlapSeconds',
        `overlapSeconds must be a whole number from 0 to ${MAX_OVERLAP_SECONDS}`,
      );
    }
    const secret = generateSecret();
    const endpoint = await this.store.updateEndpoint(id, {
      secret: this.secrets.seal(secret),
      previousSecret: overlap > 0 ? current.secret : null,
      previousSecretExpiresAt: overlap > 0 ? new Date(Date.now() + overlap * 1000) : null,
    });
    return { endpoint, secret };
  }

  async deliveries(
    endpointId: string,
    args: { first?: number | null; after?: string | null },
    principal: Principal,
  ): Promise<Page<NotificationDelivery>> {
    await this.require(endpointId, principal);
    const first = this.pageSize(args.first);
    let before: { createdAt: Date; id: string } | null = null;
    if (args.after) {
      const c = decodeCursor('after', args.after, isDeliveryCursor);
      before = { createdAt: new Date(c.c), id: c.i };
    }
    const rows = await this.store.listDeliveries(endpointId, before, first + 1);
    const edges = rows.slice(0, first).map((node) => ({
      cursor: encodeCursor({ c: node.createdAt.toISOString(), i: node.id }),
      node,
    }));
    return {
      edges,
      pageInfo: {
        hasNextPage: rows.length > first,
        hasPreviousPage: Boolean(args.after),
        startCursor: edges[0]?.cursor ?? null,
        endCursor: edges.at(-1)?.cursor ?? null,
      },
      totalCount: () => this.store.countDeliveries(endpointId),
    };
  }

  /** Sends a delivery again with the same webhook-id and body (receivers that deduplicate see a repeat). */
  async redeliver(deliveryId: string, principal: Principal): Promise<NotificationDelivery> {
    this.options.limitMutations?.(principal);
    rejectNul('deliveryId', deliveryId);
    const found = await this.store.findDelivery(deliveryId);
    if (!found || !canAccessProject(principal, found.endpoint.projectId))
      throw notFound('Delivery', deliveryId);
    if (!found.endpoint.enabled) {
      throw new AppError(
        'CONFLICT',
        `Endpoint ${found.endpointId} is disabled; enable it before redelivering`,
      );
    }
    const { endpoint: _endpoint, ...delivery } = found;
    if (delivery.status === 'PENDING') return delivery;
    const queued = await this.store.redeliver(deliveryId, new Date());
    this.options.onWork?.();
    return queued;
  }

  private async require(id: string, principal: Principal): Promise<WebhookEndpoint> {
    rejectNul('id', id);
    const endpoint = await this.store.findEndpoint(id);
    // An endpoint in a project the token may not see reads as absent: no existence leak.
    if (!endpoint || !canAccessProject(principal, endpoint.projectId)) throw notFound('Webhook endpoint', id);
    return endpoint;
  }

  private projectId(raw: string, principal: Principal): string {
    rejectNul('projectId', raw);
    const projectId = raw.trim();
    if (!projectId) throw badInput('projectId', 'projectId must not be empty');
    if (projectId.length > LIMITS.projectId) {
      throw badInput('projectId', `projectId must be at most ${LIMITS.projectId} characters`);
    }
    if (!canAccessProject(principal, projectId)) {
      throw new AppError('FORBIDDEN', `This token may not manage project ${JSON.stringify(projectId)}`);
    }
    return projectId;
  }

  /** https only (http with NOTIFY_ALLOW_HTTP), no credentials, and a host that is not internal. */
  private async checkUrl(raw: string, field = 'url'): Promise<string> {
    rejectNul(field, raw);
    const text = raw.trim();
    if (text.length > MAX_URL_LENGTH)
      throw badInput(field, `${field} must be at most ${MAX_URL_LENGTH} characters`);
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw badInput(field, `${field} is not a valid absolute URL`);
    }
    const schemes = this.options.allowHttp ? ['https:', 'http:'] : ['https:'];
    if (!schemes.includes(url.protocol)) {
      throw badInput(
        field,
        this.options.allowHttp
          ? `${field} must be http:// or https://`
          : `${field} must be https:// (set NOTIFY_ALLOW_HTTP=true to allow http://)`,
      );
    }
    if (url.username || url.password) throw badInput(field, `${field} must not carry credentials`);
    if (!this.options.allowPrivate) {
      try {
        await assertPublicHost(url.hostname);
      } catch (error) {
        throw badInput(field, `${field} is refused: ${(error as Error).message}`);
      }
    }
    return url.toString();
  }

  private pageSize(first: number | null | undefined): number {
    if (first == null) return Math.min(20, this.options.maxPageSize);
    if (!Number.isInteger(first) || first < 1) throw badInput('first', 'first must be a positive integer');
    if (first > this.options.maxPageSize)
      throw badInput('first', `first must be at most ${this.options.maxPageSize}`);
    return first;
  }
}

const newEndpointId = () => `whe_${randomBytes(12).toString('hex')}`;

function checkEvents(events: readonly string[]): NotificationType[] {
  if (!Array.isArray(events) || events.length === 0) {
    throw badInput('events', `events must name at least one of ${NOTIFICATION_TYPES.join(', ')}`);
  }
  const unknown = events.filter((e) => typeof e !== 'string' || !isNotificationType(e));
  if (unknown.length)
    throw badInput(
      'events',
      `unknown event ${String(unknown[0])}; expected ${NOTIFICATION_TYPES.join(', ')}`,
    );
  return [...new Set(events as NotificationType[])];
}
