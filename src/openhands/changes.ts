import type { FileChange, Outcome } from '../runs/upstream.js';
import { shortPath } from './activity.js';

/** OpenHands' git change statuses (agent server and V0) in the runner's words. */
const CHANGE: Record<string, FileChange> = {
  ADDED: 'ADDED',
  UPDATED: 'MODIFIED',
  MODIFIED: 'MODIFIED',
  DELETED: 'DELETED',
  MOVED: 'RENAMED',
  RENAMED: 'RENAMED',
};

/** `[{status, path}]` → changed files; null when the body is not such a list. */
export function toChangedFiles(body: unknown, repository: string | null): Outcome['changedFiles'] {
  if (!Array.isArray(body)) return null;
  const files: NonNullable<Outcome['changedFiles']> = [];
  for (const entry of body) {
    const { status, path } = (entry ?? {}) as { status?: unknown; path?: unknown };
    if (typeof path !== 'string' || typeof status !== 'string') continue;
    files.push({ path: shortPath(path, repository), change: CHANGE[status.toUpperCase()] ?? 'MODIFIED' });
  }
  return files;
}
