import type { Logger } from '../logger.js';
import { postWebhook } from './http.js';
import { nextAttemptAt, type RetrySchedule } from './schedule.js';
import type { SecretBox } from './secrets.js';
import { signatureHeaders } from './signing.js';
import type { AttemptRecord, DueDelivery, NotificationStore } from './store.js';

export interface DeliveryWorkerOptions {
  /** Identifies this replica in lease columns. */
  owner: string;
  intervalMs: number;
  /** Deliveries claimed (and sent in parallel) per round. */
  concurrency: number;
  /** Longer than the request timeout, so a live worker never loses a lease mid-request. */
  leaseMs: number;
  allowPrivate: boolean;
  schedule: RetrySchedule;
  /** An endpoint that has failed this long without a success is disabled. */
  disableAfterMs: number;
  timeoutMs?: number;
}

/** What an attempt came to, for metrics: delivered, retry, failed, plus the HTTP class. */
export interface AttemptOutcome {
  outcome: 'delivered' | 'retry' | 'failed';
  result: string;
}

export const DISABLE_AFTER_MS = 5 * 24 * 3_600_000;

/**
 * Sends the outbox: claims due deliveries under a lease (any replica may), POSTs each signed with
 * the endpoint's secrets, and records the outcome — delivered on 2xx; retried on network errors,
 * timeouts, 429 and 5xx; failed on other answers; 410 also disables the endpoint.
 */
export class DeliveryWorker {
  private running = false;
  private loop: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private wakeUp: (() => void) | undefined;
  private woken = false;

  constructor(
    private readonly store: NotificationStore,
    private readonly secrets: SecretBox,
    private readonly options: DeliveryWorkerOptions,
    private readonly log: Logger,
    private readonly onAttempt: (outcome: AttemptOutcome) => void = () => {},
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.wake();
    await this.loop;
    await this.store
      .releaseLeases(this.options.owner)
      .catch((error) => this.log.warn({ err: error }, 'could not release delivery leases'));
  }

