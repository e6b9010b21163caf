import { AppError } from '../errors.js';
import type { Principal } from './principal.js';
import { bearerToken, type TokenVerifier } from './tokens.js';

/**
 * The one token check every transport uses (GraphQL over HTTP and SSE, graphql-ws, REST): the
 * Authorization header value (or graphql-ws connectionParams.authorization) → the caller, or an
 * UNAUTHENTICATED AppError whose message tells a missing token from a wrong one.
 */
export async function authenticate(
  tokens: TokenVerifier,
  authorization: string | null | undefined,
): Promise<Principal> {
  const principal = await tokens.verify(bearerToken(authorization));
  if (principal) return principal;
  throw new AppError(
    'UNAUTHENTICATED',
    authorization
      ? 'The API token is not valid'
      : 'An API token is required: send Authorization: Bearer <token>',
  );
}
