import { badInput } from '../errors.js';
import { unstorableText } from './validation.js';

/** Opaque pagination cursors: base64url of JSON, so clients do not build them by hand. */
export function encodeCursor(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

export function decodeCursor<T>(field: string, cursor: string, check: (v: unknown) => v is T): T {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (check(value)) return value;
  } catch {
    // fall through to the error below
  }
  throw badInput(field, `${field} is not a cursor this service issued`);
}

/** RunEvent.seq is a PostgreSQL integer. */
const MAX_SEQ = 2 ** 31 - 1;
/** Longer than any run id this service issues. */
const MAX_CURSOR_ID = 255;

export type RunCursor = { c: string; i: string };
export type SeqCursor = { s: number };

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * A runs cursor: `c` the ISO time the service wrote (a crafted one must not become an Invalid
 * Date or a year PostgreSQL refuses), `i` a run id PostgreSQL can compare.
 */
export function isRunCursor(v: unknown): v is RunCursor {
  if (!isRecord(v) || typeof v.c !== 'string' || typeof v.i !== 'string') return false;
  // Four-digit years only: JavaScript dates reach years PostgreSQL timestamps cannot hold.
  const at = new Date(v.c);
  if (!/^\d{4}-/.test(v.c) || Number.isNaN(at.getTime()) || at.toISOString() !== v.c) return false;
  return v.i.length <= MAX_CURSOR_ID && unstorableText(v.i) === null;
}

/** An events cursor: a seq within PostgreSQL's integer range. */
export function isSeqCursor(v: unknown): v is SeqCursor {
  return isRecord(v) && Number.isSafeInteger(v.s) && (v.s as number) >= 0 && (v.s as number) <= MAX_SEQ;
}
