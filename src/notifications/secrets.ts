import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

const PREFIX = 'whsec_';
const SEALED = 'enc:v1:';

/** A new Standard Webhooks secret: "whsec_" and 32 random bytes in base64. */
export function generateSecret(): string {
  return PREFIX + randomBytes(32).toString('base64');
}

/** The HMAC key a whsec_ secret stands for. */
export function secretKeyBytes(secret: string): Buffer {
  return Buffer.from(secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : secret, 'base64');
}

/**
 * Secrets at rest: with NOTIFY_SECRET_KEY set they are stored as "enc:v1:<iv>.<tag>.<ciphertext>"
 * (AES-256-GCM; the key is SHA-256 of the setting, so any long random string will do); without it,
 * as they are. A sealed secret without the key cannot be read, which `open` says plainly.
 */
export class SecretBox {
  private readonly key: Buffer | null;

  constructor(setting: string | undefined) {
    this.key = setting ? createHash('sha256').update(setting).digest() : null;
  }

  seal(secret: string): string {
    if (!this.key) return secret;
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const text = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
    return `${SEALED}${iv.toString('base64')}.${cipher.getAuthTag().toString('base64')}.${text.toString('base64')}`;
  }

  open(stored: string): string {
    if (!stored.startsWith(SEALED)) return stored;
    if (!this.key) throw new Error('this endpoint secret is encrypted: NOTIFY_SECRET_KEY must be set');
    const [iv, tag, text] = stored
      .slice(SEALED.length)
      .split('.')
      .map((part) => Buffer.from(part, 'base64'));
    const decipher = createDecipheriv('aes-256-gcm', this.key, iv);
    decipher.setAuthTag(tag);
    try {
      return Buffer.concat([decipher.update(text), decipher.final()]).toString('utf8');
    } catch {
      throw new Error('this endpoint secret cannot be decrypted: NOTIFY_SECRET_KEY has changed');
    }
  }
}
