import { GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors.js';
import { logLevelOf, maskError } from '../../src/graphql/errors.js';
import { isRunCursor, isSeqCursor } from '../../src/runs/cursor.js';
import { runIdArgument } from '../../src/runs/ids.js';
import { checkMetadata, LIMITS, unstorableText, validateStartRun } from '../../src/runs/validation.js';
import { isDatabaseInputError } from '../../src/storage/input-errors.js';

/** An object `levels` containers deep: objects at odd depths, arrays at even ones, `{}` innermost. */
function nested(levels: number): Record<string, unknown> {
  let value: unknown = {};
  for (let depth = levels - 1; depth >= 1; depth--) value = depth % 2 ? { d: value } : [value];
  return value as Record<string, unknown>;
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return error instanceof AppError ? `${error.code}:${error.details.field}` : String(error);
  }
  return undefined;
}

describe('text PostgreSQL cannot store', () => {
  it('finds NUL and unpaired surrogates, and lets pairs through', () => {
    expect(unstorableText('a\u0000')).toMatch(/NUL/);
    expect(unstorableText('\ud800')).toMatch(/surrogate/);
    expect(unstorableText('x\udc00')).toMatch(/surrogate/);
    expect(unstorableText('\udc00\ud800')).toMatch(/surrogate/);
    expect(unstorableText('😀 ok')).toBeNull();
  });

  it('a run id argument with either is BAD_USER_INPUT naming the argument', () => {
    expect(codeOf(() => runIdArgument('runId', 'run_\u0000'))).toBe('BAD_USER_INPUT:runId');
    expect(codeOf(() => runIdArgument('id', 'run_\udfff'))).toBe('BAD_USER_INPUT:id');
    expect(runIdArgument('id', 'run_unknown')).toBe('run_unknown');
  });
});

describe('metadata', () => {
  it(`takes ${LIMITS.metadataDepth} levels and refuses one more`, () => {
    expect(() => checkMetadata(nested(LIMITS.metadataDepth))).not.toThrow();
    expect(codeOf(() => checkMetadata(nested(LIMITS.metadataDepth + 1)))).toBe('BAD_USER_INPUT:metadata');
  });

  it('refuses 100,000 levels without overflowing the stack', () => {
    expect(
      codeOf(() => validateStartRun({ projectId: 'p', compiledPrompt: 'x', metadata: nested(100_000) })),
    ).toBe('BAD_USER_INPUT:metadata');
  });

  it('names the path of a lone surrogate in a value or key', () => {
    expect(() => checkMetadata({ a: [{ b: 'x\ud83d' }] })).toThrow(
      /metadata\.a\.0\.b must not contain unpaired/,
    );
    expect(() => checkMetadata({ a: { '\ude00': 1 } })).toThrow(
      /key of metadata\.a\.\ude00 must not contain unpaired/,
    );
  });
});

describe('cursors', () => {
  it('accept what the service issues', () => {
    expect(isRunCursor({ c: new Date().toISOString(), i: 'run_0000000000zzzzzzzzzzzzzzzz' })).toBe(true);
    expect(isSeqCursor({ s: 0 })).toBe(true);
    expect(isSeqCursor({ s: 2 ** 31 - 1 })).toBe(true);
  });

  it('refuse crafted fields', () => {
    for (const c of ['not a date', '2024-02-30T00:00:00.000Z', '+100000-01-01T00:00:00.000Z', '2024-01-01']) {
      expect(isRunCursor({ c, i: 'run_x' }), c).toBe(false);
    }
    expect(isRunCursor({ c: new Date().toISOString(), i: 'run_\u0000' })).toBe(false);
    expect(isRunCursor({ c: new Date().toISOString(), i: 'x'.repeat(256) })).toBe(false);
    for (const s of [1e300, -1, 2 ** 31, 1.5, Number.NaN, '1'])
      expect(isSeqCursor({ s }), String(s)).toBe(false);
  });
});

describe('database input errors that still escape', () => {
  // The shape Prisma 7's driver adapters throw (PrismaClientKnownRequestError.meta).
  const refused = (code: string) =>
    Object.assign(new Error('Database error'), {
      code: 'P2039',
      meta: {
        driverAdapterError: { name: 'DriverAdapterError', cause: { originalCode: code, kind: 'postgres' } },
      },
    });

  it('22021, 22P02 and 22P05 are BAD_USER_INPUT, logged as warnings', () => {
    for (const code of ['22021', '22P02', '22P05']) {
      expect(isDatabaseInputError(refused(code))).toBe(true);
      const wrapped = new GraphQLError('x', { originalError: refused(code), path: ['run'] });
      const masked = maskError(wrapped, 'Unexpected error.') as GraphQLError;
      expect(masked.extensions.code).toBe('BAD_USER_INPUT');
      expect(masked.message).not.toContain('Database error');
      expect(logLevelOf(wrapped)).toBe('warn');
    }
  });

  it('other database errors stay internal and are logged as errors', () => {
    const wrapped = new GraphQLError('x', { originalError: refused('40P01') });
    expect((maskError(wrapped, 'Unexpected error.') as GraphQLError).extensions.code).toBe(
      'INTERNAL_SERVER_ERROR',
    );
    expect(logLevelOf(wrapped)).toBe('error');
  });

  it("a client's own errors are logged at debug", () => {
    const notFound = new GraphQLError('x', { originalError: new AppError('NOT_FOUND', 'Run not found') });
    expect(logLevelOf(notFound)).toBe('debug');
    expect(logLevelOf(new GraphQLError('Syntax Error: Unexpected Name'))).toBe('debug');
  });
});
