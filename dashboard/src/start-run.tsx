import { useState } from 'preact/hooks';
import type { Session } from './api.js';
import { START_RUN, type StartRunAnswer } from './documents.js';
import { navigate } from './router.js';

/** Starts a run (project, repository, branch, prompt) and takes the user to it. */
export function StartRunForm({ session }: { session: Session }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const text = (name: string) => String(form.get(name) ?? '').trim();
    setBusy(true);
    setError(null);
    try {
      const { startRun } = await session.request<StartRunAnswer>(START_RUN, {
        input: {
          projectId: text('project'),
          compiledPrompt: text('prompt'),
          repository: text('repository') || null,
          branch: text('branch') || null,
          // One key per submission: a retried request never starts a second run.
          idempotencyKey: crypto.randomUUID(),
        },
      });
      navigate(`/runs/${encodeURIComponent(startRun.run.id)}`);
    } catch (e) {
      setError((e as Error).message);
      setBusy(false);
    }
  };
  return (
    <details class="start-run">
      <summary>Start a run</summary>
      <form onSubmit={submit} aria-label="Start a run">
        <label>
          Project <input name="project" required />
        </label>
        <label>
          Repository <input name="repository" placeholder="owner/repo" />
        </label>
        <label>
          Branch <input name="branch" placeholder="main" />
        </label>
        <label class="wide">
          Prompt <textarea name="prompt" required rows={4} />
        </label>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {busy ? 'Starting…' : 'Start run'}
        </button>
      </form>
    </details>
  );
}
