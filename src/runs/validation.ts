import { badInput } from '../errors.js';

export const GIT_PROVIDERS = ['GITHUB', 'GITLAB', 'BITBUCKET', 'AZURE_DEVOPS', 'FORGEJO'] as const;
export type GitProvider = (typeof GIT_PROVIDERS)[number];

export interface StartRunInput {
  projectId: string;
  compiledPrompt: string;
  repository?: string | null;
  branch?: string | null;
  gitProvider?: string | null;
  metadata?: unknown;
  idempotencyKey?: string | null;
  /** Where this run's notifications go too; checked by src/notifications (RunNotifyTargets). */
  notifyUrl?: string | null;
}

export interface ValidStartRun {
  projectId: string;
  compiledPrompt: string;
  repository: string | null;
  branch: string | null;
  gitProvider: GitProvider | null;
  metadata: Record<string, unknown> | null;
  idempotencyKey: string | null;
}

export const LIMITS = {
  projectId: 200,
  compiledPrompt: 200_000,
  repository: 255,
  branch: 255,
  idempotencyKey: 255,
  metadataBytes: 64 * 1024,
  /** Levels of objects and arrays, metadata itself being the first. */
  metadataDepth: 32,
};

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it rejects
const CONTROL = /[\u0000-\u001f\u007f]/;

/** PostgreSQL cannot store NUL in text or JSON, so it is refused up front rather than failing the write. */
export function rejectNul(field: string, value: string): void {
  if (value.includes('\u0000')) throw badInput(field, `${field} must not contain NUL characters`);
}

// A UTF-16 surrogate without its partner: no UTF-8 text can hold it, and jsonb refuses its escape.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Why PostgreSQL could not store or compare this text (NUL, lone surrogate), or null when it can. */
export function unstorableText(value: string): string | null {
  if (value.includes('\u0000')) return 'must not contain NUL (\\u0000) characters';
  if (LONE_SURROGATE.test(value)) return 'must not contain unpaired UTF-16 surrogates';
  return null;
}

/** Refuses NUL and lone surrogates, which would otherwise fail in the database. */
export function rejectUnstorable(field: string, value: string): string {
  const problem = unstorableText(value);
  if (problem) throw badInput(field, `${field} ${problem}`);
  return value;
}

/**
 * Checks a metadata object's depth and every key and string in it, without recursion so that no
 * nesting can overflow the stack. A bad key or string is named by its path ("metadata.a.0").
 */
export function checkMetadata(metadata: object): void {
  const pending: Array<{ value: unknown; path: string; depth: number }> = [
    { value: metadata, path: 'metadata', depth: 1 },
  ];
  while (pending.length) {
    const { value, path, depth } = pending.pop()!;
    if (typeof value === 'string') {
      const problem = unstorableText(value);
      if (problem) throw badInput(path, `${path} ${problem}`);
      continue;
    }
    if (value === null || typeof value !== 'object') continue;
    if (depth > LIMITS.metadataDepth) {
      throw badInput('metadata', `metadata must be nested at most ${LIMITS.metadataDepth} levels deep`);
    }
    const isArray = Array.isArray(value);
    for (const [key, item] of Object.entries(value)) {
      const at = `${path}.${key}`;
      const problem = isArray ? null : unstorableText(key);
      if (problem) throw badInput(at, `the key of ${at} ${problem}`);
      pending.push({ value: item, path: at, depth: depth + 1 });
    }
  }
}

function text(field: string, value: unknown, max: number): string {
  if (typeof value !== 'string') throw badInput(field, `${field} must be a string`);
  rejectNul(field, value);
  const trimmed = value.trim();
  if (!trimmed) throw badInput(field, `${field} must not be empty`);
  if (trimmed.length > max) throw badInput(field, `${field} must be at most ${max} characters`);
  return trimmed;
}

function optional(value: unknown): boolean {
  return value === undefined || value === null;
}

/** "owner/repo", a GitLab "group/sub/project" path, or such a URL (https://host/owner/repo(.git)). */
export function normaliseRepository(field: string, raw: unknown, provider: GitProvider | null): string {
  let value = text(field, raw, LIMITS.repository);
  const url = /^https?:\/\/[^/\s]+\/(.+?)(?:\.git)?\/?$/i.exec(value);
  if (url) value = url[1];
  const segments = value.split('/');
  // Names may start with a dot (".github" repositories are common), but "." and ".." are no names.
  const segment = /^[A-Za-z0-9_.][A-Za-z0-9_.-]*$/;
  if (segments.length < 2 || !segments.every((s) => segment.test(s) && s !== '.' && s !== '..')) {
    throw badInput(
      field,
      `${field} must look like "owner/repo" (or a GitLab group path), got ${JSON.stringify(raw)}`,
    );
  }
  if (provider === 'GITHUB' && segments.length > 2) {
    throw badInput(field, `${field} for GitHub must be "owner/repo"`);
  }
  return value;
}

