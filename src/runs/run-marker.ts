/**
 * The line the agent is asked to put in its pull request, so that a forge webhook can find the run
 * even when the poller has not seen the PR yet (see the correlation rules in docs/webhooks.md).
 */
export function runMarker(runId: string): string {
  return `openhands-runner: ${runId}`;
}

/** The prompt sent to OpenHands: the client's prompt, plus the marker request when there is a repository. */
export function promptForAgent(
  run: { id: string; compiledPrompt: string; repository: string | null },
  askForMarker: boolean,
): string {
  if (!askForMarker || !run.repository) return run.compiledPrompt;
  return `${run.compiledPrompt}\n\n---\nIf you open a pull request or merge request for this task, include this line in its description: ${runMarker(run.id)}`;
}
