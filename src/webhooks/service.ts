import type { Prisma } from '../generated/prisma/client.js';
import type { Logger } from '../logger.js';
import { type PullRequestDecision, type PullRequestOutcome, pullRequestReported } from '../runs/lifecycle.js';
import type { RunStore } from '../runs/store/index.js';
import { isUniqueViolation } from '../storage/errors.js';
import { correlate, type MatchRule } from './correlate.js';
import type { DeliveryStore, WebhookDelivery } from './delivery-store.js';
import type { Delivery, PullRequestFacts } from './types.js';

/** What a delivery did: the lifecycle's outcome for a matched request, or why nothing was matched. */
export type Outcome = PullRequestOutcome | 'UNMATCHED' | 'IGNORED';

export interface Receipt {
  outcome: Outcome;
  runId: string | null;
  detail: string;
  /** This delivery id was seen before: acknowledged, nothing changed. */
  duplicate: boolean;
}

function summary(pr: PullRequestFacts, rule?: MatchRule): Prisma.InputJsonValue {
  // What operators need to find the request again; the payload itself is not kept.
  return {
    ...(rule ? { matchedBy: rule } : {}),
    pullRequest: {
      provider: pr.provider,
      repository: pr.repository,
      number: pr.number,
      url: pr.url,
      state: pr.state,
      headBranch: pr.headBranch,
      headSha: pr.headSha,
    },
  };
}

/**
 * Applies verified deliveries. Idempotency rests on the unique (provider, deliveryId) index: the
 * delivery row is written in the same transaction as the run change, so of two concurrent copies
 * one commits and the other's whole transaction (event included) rolls back as a duplicate.
 */
export class WebhookService {
  private readonly log: Logger;

  constructor(
    private readonly runs: RunStore,
    private readonly deliveries: DeliveryStore,
    log: Logger,
  ) {
    this.log = log.child({ component: 'webhooks' });
  }

  async receive(delivery: Delivery): Promise<Receipt> {
    const seen = await this.deliveries.find(delivery.provider, delivery.deliveryId);
    if (seen) return this.duplicate(delivery, seen);
    try {
      const receipt = await this.apply(delivery);
      this.log.info(
        {
          provider: delivery.provider,
          deliveryId: delivery.deliveryId,
          event: delivery.event,
          action: delivery.action,
          outcome: receipt.outcome,
          runId: receipt.runId,
        },
        'webhook delivery processed',
      );
      return receipt;
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      const row = await this.deliveries.find(delivery.provider, delivery.deliveryId);
      if (!row) throw error;
      return this.duplicate(delivery, row);
    }
  }

  private duplicate(delivery: Delivery, row: WebhookDelivery): Receipt {
    this.log.info(
      { provider: delivery.provider, deliveryId: delivery.deliveryId },
      'webhook redelivery ignored',
    );
    return {
      outcome: row.outcome as Outcome,
      runId: row.runId,
      detail: `already processed: ${row.detail ?? row.outcome}`,
      duplicate: true,
    };
  }

  private async apply(delivery: Delivery): Promise<Receipt> {
    const { parsed } = delivery;
    if (parsed.kind === 'ping')
      return this.record(delivery, 'IGNORED', 'ping: the webhook reaches this service');
    if (parsed.kind === 'ignored') return this.record(delivery, 'IGNORED', parsed.reason);

    const { pr, change } = parsed;
    const match = await correlate(this.runs, pr, change, delivery.agentLogins);
    if (!match.run) return this.record(delivery, 'UNMATCHED', match.detail, summary(pr));

    const reported = { ...pr, source: 'webhook' as const, deliveryId: delivery.deliveryId };
    let decision: PullRequestDecision | undefined;
    const result = await this.runs.transition(
      match.run.id,
      (run) => {
        decision = pullRequestReported(run, change, reported, new Date());
        return decision.change;
      },
      (tx) =>
        this.deliveries.insert(
          entry(
            delivery,
            decision!.outcome,
            `${match.detail}: ${decision!.detail}`,
            summary(pr, match.rule),
            match.run.id,
          ),
          tx,
        ),
    );
    if (!result || !decision)
      return this.record(delivery, 'UNMATCHED', `run ${match.run.id} no longer exists`, summary(pr));
    return {
      outcome: decision.outcome,
      runId: match.run.id,
      detail: `${match.detail}: ${decision.detail}`,
      duplicate: false,
    };
  }

  private async record(
    delivery: Delivery,
    outcome: Outcome,
    detail: string,
    data?: Prisma.InputJsonValue,
  ): Promise<Receipt> {
    await this.deliveries.insert(entry(delivery, outcome, detail, data, null));
    return { outcome, runId: null, detail, duplicate: false };
  }
}

function entry(
  delivery: Delivery,
  outcome: Outcome,
  detail: string,
  data: Prisma.InputJsonValue | undefined,
  runId: string | null,
) {
  const { provider, deliveryId, event, action } = delivery;
  return { provider, deliveryId, event, action, runId, outcome, detail, data };
}
