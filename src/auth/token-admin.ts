import { randomBytes } from 'node:crypto';
import type { TokenInfo, TokenStore } from './token-store.js';
import { generateToken, hashToken } from './tokens.js';

export type { TokenInfo };

export class TokenAdminError extends Error {
  override name = 'TokenAdminError';
}

// Names show up in logs and metrics labels; ':' is reserved for API_TOKENS entries ("env:1").
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const PROJECT_MAX = 200;

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
// Ten years: anything longer is "never", which is what omitting --expires-in means.
const MAX_LIFETIME_MS = 3650 * UNIT_MS.d;

/** Reads a lifetime such as "90d", "12h", "30m" or "45s" into milliseconds. */
export function parseLifetime(text: string): number {
  const match = /^\s*(\d{1,9})\s*([smhd])\s*$/.exec(text);
  const ms = match ? Number(match[1]) * UNIT_MS[match[2]] : Number.NaN;
  if (!(ms > 0) || ms > MAX_LIFETIME_MS) {
    throw new TokenAdminError(
      `--expires-in takes a positive number and a unit s, m, h or d (at most 3650d), e.g. 90d; got ${JSON.stringify(text)}`,
    );
  }
  return ms;
}

/**
 * Creates a stored token and returns it in clear once (only its SHA-256 is kept). A revoked token's
 * name may be reused: the old row is renamed `<name>~<id>` and stays, revoked, as history.
 */
export async function createApiToken(
  store: TokenStore,
  input: { name: string; projects?: string[] /** From now; unset: never expires. */; expiresInMs?: number },
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
  const expiresAt = input.expiresInMs === undefined ? null : new Date(Date.now() + input.expiresInMs);
  const token = generateToken();
  const id = `tok_${randomBytes(8).toString('hex')}`;
  const info = await store.insert({ id, name, tokenHash: hashToken(token), projects, expiresAt }, () => {
    throw new TokenAdminError(`A token named ${JSON.stringify(name)} already exists; revoke it first`);
  });
  return { token, info };
}

export async function listApiTokens(store: TokenStore): Promise<TokenInfo[]> {
  return store.list();
}

/**
 * Marks the token revoked. The service checks stored tokens on every request and every few seconds
 * for open subscriptions (TOKEN_RECHECK_MS), so nothing else is needed. Revoking twice is harmless.
 */
export async function revokeApiToken(
  store: TokenStore,
  name: string,
): Promise<{ info: TokenInfo; alreadyRevoked: boolean }> {
  const existing = await store.findByName(name);
  if (!existing) throw new TokenAdminError(`No token named ${JSON.stringify(name)}`);
  if (existing.revokedAt) return { info: existing, alreadyRevoked: true };
  return { info: await store.revoke(existing.id, new Date()), alreadyRevoked: false };
}