/** Git's ref-name rules (git check-ref-format), enough to refuse what git itself would refuse. */
export function validateBranch(field: string, raw: unknown): string {
  const value = text(field, raw, LIMITS.branch);
  const bad =
    CONTROL.test(value) ||
    /[\s~^:?*[\\]/.test(value) ||
    value.includes('..') ||
    value.includes('@{') ||
    value.startsWith('-') ||
    value.startsWith('/') ||
    value.endsWith('/') ||
    value.endsWith('.') ||
    value.includes('//') ||
    value === '@' ||
    value === 'HEAD' ||
    // Per path component: none may start with a dot or end with ".lock".
    value.split('/').some((part) => part.startsWith('.') || part.endsWith('.lock'));
  if (bad) throw badInput(field, `${field} ${JSON.stringify(value)} is not a valid git branch name`);
  return value;
}

export function validateStartRun(input: StartRunInput): ValidStartRun {
  const projectId = text('projectId', input.projectId, LIMITS.projectId);
  if (CONTROL.test(projectId)) throw badInput('projectId', 'projectId must not contain control characters');
  if (typeof input.compiledPrompt !== 'string' || !input.compiledPrompt.trim()) {
    throw badInput('compiledPrompt', 'compiledPrompt must not be empty');
  }
  if (input.compiledPrompt.length > LIMITS.compiledPrompt) {
    throw badInput('compiledPrompt', `compiledPrompt must be at most ${LIMITS.compiledPrompt} characters`);
  }
  rejectNul('compiledPrompt', input.compiledPrompt);
  let gitProvider: GitProvider | null = null;
  if (!optional(input.gitProvider)) {
    const upper = String(input.gitProvider).toUpperCase();
    if (!(GIT_PROVIDERS as readonly string[]).includes(upper)) {
      throw badInput('gitProvider', `gitProvider must be one of ${GIT_PROVIDERS.join(', ')}`);
    }
    gitProvider = upper as GitProvider;
  }
  let metadata: Record<string, unknown> | null = null;
  if (!optional(input.metadata)) {
    if (typeof input.metadata !== 'object' || Array.isArray(input.metadata)) {
      throw badInput('metadata', 'metadata must be a JSON object');
    }
    metadata = input.metadata as Record<string, unknown>;
    // Before JSON.stringify, which recurses: the depth limit keeps it (and jsonb) safe.
    checkMetadata(metadata);
    const json = JSON.stringify(metadata);
    if (Buffer.byteLength(json) > LIMITS.metadataBytes) {
      throw badInput('metadata', `metadata must be at most ${LIMITS.metadataBytes} bytes of JSON`);
    }
  }
  const repository = optional(input.repository)
    ? null
    : normaliseRepository('repository', input.repository, gitProvider);
  // The old service took the branch from metadata.branch; an explicit branch wins if both agree.
  let branch = optional(input.branch) ? null : validateBranch('branch', input.branch);
  const metaBranch = metadata?.branch;
  if (!optional(metaBranch)) {
    const fromMeta = validateBranch('metadata.branch', metaBranch);
    if (branch && branch !== fromMeta) {
      throw badInput(
        'branch',
        `branch ${JSON.stringify(branch)} and metadata.branch ${JSON.stringify(fromMeta)} disagree`,
      );
    }
    branch = fromMeta;
  }
  if (branch && !repository) throw badInput('branch', 'branch needs a repository');
  if (gitProvider === null && repository) {
    // A path deeper than owner/repo only exists on GitLab.
    gitProvider = repository.split('/').length > 2 ? 'GITLAB' : 'GITHUB';
  }
  const idempotencyKey = optional(input.idempotencyKey)
    ? null
    : text('idempotencyKey', input.idempotencyKey, LIMITS.idempotencyKey);
  return {
    projectId,
    compiledPrompt: input.compiledPrompt,
    repository,
    branch,
    gitProvider,
    metadata,
    idempotencyKey,
  };
}

export const MAX_MESSAGE_TEXT = 100_000;

export interface SendRunMessageInput {
  text: string;
  idempotencyKey?: string | null;
}

/** A message to the agent: non-empty, storable text of at most MAX_MESSAGE_TEXT characters. */
export function validateRunMessage(input: SendRunMessageInput): {
  text: string;
  idempotencyKey: string | null;
} {
  if (typeof input.text !== 'string') throw badInput('text', 'text must be a string');
  rejectUnstorable('text', input.text);
  if (!input.text.trim()) throw badInput('text', 'text must not be empty');
  if (input.text.length > MAX_MESSAGE_TEXT) {
    throw badInput('text', `text must be at most ${MAX_MESSAGE_TEXT} characters`);
  }
  const idempotencyKey = optional(input.idempotencyKey)
    ? null
    : text('idempotencyKey', input.idempotencyKey, LIMITS.idempotencyKey);
  return { text: input.text, idempotencyKey };
}
