import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { AppError } from '../errors.js';
import type { Principal } from './principal.js';
import type { TokenStore } from './token-store.js';

/** lastUsedAt is written at most this often per token, not on every request. */
export const LAST_USED_WRITE_MS = 60_000;

/**
 * A stored token past its expiresAt: the same UNAUTHENTICATED (401) as an unknown token, but
 * saying why, so its holder knows to ask for a new one. Names no secret.
 */
export class TokenExpiredError extends AppError {
  constructor(expiresAt: Date) {
    super('UNAUTHENTICATED', `The API token expired at ${expiresAt.toISOString()}`);
  }
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function generateToken(): string {
  return `ohr_${randomBytes(24).toString('base64url')}`;
}

/** Reads the token from `Bearer <token>` (or a bare token, as some WebSocket clients send it). */
export function bearerToken(header: string | null | undefined): string | null {
  if (!header) return null;
  const match = /^\s*Bearer\s+(\S+)\s*$/i.exec(header);
  if (match) return match[1];
  return /^\S+$/.test(header.trim()) ? header.trim() : null;
}

/**
 * Checks client tokens: those from API_TOKENS (compared in constant time) and those stored hashed
 * in the database (looked up on every request, so a revocation or an expiry takes effect at once).
 */
export class TokenVerifier {
  private readonly envDigests: Buffer[];
  /** When lastUsedAt was last written, per stored token id (ms). */
  private readonly lastUseWritten = new Map<string, number>();

  constructor(
    private readonly store: TokenStore,
    envTokens: string[],
    private readonly authDisabled: boolean,
    private readonly now: () => number = Date.now,
  ) {
    this.envDigests = envTokens.map((t) => createHash('sha256').update(t).digest());
  }

  /**
   * The principal behind a token; null for a missing, unknown or revoked one. Throws
   * TokenExpiredError (an UNAUTHENTICATED AppError) for an expired stored token, so every
   * transport refuses it like an unknown one but with a message that says it expired.
   */
  async verify(token: string | null): Promise<Principal | null> {
    if (this.authDisabled) return { name: 'anonymous', projects: null };
    if (!token) return null;
    const digest = createHash('sha256').update(token).digest();
    let envMatch = -1;
    // Compare against every configured token so timing does not reveal which one matched.
    this.envDigests.forEach((expected, i) => {
      if (timingSafeEqual(expected, digest) && envMatch < 0) envMatch = i;
    });
    if (envMatch >= 0) return { name: `env:${envMatch + 1}`, projects: null };
    const stored = await this.store.findByHash(digest.toString('hex'));
    if (!stored || stored.revokedAt) return null;
    if (stored.expiresAt && stored.expiresAt.getTime() <= this.now())
      throw new TokenExpiredError(stored.expiresAt);
    this.noteUse(stored.id);
    return {
      name: stored.name,
      projects: stored.projects.length ? stored.projects : null,
      tokenId: stored.id,
    };
  }

  /** Writes lastUsedAt at most once a minute per token: a write per request would double the load. */
  private noteUse(tokenId: string): void {
    const now = this.now();
    const last = this.lastUseWritten.get(tokenId);
    if (last !== undefined && now - last < LAST_USED_WRITE_MS) return;
    this.lastUseWritten.set(tokenId, now);
    void this.store.touch(tokenId, new Date(now)).catch(() => {});
  }
}

/**
 * With no usable token configured anywhere (none, or all revoked or expired), a start creates one,
 * stores only its hash, and hands it back once to be printed: there is no anonymous access unless
 * AUTH_DISABLED=true.
 */
export async function ensureBootstrapToken(
  store: TokenStore,
  envTokens: string[],
  authDisabled: boolean,
): Promise<string | null> {
  if (authDisabled || envTokens.length > 0) return null;
  if ((await store.countActive(new Date())) > 0) return null;
  const token = generateToken();
  const name = `bootstrap-${new Date().toISOString().slice(0, 19).replace(/\D/g, '')}`;
  await store.insert({
    id: `tok_${randomBytes(8).toString('hex')}`,
    name,
    tokenHash: hashToken(token),
    projects: [],
    expiresAt: null,
  });
  return token;
}
