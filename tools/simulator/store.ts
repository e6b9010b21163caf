/** What the server needs from a version's state, whichever generation it fakes. */
import type { Route } from './http.js';
import type { Run } from './run.js';
import type { ConversationInfo } from './types.js';

export interface VersionApi {
  routes: Route[];
  /** Live (not deleted) runs, for [sim:flaky] / [sim:429] matching and complete(). */
  runs(): Run[];
  /** GETs that read a conversation's status (what [sim:429] throttles). */
  isStatusRead(method: string, path: string): boolean;
  /** Simulated server restart. */
  restart(): void;
  conversations(): ConversationInfo[];
  /** Clear every timer (simulator shutdown). */
  shutdown(): void;
}

/** Shared introspection fields of a run. */
export function baseInfo(
  run: Run,
): Pick<
  ConversationInfo,
  'prompt' | 'stopped' | 'deleted' | 'messages' | 'scenarios' | 'prNumbers' | 'prUrl' | 'blipsShown'
> {
  return {
    prompt: run.prompt,
    stopped: run.stopped,
    deleted: run.deleted,
    messages: [...run.messages],
    scenarios: [...run.scenario],
    prNumbers: [...run.prNumbers],
    prUrl: run.prUrl,
    blipsShown: run.blipsShown,
  };
}
