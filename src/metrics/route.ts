import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { bearerToken } from '../auth/tokens.js';
import { sendError } from '../http/respond.js';
import type { Route } from '../http/router.js';
import type { Metrics } from './metrics.js';

const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * GET /metrics in Prometheus text format; with METRICS_TOKEN set, only for `Bearer <METRICS_TOKEN>`.
 * Without one it is public, except where `tokenRequired` (production): there it answers 403
 * saying how to turn it on, as metrics name internals no anonymous caller should see.
 */
export function metricsRoute(
  metrics: Metrics,
  metricsToken: string | undefined,
  tokenRequired = false,
): Route {
  const expected = metricsToken ? digest(metricsToken) : null;
  return {
    method: 'GET',
    path: '/metrics',
    handler: async (req: IncomingMessage, res: ServerResponse) => {
      if (!expected && tokenRequired) {
        sendError(
          res,
          403,
          'METRICS_DISABLED',
          'GET /metrics is off: with NODE_ENV=production it needs METRICS_TOKEN set, then Authorization: Bearer <METRICS_TOKEN>',
        );
        return;
      }
      if (expected) {
        const sent = bearerToken(req.headers.authorization);
        // Digests have one length, so the comparison is constant-time whatever was sent.
        if (!sent || !timingSafeEqual(digest(sent), expected)) {
          sendError(res, 401, 'UNAUTHENTICATED', 'GET /metrics needs Authorization: Bearer <METRICS_TOKEN>', {
            'www-authenticate': 'Bearer',
          });
          return;
        }
      }
      const { contentType, body } = await metrics.render();
      res.writeHead(200, {
        'content-type': contentType,
        'content-length': Buffer.byteLength(body),
        'cache-control': 'no-store',
      });
      res.end(req.method === 'HEAD' ? undefined : body);
    },
  };
}
