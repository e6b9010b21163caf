import { randomBytes } from 'node:crypto';
import { rejectUnstorable } from './validation.js';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

/** `run_` + 10 chars of time + 16 random chars (Crockford base32): unique and roughly time-ordered. */
export function newRunId(now = Date.now()): string {
  let time = '';
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  const random = [...randomBytes(16)].map((b) => ALPHABET[b % 32]).join('');
  return `run_${time}${random}`;
}

/** `msg_` + the same time-ordered shape as run ids. */
export function newMessageId(now = Date.now()): string {
  return `msg_${newRunId(now).slice(4)}`;
}

export function looksLikeRunId(id: string): boolean {
  return /^run_[0-9a-hjkmnp-tv-z]{26}$/.test(id);
}

/**
 * A run id argument as a client sent it. Text PostgreSQL cannot compare (NUL, lone surrogates) is
 * no id at all, so it is refused; any other unknown id stays a normal "not found".
 */
export function runIdArgument(field: string, id: string): string {
  return rejectUnstorable(field, id);
}
