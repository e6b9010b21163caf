import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { PrismaClient } from '../generated/prisma/client.js';
import type { Principal } from './principal.js';

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
 * in the database (looked up on every request, so a revocation takes effect at once).
 */
export class TokenVerifier {
  private readonly envDigests: Buffer[];

  constructor(
    private readonly prisma: PrismaClient,
    envTokens: string[],
    private readonly authDisabled: boolean,
  ) {
    this.envDigests = envTokens.map((t) => createHash('sha256').update(t).digest());
  }

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
    const stored = await this.prisma.apiToken.findUnique({ where: { tokenHash: digest.toString('hex') } });
    if (!stored || stored.revokedAt) return null;
    void this.prisma.apiToken
      .update({ where: { id: stored.id }, data: { lastUsedAt: new Date() } })
      .catch(() => {});
    return {
      name: stored.name,
      projects: stored.projects.length ? stored.projects : null,
      tokenId: stored.id,
    };
  }
}

/**
 * With no token configured anywhere, the first start creates one, stores only its hash, and hands
 * it back once to be printed: there is no anonymous access unless AUTH_DISABLED=true.
 */
export async function ensureBootstrapToken(
  prisma: PrismaClient,
  envTokens: string[],
  authDisabled: boolean,
): Promise<string | null> {
  if (authDisabled || envTokens.length > 0) return null;
  const active = await prisma.apiToken.count({ where: { revokedAt: null } });
  if (active > 0) return null;
  const token = generateToken();
  const name = `bootstrap-${new Date().toISOString().slice(0, 19).replace(/\D/g, '')}`;
  await prisma.apiToken.create({
    data: { id: `tok_${randomBytes(8).toString('hex')}`, name, tokenHash: hashToken(token), projects: [] },
  });
  return token;
}
