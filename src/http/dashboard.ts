import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sendError } from './respond.js';
import type { Route } from './router.js';

/** Where scripts/build-dashboard.mjs writes the bundle (gitignored; `npm install` builds it). */
export const DASHBOARD_DIR = fileURLToPath(new URL('../../dashboard/dist', import.meta.url));

const CONTENT_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};
// esbuild's [hash]: 8 characters of A–Z and 0–9 before the extension (main-4QXK2M7B.js).
const HASHED_NAME = /-[A-Z0-9]{8}\.[a-z]+$/;
// One path segment, no leading dot: never `..`, never a hidden file.
const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
// A Host header fit to repeat in the CSP (anything else: the policy says only 'self').
const SAFE_HOST = /^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/;

/**
 * Browser navigations ask for HTML; API clients (curl's * / *, fetch, the REST SDKs) do not.
 * That is how GET /runs/<id> in the address bar gets the dashboard while the same URL from a
 * client gets the run as JSON.
 */
export function wantsHtml(req: IncomingMessage): boolean {
  return (req.headers.accept ?? '').includes('text/html');
}

/**
 * Only this origin's scripts and styles, and connections to itself: 'self' covers fetch, and the
 * explicit ws:/wss: origin covers the WebSocket for browsers whose 'self' does not include it.
 */
export function contentSecurityPolicy(host: string | undefined): string {
  const sockets = host && SAFE_HOST.test(host) ? ` ws://${host} wss://${host}` : '';
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    `connect-src 'self'${sockets}`,
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

async function readOrNull(path: string): Promise<Buffer | null> {
  try {
    return await readFile(path);
  } catch {
    return null;
  }
}

async function sendIndex(dir: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const html = await readOrNull(join(dir, 'index.html'));
  if (!html) {
    sendError(res, 503, 'DASHBOARD_NOT_BUILT', 'The dashboard is not built: run `npm run build:dashboard`');
    return;
  }
  res.writeHead(200, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': html.length,
    // Always revalidated: it names the current hashed bundle.
    'cache-control': 'no-cache',
    'content-security-policy': contentSecurityPolicy(req.headers.host),
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
  });
  res.end(req.method === 'HEAD' ? undefined : html);
}

async function sendAsset(
  dir: string,
  req: IncomingMessage,
  res: ServerResponse,
  name: string | undefined,
): Promise<void> {
  const type = name && SAFE_NAME.test(name) ? CONTENT_TYPES[extname(name)] : undefined;
  const path = type ? join(dir, 'assets', name!) : '';
  // The build writes a gzipped copy next to each file; most browsers take it.
  const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
  const zipped = type && gzip ? await readOrNull(`${path}.gz`) : null;
  const body = zipped ?? (type ? await readOrNull(path) : null);
  if (!body) {
    sendError(res, 404, 'NOT_FOUND', `No dashboard asset ${req.url?.split('?')[0]}`);
    return;
  }
  res.writeHead(200, {
    'content-type': type!,
    'content-length': body.length,
    'cache-control': HASHED_NAME.test(name!) ? 'public, max-age=31536000, immutable' : 'no-cache',
    'x-content-type-options': 'nosniff',
    vary: 'Accept-Encoding',
    ...(zipped ? { 'content-encoding': 'gzip' } : {}),
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

/**
 * The dashboard's routes, mounted before the REST routes: `/` and `/assets/*` are its own, and
 * `/runs`, `/runs/<id>`, `/runs/<id>/<anything>` answer index.html only to browser navigations
 * (Accept: text/html), so the REST routes on the same paths keep answering API clients.
 */
export function dashboardRoutes(dir: string = DASHBOARD_DIR): Route[] {
  const index = (req: IncomingMessage, res: ServerResponse) => sendIndex(dir, req, res);
  return [
    { method: 'GET', path: '/', handler: index },
    { method: 'GET', path: '/assets/:file', handler: (req, res, p) => sendAsset(dir, req, res, p.file) },
    ...['/runs', '/runs/:id', '/runs/:id/:rest'].map((path) => ({
      method: 'GET',
      path,
      accepts: wantsHtml,
      handler: index,
    })),
  ];
}
