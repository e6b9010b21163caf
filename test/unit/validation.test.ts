import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors.js';
import { LIMITS, normaliseRepository, validateBranch, validateStartRun } from '../../src/runs/validation.js';

function fieldOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe('BAD_USER_INPUT');
    return (error as AppError).details.field;
  }
  throw new Error('expected BAD_USER_INPUT');
}

const base = { projectId: 'p', compiledPrompt: 'do it' };

describe('validateStartRun', () => {
  it('returns a normalised input', () => {
    expect(
      validateStartRun({ ...base, projectId: '  p  ', repository: 'acme/widgets', idempotencyKey: ' k ' }),
    ).toEqual({
      projectId: 'p',
      compiledPrompt: 'do it',
      repository: 'acme/widgets',
      branch: null,
      gitProvider: 'GITHUB',
      metadata: null,
      idempotencyKey: 'k',
    });
  });

  it('keeps the prompt exactly as sent', () => {
    expect(validateStartRun({ ...base, compiledPrompt: '  indented\n' }).compiledPrompt).toBe('  indented\n');
  });

  it('infers GitLab for group paths and accepts any case for the provider', () => {
    expect(validateStartRun({ ...base, repository: 'g/sub/p' }).gitProvider).toBe('GITLAB');
    expect(validateStartRun({ ...base, repository: 'g/p', gitProvider: 'gitlab' }).gitProvider).toBe(
      'GITLAB',
    );
    expect(validateStartRun({ ...base }).gitProvider).toBeNull();
  });

  it('takes the branch from metadata.branch, and accepts both when they agree', () => {
    expect(validateStartRun({ ...base, repository: 'a/b', metadata: { branch: 'dev' } }).branch).toBe('dev');
    expect(
      validateStartRun({ ...base, repository: 'a/b', branch: 'dev', metadata: { branch: 'dev' } }).branch,
    ).toBe('dev');
    expect(
      validateStartRun({ ...base, repository: 'a/b', metadata: { branch: null, other: 1 } }).branch,
    ).toBeNull();
  });

  it.each([
    [{ projectId: '' }, 'projectId'],
    [{ projectId: 'x'.repeat(LIMITS.projectId + 1) }, 'projectId'],
    [{ projectId: 'a\u0000b' }, 'projectId'],
    [{ projectId: 42 }, 'projectId'],
    [{ compiledPrompt: '' }, 'compiledPrompt'],
    [{ compiledPrompt: null }, 'compiledPrompt'],
    [{ compiledPrompt: 'x'.repeat(LIMITS.compiledPrompt + 1) }, 'compiledPrompt'],
    [{ gitProvider: 'SVN' }, 'gitProvider'],
    [{ metadata: [] }, 'metadata'],
    [{ metadata: 'x' }, 'metadata'],
    [{ metadata: true }, 'metadata'],
    [{ repository: 'a/b', metadata: { branch: 5 } }, 'metadata.branch'],
    [{ repository: 'a/b', branch: 'x', metadata: { branch: 'y' } }, 'branch'],
    [{ branch: 'main' }, 'branch'],
    [{ idempotencyKey: '' }, 'idempotencyKey'],
    [{ idempotencyKey: 'k'.repeat(LIMITS.idempotencyKey + 1) }, 'idempotencyKey'],
  ])('%j → %s', (patch, field) => {
    expect(fieldOf(() => validateStartRun({ ...base, ...(patch as object) } as never))).toBe(field);
  });
});

describe('normaliseRepository', () => {
  it.each([
    ['acme/widgets', 'acme/widgets'],
    ['https://github.com/acme/widgets', 'acme/widgets'],
    ['https://github.com/acme/widgets.git', 'acme/widgets'],
    ['https://github.com/acme/widgets/', 'acme/widgets'],
    ['  acme/widgets  ', 'acme/widgets'],
    ['group/sub/project', 'group/sub/project'],
    ['a_b/c.d-e', 'a_b/c.d-e'],
    ['acme/.github', 'acme/.github'],
  ])('%s → %s', (raw, expected) => {
    expect(normaliseRepository('repository', raw, null)).toBe(expected);
  });

  it.each([
    'widgets',
    'acme/',
    '/widgets',
    'acme//widgets',
    'acme/../x',
    'acme/.',
    'ac me/w',
    'acme/w?x',
    '-',
    'r'.repeat(256),
  ])('refuses %s', (raw) => {
    expect(fieldOf(() => normaliseRepository('repository', raw, null))).toBe('repository');
  });

  it('refuses group paths for GitHub', () => {
    expect(fieldOf(() => normaliseRepository('repository', 'a/b/c', 'GITHUB'))).toBe('repository');
    expect(normaliseRepository('repository', 'a/b/c', 'GITLAB')).toBe('a/b/c');
  });
});

describe('validateBranch', () => {
  it.each(['main', 'feature/x', 'release-1.2', 'fix_bug', 'user/name/topic', 'v1.0'])('accepts %s', (b) => {
    expect(validateBranch('branch', b)).toBe(b);
  });

  it.each([
    'a..b',
    'a b',
    'a~b',
    'a^b',
    'a:b',
    'a?b',
    'a*b',
    'a[b',
    'a\\b',
    '-a',
    '/a',
    'a/',
    'a.',
    'a.lock',
    'a//b',
    'a@{b',
    '@',
    'HEAD',
    '.hidden',
    'a/.b',
    'a.lock/b',
    'a\tb',
    '',
  ])('refuses %j', (b) => {
    expect(fieldOf(() => validateBranch('branch', b))).toBe('branch');
  });
});
