// The run's conversation with the agent: messages and actions from the timeline, the question and
// its "Answer" box while the run waits for input, and the outcome once known. The event types are
// strings; the fields below (Run.question, Run.outcome) are part of the run page's query.
import { useState } from 'preact/hooks';
import type { Session } from './api.js';
import type { RunEvent } from './documents.js';
import { dateTime } from './format.js';

export const CONVERSATION_EVENT_TYPES = ['AGENT_MESSAGE', 'AGENT_ACTION', 'USER_MESSAGE'];

/** Part of the run page's `run { … }` selection (documents.ts). */
export const CONVERSATION_RUN_FIELDS = 'question outcome { summary changedFiles { path change } fetchedAt }';

export const SEND_RUN_MESSAGE = `mutation DashboardSendRunMessage($input: SendRunMessageInput!) {
  sendRunMessage(input: $input) { run { id status } event { seq } }
}`;

export interface Outcome {
  summary: string | null;
  /** Null when OpenHands could not say. */
  changedFiles: Array<{ path: string; change: string }> | null;
  fetchedAt: string | null;
}

export interface ConversationFields {
  question?: string | null;
  outcome?: Outcome | null;
}

export function isConversationEvent(event: RunEvent): boolean {
  return CONVERSATION_EVENT_TYPES.includes(event.type);
}

/** An action's details, when the event carries some beyond its message. */
function actionDetail(data: unknown): string | null {
  if (!data || typeof data !== 'object') return null;
  const text = JSON.stringify(data, null, 2);
  return text === '{}' ? null : text;
}

export function Conversation({ events }: { events: RunEvent[] }) {
  const turns = events.filter(isConversationEvent);
  if (turns.length === 0) return null;
  return (
    <section aria-labelledby="conversation-title">
      <h2 id="conversation-title">Conversation</h2>
      <ol class="conversation">
        {turns.map((event) => {
          const who =
            event.type === 'USER_MESSAGE' ? 'You' : event.type === 'AGENT_ACTION' ? 'Agent action' : 'Agent';
          const detail = event.type === 'AGENT_ACTION' ? actionDetail(event.data) : null;
          return (
            <li key={event.seq} class={`turn turn-${event.type}`} data-seq={event.seq}>
              <div class="turn-head">
                <strong>{who}</strong> <time dateTime={event.at}>{dateTime(event.at)}</time>
              </div>
              <p class="turn-text">{event.message ?? ''}</p>
              {detail && (
                <details>
                  <summary>Details</summary>
                  <pre>{detail}</pre>
                </details>
              )}
            </li>
          );
        })}
      </ol>
    </section>
  );
}

/** The agent's question and a box to answer it; shown while the run is AWAITING_INPUT. */
export function AnswerBox({
  session,
  runId,
  question,
}: {
  session: Session;
  runId: string;
  question: string;
}) {
  const [text, setText] = useState('');
  const [state, setState] = useState<{ busy: boolean; error: string | null; sent: boolean }>({
    busy: false,
    error: null,
    sent: false,
  });
  const submit = async (event: Event) => {
    event.preventDefault();
    if (!text.trim()) return;
    setState({ busy: true, error: null, sent: false });
    try {
      await session.request(SEND_RUN_MESSAGE, {
        input: { runId, text, idempotencyKey: crypto.randomUUID() },
      });
      setText('');
      setState({ busy: false, error: null, sent: true });
    } catch (e) {
      setState({ busy: false, error: (e as Error).message, sent: false });
    }
  };
  return (
    <section class="question" aria-labelledby="question-title">
      <h2 id="question-title">The agent asks</h2>
      <p class="question-text">{question}</p>
      <form onSubmit={submit}>
        <label class="wide">
          Answer <textarea value={text} onInput={(e) => setText(e.currentTarget.value)} rows={3} required />
        </label>
        {state.error && (
          <p class="error" role="alert">
            {state.error}
          </p>
        )}
        {state.sent && <p role="status">Answer sent.</p>}
        <button type="submit" disabled={state.busy}>
          {state.busy ? 'Sending…' : 'Send answer'}
        </button>
      </form>
    </section>
  );
}

export function OutcomePanel({ outcome }: { outcome: Outcome }) {
  return (
    <section aria-labelledby="outcome-title">
      <h2 id="outcome-title">Outcome</h2>
      {outcome.summary && <p class="summary">{outcome.summary}</p>}
      {outcome.changedFiles && outcome.changedFiles.length > 0 && (
        <ul class="changed-files">
          {outcome.changedFiles.map((file) => (
            <li key={file.path}>
              <span class={`change change-${file.change}`}>{file.change.toLowerCase()}</span>{' '}
              <code>{file.path}</code>
            </li>
          ))}
        </ul>
      )}
      {outcome.fetchedAt && <p class="muted">As of {dateTime(outcome.fetchedAt)}</p>}
    </section>
  );
}
