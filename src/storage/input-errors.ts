/**
 * SQLSTATEs PostgreSQL answers for text it cannot take: 22021 a NUL byte, 22P02 invalid JSON (a
 * lone surrogate's escape), 22P05 an unsupported escape (\u0000 in jsonb). Input is checked before
 * it reaches the database; this is the safety net for what a check misses, so the client gets
 * BAD_USER_INPUT rather than a 500.
 */
const INPUT_SQLSTATES = new Set(['22021', '22P02', '22P05']);

/** Whether Prisma failed because PostgreSQL refused the text it was given. */
export function isDatabaseInputError(error: unknown): boolean {
  const meta = (error as { meta?: { driverAdapterError?: { cause?: { originalCode?: unknown } } } } | null)
    ?.meta;
  const code = meta?.driverAdapterError?.cause?.originalCode;
  return typeof code === 'string' && INPUT_SQLSTATES.has(code);
}

export const DATABASE_INPUT_MESSAGE =
  'The input holds text the database cannot store (a NUL character or an unpaired UTF-16 surrogate)';
