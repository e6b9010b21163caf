import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Constant-time checks for the three ways forges prove a delivery is theirs. Every comparison goes
 * through timingSafeEqual on equal-length buffers, so timing reveals neither the secret nor how
 * much of a guess was right.
 */

/** Compares two secrets of any length without leaking where they differ (or their lengths). */
export function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`. */
export function verifyGitHubSignature(secret: string, body: Buffer, header: string | undefined): boolean {
  const match = /^sha256=([0-9a-f]{64})$/i.exec(header?.trim() ?? '');
  if (!match) return false;
  const expected = createHmac('sha256', secret).update(body).digest();
  return timingSafeEqual(Buffer.from(match[1], 'hex'), expected);
}

export const SIGNING_TOKEN_PREFIX = 'whsec_';

export function isSigningToken(secret: string): boolean {
  return secret.startsWith(SIGNING_TOKEN_PREFIX);
}

/** The HMAC key inside a `whsec_<base64>` signing token (Standard Webhooks). */
export function signingKey(token: string): Buffer {
  return Buffer.from(token.slice(SIGNING_TOKEN_PREFIX.length), 'base64');
}

export interface StandardWebhookHeaders {
  id: string | undefined;
  timestamp: string | undefined;
  signature: string | undefined;
}

export type StandardWebhookCheck = { ok: true } | { ok: false; reason: string };

/** Standard Webhooks allow five minutes either way: enough for clock skew, short for replays. */
export const REPLAY_WINDOW_SECONDS = 5 * 60;

/**
 * Standard Webhooks (GitLab signing tokens): `webhook-signature` holds space-separated `v1,<base64>`
 * entries, each an HMAC-SHA256 of `<webhook-id>.<webhook-timestamp>.<raw body>`; one match is enough
 * (senders list several while rotating keys). The timestamp must be within the replay window.
 */
export function verifyStandardWebhook(
  token: string,
  headers: StandardWebhookHeaders,
  body: Buffer,
  nowSeconds = Math.floor(Date.now() / 1000),
): StandardWebhookCheck {
  const { id, timestamp, signature } = headers;
  if (!id || !timestamp || !signature) {
    return { ok: false, reason: 'webhook-id, webhook-timestamp and webhook-signature headers are required' };
  }
  if (!/^\d{1,12}$/.test(timestamp))
    return { ok: false, reason: 'webhook-timestamp is not a Unix time in seconds' };
  if (Math.abs(nowSeconds - Number(timestamp)) > REPLAY_WINDOW_SECONDS) {
    return { ok: false, reason: 'webhook-timestamp is outside the replay window' };
  }
  const expected = createHmac('sha256', signingKey(token))
    .update(`${id}.${timestamp}.`)
    .update(body)
    .digest();
  let matched = false;
  for (const entry of signature.split(' ')) {
    const [version, value] = entry.split(',', 2);
    if (version !== 'v1' || !value) continue;
    const given = Buffer.from(value, 'base64');
    // Check every entry (no early exit) so timing does not tell which one matched.
    if (given.length === expected.length && timingSafeEqual(given, expected)) matched = true;
  }
  return matched ? { ok: true } : { ok: false, reason: 'webhook-signature does not match' };
}