  /** Looks for due deliveries now (a run change committed here). */
  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  private async run(): Promise<void> {
    while (this.running) {
      let claimed = 0;
      try {
        claimed = await this.tick();
      } catch (error) {
        this.log.error({ err: error }, 'notification delivery round failed');
      }
      if (!this.running) break;
      if (claimed >= this.options.concurrency) continue;
      await this.sleep(this.options.intervalMs);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const finish = () => {
        clearTimeout(this.timer);
        this.wakeUp = undefined;
        this.woken = false;
        resolve();
      };
      this.timer = setTimeout(finish, ms);
      this.wakeUp = finish;
      if (this.woken || !this.running) finish();
    });
  }

  /** One round: claim, send in parallel, record. Returns how many deliveries it claimed. */
  async tick(): Promise<number> {
    const due = await this.store.claimDue(this.options.owner, this.options.leaseMs, this.options.concurrency);
    // One run's deliveries to one endpoint go in seq order (the claim holds back later ones, but a
    // round may hold several of the same run when they were all due): send those one after another.
    const chains = new Map<string, DueDelivery[]>();
    for (const delivery of due) {
      const key = `${delivery.endpointId}|${delivery.runId}`;
      chains.set(key, [...(chains.get(key) ?? []), delivery]);
    }
    await Promise.all(
      [...chains.values()].map(async (chain) => {
        for (const delivery of chain) {
          const delivered = await this.attempt(delivery).catch((error) => {
            this.log.error({ err: error, deliveryId: delivery.id }, 'notification attempt failed');
            return false;
          });
          if (!delivered) break;
        }
      }),
    );
    return due.length;
  }

  /** Sends one delivery and records what happened. Returns whether it was delivered. */
  private async attempt(delivery: DueDelivery): Promise<boolean> {
    const now = new Date();
    let secrets: string[];
    try {
      secrets = this.activeSecrets(delivery, now);
    } catch (error) {
      await this.record(
        delivery,
        { status: 'FAILED', statusCode: null, error: (error as Error).message, at: now },
        'secret',
      );
      return false;
    }
    const timestamp = Math.floor(now.getTime() / 1000);
    const headers = signatureHeaders(delivery.id, timestamp, delivery.payload, secrets);
    const answer = await postWebhook(delivery.url, headers, delivery.payload, {
      allowPrivate: this.options.allowPrivate,
      timeoutMs: this.options.timeoutMs,
    });
    const at = new Date();
    if (answer.kind === 'response' && answer.status >= 200 && answer.status < 300) {
      await this.record(delivery, { status: 'DELIVERED', statusCode: answer.status, error: null, at }, '2xx');
      if (delivery.failingSince) await this.store.setFailingSince(delivery.endpointId, null);
      return true;
    }
    if (answer.kind === 'response' && answer.status === 410) {
      const reason = `the endpoint answered 410 Gone on ${at.toISOString()}`;
      await this.record(delivery, { status: 'FAILED', statusCode: 410, error: 'HTTP 410 Gone', at }, '410');
      await this.store.disableEndpoint(delivery.endpointId, reason);
      this.log.warn({ endpointId: delivery.endpointId }, 'webhook endpoint disabled: it answered 410');
      return false;
    }
    const retryable =
      answer.kind === 'error' ? !answer.refused : answer.status === 429 || answer.status >= 500;
    const statusCode = answer.kind === 'response' ? answer.status : null;
    const error = answer.kind === 'error' ? answer.message : describeAnswer(answer.status, answer.body);
    const result =
      answer.kind === 'error' ? (answer.refused ? 'refused' : 'network') : httpClass(answer.status);
    const next = retryable
      ? nextAttemptAt(
          delivery.attempts + 1,
          delivery.retryingSince,
          at,
          this.options.schedule,
          answer.kind === 'response' ? answer.retryAfterMs : null,
        )
      : null;
    await this.record(
      delivery,
      next
        ? { status: 'PENDING', nextAttemptAt: next, statusCode, error, at }
        : { status: 'FAILED', statusCode, error, at },
      result,
    );
    await this.noteFailure(delivery, at);
    return false;
  }

  private async record(delivery: DueDelivery, record: AttemptRecord, result: string): Promise<void> {
    const written = await this.store.recordAttempt(delivery.id, this.options.owner, record);
    if (!written) return; // the lease ran out and another replica has it now
    const outcome =
      record.status === 'DELIVERED' ? 'delivered' : record.status === 'FAILED' ? 'failed' : 'retry';
    this.onAttempt({ outcome, result });
  }

  /** Starts an endpoint's failing clock, or disables it once it has failed for `disableAfterMs`. */
  private async noteFailure(delivery: DueDelivery, at: Date): Promise<void> {
    if (!delivery.failingSince) {
      await this.store.setFailingSince(delivery.endpointId, at);
      return;
    }
    const failingMs = at.getTime() - delivery.failingSince.getTime();
    if (failingMs < this.options.disableAfterMs) return;
    const days = Math.round(failingMs / 86_400_000);
    const reason = `every delivery has failed since ${delivery.failingSince.toISOString()} (${days} days)`;
    await this.store.disableEndpoint(delivery.endpointId, reason);
    this.log.warn({ endpointId: delivery.endpointId }, 'webhook endpoint disabled: failing for days');
  }

  /** The current secret, and the previous one while a rotation's overlap lasts. */
  private activeSecrets(delivery: DueDelivery, now: Date): string[] {
    const secrets = [this.secrets.open(delivery.secret)];
    if (
      delivery.previousSecret &&
      delivery.previousSecretExpiresAt &&
      delivery.previousSecretExpiresAt > now
    ) {
      secrets.push(this.secrets.open(delivery.previousSecret));
    }
    return secrets;
  }
}

function httpClass(status: number): string {
  return status === 429 ? '429' : `${Math.floor(status / 100)}xx`;
}

/** A short, single-line record of a refusal: status and the start of the body (never headers). */
function describeAnswer(status: number, body: string): string {
  const text = body.replace(/\s+/g, ' ').trim().slice(0, 200);
  const redirect = status >= 300 && status < 400 ? ' (redirects are not followed)' : '';
  return `HTTP ${status}${redirect}${text ? `: ${text}` : ''}`;
}
