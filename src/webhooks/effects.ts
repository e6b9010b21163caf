import type { Prisma } from '../generated/prisma/client.js';
import { isFinal } from '../runs/status.js';
import type { Run, RunChange } from '../runs/store.js';
import { isSameRequest } from './correlate.js';
import type { PullRequestChange, PullRequestFacts, PullRequestState } from './types.js';

/**
 * What a verified pull/merge request delivery does to its (locked) run. Pure, so the decision is
 * made on the row as it is inside the transaction, never on a stale read.
 *
 * Outcomes, as recorded on the WebhookDelivery row:
 *   COMPLETED_RUN         an active run became COMPLETED with the request attached
 *   UPDATED_PULL_REQUEST  the attached request changed state or got new commits (event appended)
 *   RECORDED              a request attached to a run that had already ended; status unchanged
 *   UNCHANGED             the run already says this (another delivery, or the poller, got there
 *                         first), or the run already has a different request
 */
export type Outcome =
  | 'COMPLETED_RUN'
  | 'UPDATED_PULL_REQUEST'
  | 'RECORDED'
  | 'UNCHANGED'
  | 'UNMATCHED'
  | 'IGNORED';

export interface Decision {
  outcome: Outcome;
  detail: string;
  change: RunChange | null;
}

const VERB: Record<PullRequestState, string> = { OPEN: 'opened', MERGED: 'merged', CLOSED: 'closed' };

/**
 * The attached request's next state. MERGED is final; a late `opened` (deliveries can arrive out of
 * order) never reopens a closed request, only an explicit reopen does.
 */
export function nextState(current: PullRequestState, change: PullRequestChange): PullRequestState {
  if (current === 'MERGED') return 'MERGED';
  if (change === 'MERGED') return 'MERGED';
  if (change === 'CLOSED') return 'CLOSED';
  if (change === 'REOPENED') return 'OPEN';
  return current;
}

function eventData(pr: PullRequestFacts, state: PullRequestState, deliveryId: string): Prisma.InputJsonValue {
  // The poller's PULL_REQUEST event carries provider/url/number/repository; this is a superset.
  return {
    provider: pr.provider,
    url: pr.url,
    number: pr.number,
    repository: pr.repository,
    state,
    headBranch: pr.headBranch,
    headSha: pr.headSha,
    source: 'webhook',
    deliveryId,
  };
}

export function decide(
  run: Run,
  change: PullRequestChange,
  pr: PullRequestFacts,
  deliveryId: string,
): Decision {
  const active = !isFinal(run.status);
  // A run that is (or becomes) COMPLETED describes its request in the phase; a failed one keeps "Failed".
  const phaseFor = (state: PullRequestState) =>
    active || run.status === 'COMPLETED' ? `Pull request ${VERB[state]}` : undefined;

  if (!run.prUrl) {
    const state = pr.state;
    const set = {
      prProvider: pr.provider,
      prUrl: pr.url,
      prNumber: pr.number,
      prState: state,
      prHeadBranch: pr.headBranch,
      prHeadSha: pr.headSha,
    };
    const event = {
      type: 'PULL_REQUEST',
      message: `Pull request ${VERB[state]}: ${pr.url}`,
      data: eventData(pr, state, deliveryId),
    };
    if (active) {
      // Same effect as the poller finding the URL in OpenHands events: the request is the deliverable.
      return {
        outcome: 'COMPLETED_RUN',
        detail: `run completed with ${pr.url}`,
        change: {
          status: 'COMPLETED',
          phase: phaseFor(state),
          event,
          set: { ...set, blipCount: 0, blipSince: null },
        },
      };
    }
    // An ended run never becomes active again; keep the request for operators to see.
    return {
      outcome: 'RECORDED',
      detail: `run had already ended ${run.status}; request attached, status unchanged`,
      change: { phase: phaseFor(state), event, set },
    };
  }

  if (!isSameRequest(run, pr)) {
    // One run, one request: a second one must not overwrite what the run reports.
    return {
      outcome: 'UNCHANGED',
      detail: `run already has ${run.prUrl}; ${pr.url} not attached`,
      change: null,
    };
  }

  const current = (run.prState ?? 'OPEN') as PullRequestState;
  const state = nextState(current, change);
  // The poller does not know the head branch or sha: fill them in when a delivery brings them.
  const fill: NonNullable<RunChange['set']> = {};
  if (!run.prHeadBranch) fill.prHeadBranch = pr.headBranch;
  if (pr.headSha && !run.prHeadSha) fill.prHeadSha = pr.headSha;
  // Attached but still active cannot happen through the poller or this code; complete it anyway.
  const complete = active ? { status: 'COMPLETED' as const } : {};
  const updated: Outcome = active ? 'COMPLETED_RUN' : 'UPDATED_PULL_REQUEST';

  if (state !== current) {
    return {
      outcome: updated,
      detail: `pull request ${current} → ${state}`,
      change: {
        ...complete,
        phase: phaseFor(state),
        event: {
          type: 'PULL_REQUEST',
          message: `Pull request ${VERB[state]}: ${pr.url}`,
          data: eventData(pr, state, deliveryId),
        },
        set: { ...fill, prState: state },
      },
    };
  }
  if (change === 'PUSHED' && pr.headSha && pr.headSha !== run.prHeadSha) {
    return {
      outcome: updated,
      detail: `new head ${pr.headSha}`,
      change: {
        ...complete,
        event: {
          type: 'PULL_REQUEST_UPDATED',
          message: `New commits on pull request ${pr.url} (head ${pr.headSha.slice(0, 12)})`,
          data: eventData(pr, state, deliveryId),
        },
        set: { ...fill, prHeadSha: pr.headSha },
      },
    };
  }
  if (active) {
    return {
      outcome: 'COMPLETED_RUN',
      detail: `run completed with ${pr.url}`,
      change: {
        status: 'COMPLETED',
        phase: phaseFor(state),
        event: {
          type: 'PULL_REQUEST',
          message: `Pull request ${VERB[state]}: ${pr.url}`,
          data: eventData(pr, state, deliveryId),
        },
        set: fill,
      },
    };
  }
  const filled = Object.keys(fill).length > 0;
  return {
    outcome: 'UNCHANGED',
    detail: `run already shows the pull request ${state}${filled ? '; head branch/sha filled in' : ''}`,
    change: filled ? { set: fill } : null,
  };
}
