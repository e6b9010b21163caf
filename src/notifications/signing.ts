import { createHmac } from 'node:crypto';
import { secretKeyBytes } from './secrets.js';

/**
 * Standard Webhooks headers for one attempt: `webhook-signature` holds one `v1,<base64 HMAC-SHA256
 * of "id.timestamp.body">` per secret (two during a rotation's overlap), separated by spaces.
 */
export function signatureHeaders(
  id: string,
  timestamp: number,
  body: string,
  secrets: string[],
): Record<string, string> {
  const signed = `${id}.${timestamp}.${body}`;
  const signatures = secrets.map(
    (secret) => `v1,${createHmac('sha256', secretKeyBytes(secret)).update(signed).digest('base64')}`,
  );
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signatures.join(' '),
  };
}
