/** Id and time helpers. */
import { randomBytes, randomUUID } from 'node:crypto';

/** 32 lowercase hex characters: the id format of V0 conversations and V1 start tasks / conversations. */
export const hexId = (): string => randomBytes(16).toString('hex');

/** Dashed UUID: the id format of V1 events. */
export const uuid = (): string => randomUUID();

export const isoNow = (): string => new Date().toISOString();

const UUID_RE = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

/**
 * V1 parses ids as UUIDs, so both `abcd…` (32 hex) and the dashed form name the same
 * conversation. Returns the 32-hex form, or null when the text is not a UUID.
 */
export function normalizeUuid(text: string): string | null {
  return UUID_RE.test(text) ? text.replaceAll('-', '').toLowerCase() : null;
}
