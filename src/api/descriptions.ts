/**
 * Field descriptions that both APIs publish: the GraphQL schema (Pothos) and the REST document
 * (TypeBox) import them from here, so the two never describe the same field differently.
 * Changing one changes schema.graphql: run `npm run schema:print`.
 */
export const DESCRIPTIONS = {
  runStatus:
    'QUEUED → STARTING → RUNNING (⇄ AWAITING_INPUT) → COMPLETED | FAILED | CANCELLED | TIMED_OUT. The last four are final.',
  percent: '0–100; never decreases; 100 only when COMPLETED.',
  phase: 'Human-readable current step.',
  errorCode: 'Stable machine-readable reason, e.g. SANDBOX_START_FAILED, STALLED.',
  errorRetryable: 'Whether starting the same run again may succeed.',
  pullRequestState: 'OPEN, MERGED or CLOSED',
  runEvent: "One entry of a run's timeline; seq counts 1, 2, 3 … per run with no gaps.",
  eventType:
    'CREATED, STATUS_CHANGED, PROGRESS, PULL_REQUEST, UPSTREAM_FAULT, AGENT_MESSAGE, AGENT_ACTION, AGENT_OBSERVATION, USER_MESSAGE, MESSAGE_DELIVERED, MESSAGE_FAILED, ACTIVITY_TRUNCATED, …',
  question: "The agent's last message while the run is AWAITING_INPUT; null otherwise.",
  outcome:
    'What the agent delivered, read once when the run ends or its pull request opens; null until then.',
  sendRunMessage:
    'Sends a message to the agent (an answer to its question, or a follow-up). Stored first and delivered in order by the poller; MESSAGE_DELIVERED or MESSAGE_FAILED follows in the run events.',
  repository: '"owner/repo", a GitLab group path, or the repository URL.',
  branch: 'Also accepted as metadata.branch.',
  metadata: 'Any JSON object; kept with the run.',
  idempotencyKey: 'Same key within a project → same run.',
  notifyUrl:
    "Also POST this run's notifications (every type) here, signed Standard Webhooks style with a secret of the run's own, returned once as notifySecret. Same URL rules as webhook endpoints.",
  notifySecret:
    "The whsec_ secret that signs this run's notifications to its notifyUrl: returned only by startRun (and its idempotent replays); store it now. Null without a notifyUrl.",
  notifyEndpointId:
    'The webhook endpoint delivering to notifyUrl (its delivery log: webhookDeliveries). Null without a notifyUrl.',
  runs: 'Runs, newest first.',
  startRun: 'Queues a run and returns at once (status QUEUED); OpenHands is called in the background.',
  cancelRun: 'Ends the run CANCELLED and stops its OpenHands conversation. Cancelling twice is harmless.',
} as const;
