import { useEffect, useRef, useState } from 'preact/hooks';
import type { Session } from './api.js';
import {
  AnswerBox,
  Conversation,
  type ConversationFields,
  isConversationEvent,
  OutcomePanel,
} from './conversation.js';
import {
  CANCEL_RUN,
  FINAL_STATUSES,
  RUN_PROGRESS,
  RUN_QUERY,
  type RunAnswer,
  type RunDetail,
  type RunEvent,
  type RunProgressAnswer,
} from './documents.js';
import { dateTime, duration } from './format.js';
import { PercentBar, StatusBadge } from './status.js';

type Run = RunDetail & ConversationFields;

// Events that change what only the run query shows (error, pull request, timestamps): re-read it.
const REFETCH_DELAY_MS = 300;

/**
 * The run's timeline from runProgress, live. It starts at afterSeq 0 (the whole stored log, then
 * live events) and keeps afterSeq at the last seq received in the very variables object graphql-ws
 * re-sends on reconnect, so after a lost connection it resumes there: no gap, and a seq already
 * shown is dropped should one come twice.
 */
function useTimeline(session: Session, runId: string, onEvents: (events: RunEvent[]) => void) {
  const [events, setEvents] = useState<RunEvent[]>([]);
  const [ended, setEnded] = useState(false);
  useEffect(() => {
    setEvents([]);
    setEnded(false);
    const variables = { runId, afterSeq: 0 };
    let pending: RunEvent[] = [];
    let frame = 0;
    const flush = () => {
      frame = 0;
      const batch = pending;
      pending = [];
      setEvents((shown) => [...shown, ...batch]);
      onEvents(batch);
    };
    const stop = session.subscribe<RunProgressAnswer>(RUN_PROGRESS, variables, {
      next: ({ runProgress: event }) => {
        if (event.seq <= variables.afterSeq) return;
        variables.afterSeq = event.seq;
        pending.push(event);
        if (!frame) frame = requestAnimationFrame(flush);
      },
      complete: () => setEnded(true),
    });
    return () => {
      stop();
      cancelAnimationFrame(frame);
    };
  }, [session, runId]);
  return { events, ended };
}

