import type { ApiToken, PrismaClient } from '../generated/prisma/client.js';

/** What an operator sees of a stored token: never the token, never its hash. */
export interface TokenInfo {
  id: string;
  name: string;
  /** Empty: every project. */
  projects: string[];
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
  /** Refused from then on; null never expires. */
  expiresAt: Date | null;
}

const info = {
  id: true,
  name: true,
  projects: true,
  createdAt: true,
  lastUsedAt: true,
  revokedAt: true,
  expiresAt: true,
} as const;

/** Stored tokens that are neither revoked nor expired at `now`. */
function active(now: Date) {
  return { revokedAt: null, OR: [{ expiresAt: null }, { expiresAt: { gt: now } }] };
}

/** Every statement on the ApiToken table. */
export class TokenStore {
  constructor(private readonly prisma: PrismaClient) {}

  findByHash(tokenHash: string): Promise<ApiToken | null> {
    return this.prisma.apiToken.findUnique({ where: { tokenHash } });
  }

  async touch(id: string, at: Date): Promise<void> {
    await this.prisma.apiToken.update({ where: { id }, data: { lastUsedAt: at } });
  }

  countActive(now: Date): Promise<number> {
    return this.prisma.apiToken.count({ where: active(now) });
  }

  /** Revocation and expiry of the tokens behind open connections; a deleted token has no row. */
  states(ids: string[]): Promise<Array<{ id: string; revokedAt: Date | null; expiresAt: Date | null }>> {
    return this.prisma.apiToken.findMany({
      where: { id: { in: ids } },
      select: { id: true, revokedAt: true, expiresAt: true },
    });
  }

  findByName(name: string): Promise<TokenInfo | null> {
    return this.prisma.apiToken.findUnique({ where: { name }, select: info });
  }

  list(): Promise<TokenInfo[]> {
    return this.prisma.apiToken.findMany({ select: info, orderBy: [{ createdAt: 'asc' }, { name: 'asc' }] });
  }

  /**
   * Inserts a token under `name`. A revoked token of that name is renamed `<name>~<id>` first and
   * kept as history; an active one makes `conflict()` throw, all in one transaction.
   */
  insert(
    row: { id: string; name: string; tokenHash: string; projects: string[]; expiresAt: Date | null },
    conflict: () => never = () => {
      throw new Error(`A token named ${row.name} already exists`);
    },
  ): Promise<TokenInfo> {
    return this.prisma.$transaction(async (tx) => {
      const existing = await tx.apiToken.findUnique({ where: { name: row.name } });
      if (existing && !existing.revokedAt) conflict();
      if (existing) {
        await tx.apiToken.update({
          where: { id: existing.id },
          data: { name: `${row.name}~${existing.id}` },
        });
      }
      return tx.apiToken.create({ data: row, select: info });
    });
  }

  revoke(id: string, at: Date): Promise<TokenInfo> {
    return this.prisma.apiToken.update({ where: { id }, data: { revokedAt: at }, select: info });
  }
}
