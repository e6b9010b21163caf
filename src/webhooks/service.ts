import { randomUUID } from 'node:crypto';
import type { Prisma, WebhookDelivery } from '../generated/prisma/client.js';
import type { Logger } from '../logger.js';
import type { RunStore } from '../runs/store.js';
import { correlate, type MatchRule } from './correlate.js';
import { type Decision, decide, type Outcome } from './effects.js';
import type { Delivery, PullRequestFacts } from './types.js';

export interface Receipt {
  outcome: Outcome;
  runId: string | null;
  detail: string;
  /** This delivery id was seen before: acknowledged, nothing changed. */
  duplicate: boolean;
}

type Db = Pick<Prisma.TransactionClient, 'webhookDelivery'>;

function isUniqueViolation(error: unknown): boolean {
  return (error as { code?: string } | null)?.code === 'P2002';
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
    private readonly store: RunStore,
    log: Logger,
  ) {
    this.log = log.child({ component: 'webhooks' });
  }

  async receive(delivery: Delivery): Promise<Receipt> {
    const key = { provider: delivery.provider, deliveryId: delivery.deliveryId };
    const seen = await this.store.prisma.webhookDelivery.findUnique({ where: { provider_deliveryId: key } });
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
      const row = await this.store.prisma.webhookDelivery.findUniqueOrThrow({
        where: { provider_deliveryId: key },
      });
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
    const match = await correlate(this.store.prisma, pr, change, delivery.agentLogins);
    if (!match.run) return this.record(delivery, 'UNMATCHED', match.detail, summary(pr));

    let decision: Decision | undefined;
    const result = await this.store.transition(
      match.run.id,
      (run) => {
        decision = decide(run, change, pr, delivery.deliveryId);
        return decision.change;
      },
      async (tx) => {
        const d = decision!;
        await this.insert(
          tx,
          delivery,
          d.outcome,
          `${match.detail}: ${d.detail}`,
          summary(pr, match.rule),
          match.run.id,
        );
      },
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
    await this.insert(this.store.prisma, delivery, outcome, detail, data, null);
    return { outcome, runId: null, detail, duplicate: false };
  }

  private insert(
    db: Db,
    delivery: Delivery,
    outcome: Outcome,
    detail: string,
    data: Prisma.InputJsonValue | undefined,
    runId: string | null,
  ) {
    return db.webhookDelivery.create({
      data: {
        id: `whd_${randomUUID()}`,
        provider: delivery.provider,
        deliveryId: delivery.deliveryId,
        event: delivery.event,
        action: delivery.action,
        runId,
        outcome,
        detail: detail.slice(0, 1000),
        data,
      },
    });
  }
}
