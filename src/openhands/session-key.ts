import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * A conversation's session API key is a credential of its sandbox: the runner keeps only its sha256,
 * enough to check that an agent-server push comes from that sandbox (src/push/).
 */
export function hashSessionKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export function sessionKeyHashOf(conversation: { session_api_key?: string | null }): string | undefined {
  const key = conversation.session_api_key;
  return typeof key === 'string' && key ? hashSessionKey(key) : undefined;
}

/** Whether `key` is the one whose hash is `hash`, in constant time. */
export function sessionKeyMatches(key: string, hash: string): boolean {
  const given = Buffer.from(hashSessionKey(key), 'hex');
  const known = Buffer.from(hash, 'hex');
  return given.length === known.length && timingSafeEqual(given, known);
}