export function RunPage({ session, runId }: { session: Session; runId: string }) {
  const [run, setRun] = useState<Run | null>(null);
  const [missing, setMissing] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const refetch = useRef<() => void>(() => {});

  useEffect(() => {
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const load = () =>
      session
        .request<RunAnswer>(RUN_QUERY, { id: runId })
        .then(({ run: answer }) => {
          if (!live) return;
          if (answer) setRun(answer);
          else setMissing(true);
        })
        .catch((e: Error) => live && setError(e.message));
    refetch.current = () => {
      clearTimeout(timer);
      timer = setTimeout(load, REFETCH_DELAY_MS);
    };
    void load();
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [session, runId]);

  const { events, ended } = useTimeline(session, runId, (batch) => {
    const last = batch[batch.length - 1];
    setRun((r) => (r ? { ...r, status: last.status, percent: last.percent, phase: last.phase } : r));
    if (batch.some((e) => e.type !== 'PROGRESS')) refetch.current();
  });

  if (missing)
    return (
      <main>
        <h1>Run not found</h1>
        <p>
          There is no run <code>{runId}</code> visible to this token. <a href="/">All runs</a>
        </p>
      </main>
    );
  return (
    <main>
      <p>
        <a href="/">← All runs</a>
      </p>
      <h1>
        Run <code>{runId}</code>
      </h1>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {run && <RunSummary session={session} run={run} />}
      {run?.status === 'AWAITING_INPUT' && run.question != null && (
        <AnswerBox session={session} runId={run.id} question={run.question} />
      )}
      {run?.outcome && <OutcomePanel outcome={run.outcome} />}
      <Conversation events={events} />
      <Timeline events={events.filter((e) => !isConversationEvent(e))} ended={ended} />
    </main>
  );
}

function RunSummary({ session, run }: { session: Session; run: Run }) {
  const final = FINAL_STATUSES.includes(run.status);
  return (
    <section class="run-summary" aria-label="Run summary">
      <dl>
        <dt>Status</dt>
        <dd id="run-status">
          <StatusBadge status={run.status} />
        </dd>
        <dt>Progress</dt>
        <dd>
          <PercentBar percent={run.percent} />
        </dd>
        <dt>Phase</dt>
        <dd id="run-phase">{run.phase}</dd>
        <dt>Project</dt>
        <dd>{run.projectId}</dd>
        <dt>Repository</dt>
        <dd>
          {run.repository ?? '–'}
          {run.branch && ` @ ${run.branch}`}
        </dd>
        <dt>Created</dt>
        <dd>{dateTime(run.createdAt)}</dd>
        <dt>Duration</dt>
        <dd>{duration(run.startedAt ?? run.createdAt, run.finishedAt)}</dd>
        <dt>Pull request</dt>
        <dd>
          {run.pullRequest ? (
            <a class="pr-link" href={run.pullRequest.url} rel="noreferrer noopener" target="_blank">
              {run.pullRequest.url}
            </a>
          ) : (
            '–'
          )}
          {run.pullRequest && <span class="pr-state"> ({run.pullRequest.state.toLowerCase()})</span>}
        </dd>
      </dl>
      {run.error && (
        <div class="run-error" role="alert">
          <h2>Error</h2>
          <p>
            <code class="error-code">{run.error.code}</code>: {run.error.message}
          </p>
          <p>{run.error.retryable ? 'Starting it again may succeed.' : 'Starting it again will not help.'}</p>
        </div>
      )}
      <details>
        <summary>Prompt</summary>
        <pre class="prompt">{run.compiledPrompt}</pre>
      </details>
      {!final && <CancelButton session={session} runId={run.id} />}
    </section>
  );
}

/** Cancel, then a confirmation in place (keyboard: focus moves to it, Escape keeps the run). */
function CancelButton({ session, runId }: { session: Session; runId: string }) {
  const [asking, setAsking] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const confirm = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (asking) confirm.current?.focus();
  }, [asking]);
  const cancel = async () => {
    setError(null);
    try {
      await session.request(CANCEL_RUN, { id: runId });
      setAsking(false);
    } catch (e) {
      setError((e as Error).message);
    }
  };
  if (!asking)
    return (
      <button type="button" class="danger" onClick={() => setAsking(true)}>
        Cancel run
      </button>
    );
  return (
    <div
      class="confirm"
      role="alertdialog"
      aria-labelledby="confirm-text"
      onKeyDown={(e) => e.key === 'Escape' && setAsking(false)}
    >
      <p id="confirm-text">Cancel this run? Its OpenHands conversation is stopped; this cannot be undone.</p>
      <button type="button" class="danger" ref={confirm} onClick={cancel}>
        Yes, cancel the run
      </button>{' '}
      <button type="button" onClick={() => setAsking(false)}>
        Keep it running
      </button>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}

function Timeline({ events, ended }: { events: RunEvent[]; ended: boolean }) {
  return (
    <section aria-labelledby="timeline-title">
      <h2 id="timeline-title">Timeline</h2>
      <ol class="timeline" aria-live="polite">
        {events.map((event) => (
          <li key={event.seq} data-seq={event.seq} data-type={event.type}>
            <span class="seq">#{event.seq}</span> <time dateTime={event.at}>{dateTime(event.at)}</time>{' '}
            <strong>{event.type}</strong> <StatusBadge status={event.status} /> {event.percent}% ·{' '}
            {event.phase}
            {event.message && <div class="event-message">{event.message}</div>}
          </li>
        ))}
      </ol>
      {ended && <p class="muted">The run has ended; the timeline is complete.</p>}
    </section>
  );
}
