import { randomBytes } from 'node:crypto';
import type { PrismaClient } from '../generated/prisma/client.js';
import { generateToken, hashToken } from './tokens.js';

/** What an operator sees of a stored token: never the token, never its hash. */
export interface TokenInfo {
  id: string;
  name: string;
  /** Empty: every project. */
  projects: string[];
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

export class TokenAdminError extends Error {
  override name = 'TokenAdminError';
}

// Names show up in logs and metrics labels; ':' is reserved for API_TOKENS entries ("env:1").
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const PROJECT_MAX = 200;

const select = {
  id: true,
  name: true,
  projects: true,
  createdAt: true,
  lastUsedAt: true,
  revokedAt: true,
} as const;

/**
 * Creates a stored token and returns it in clear once (only its SHA-256 is kept). A revoked token's
 * name may be reused: the old row is renamed `<name>~<id>` and stays, revoked, as history.
 */
export async function createApiToken(
  prisma: PrismaClient,
  input: { name: string; projects?: string[] },
): Promise<{ token: string; info: TokenInfo }> {
  const name = input.name.trim();
  if (!NAME.test(name)) {
    throw new TokenAdminError(
      'A token name is 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit',
    );
  }
  const projects = [...new Set((input.projects ?? []).map((p) => p.trim()))];
  if (projects.some((p) => p.length === 0 || p.length > PROJECT_MAX || p.includes('\u0000'))) {
    throw new TokenAdminError(`A project id is 1-${PROJECT_MAX} characters`);
  }
  const token = generateToken();
  const id = `tok_${randomBytes(8).toString('hex')}`;
  const info = await prisma.$transaction(async (tx) => {
    const existing = await tx.apiToken.findUnique({ where: { name } });
    if (existing && !existing.revokedAt) {
      throw new TokenAdminError(`A token named ${JSON.stringify(name)} already exists; revoke it first`);
    }
    if (existing) {
      await tx.apiToken.update({ where: { id: existing.id }, data: { name: `${name}~${existing.id}` } });
    }
    return tx.apiToken.create({ data: { id, name, tokenHash: hashToken(token), projects }, select });
  });
  return { token, info };
}

export async function listApiTokens(prisma: PrismaClient): Promise<TokenInfo[]> {
  return prisma.apiToken.findMany({ select, orderBy: [{ createdAt: 'asc' }, { name: 'asc' }] });
}

/**
 * Marks the token revoked. The service checks stored tokens on every request and every few seconds
 * for open subscriptions (TOKEN_RECHECK_MS), so nothing else is needed. Revoking twice is harmless.
 */
export async function revokeApiToken(
  prisma: PrismaClient,
  name: string,
): Promise<{ info: TokenInfo; alreadyRevoked: boolean }> {
  const existing = await prisma.apiToken.findUnique({ where: { name }, select });
  if (!existing) throw new TokenAdminError(`No token named ${JSON.stringify(name)}`);
  if (existing.revokedAt) return { info: existing, alreadyRevoked: true };
  const info = await prisma.apiToken.update({
    where: { id: existing.id },
    data: { revokedAt: new Date() },
    select,
  });
  return { info, alreadyRevoked: false };
}
