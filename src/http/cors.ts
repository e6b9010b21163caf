import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendError } from './respond.js';

// Clients authenticate with bearer tokens, never cookies: Access-Control-Allow-Credentials is never
// sent, so a page on an allowed origin still cannot ride on a user's browser session.
const ALLOW_METHODS = 'GET, HEAD, POST, OPTIONS';
const EXPOSE_HEADERS = 'X-Request-Id, Retry-After, WWW-Authenticate';
const PREFLIGHT_MAX_AGE_S = '600';

/**
 * CORS for every route (GraphQL, REST, probes): by default same-origin only, so no CORS headers
 * for a foreign Origin; CORS_ORIGINS lists the origins that may call cross-origin (`*`: any).
 * Answers preflights itself; returns true when it did and the request is done.
 */
export function applyCors(req: IncomingMessage, res: ServerResponse, allowedOrigins: string[]): boolean {
  const origin = req.headers.origin;
  if (!origin) return false;
  const any = allowedOrigins.includes('*');
  const allowed = any || allowedOrigins.includes(origin);
  // The answer depends on Origin unless every origin gets the same one.
  if (!any) res.setHeader('vary', 'Origin');
  if (allowed) {
    res.setHeader('access-control-allow-origin', any ? '*' : origin);
    res.setHeader('access-control-expose-headers', EXPOSE_HEADERS);
  }
  const preflight = req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined;
  if (!preflight) return false;
  if (!allowed) {
    // The browser only reports a CORS failure, but the network panel shows this body.
    sendError(
      res,
      403,
      'CORS_ORIGIN_NOT_ALLOWED',
      `Origin ${origin} may not call this API from a browser; add it to CORS_ORIGINS to allow it`,
    );
    return true;
  }
  const requestedHeaders = req.headers['access-control-request-headers'];
  res.writeHead(204, {
    'access-control-allow-methods': ALLOW_METHODS,
    ...(requestedHeaders ? { 'access-control-allow-headers': requestedHeaders } : {}),
    'access-control-max-age': PREFLIGHT_MAX_AGE_S,
    'content-length': '0',
  });
  res.end();
  return true;
}
