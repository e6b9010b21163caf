import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendError } from './respond.js';

export type Handler = (req: IncomingMessage, res: ServerResponse, params: Record<string, string>) => unknown;

export interface Route {
  method: string;
  /** Literal path, or a pattern with `:name` segments (e.g. /runs/:id/cancel). */
  path: string;
  handler: Handler;
  /**
   * Whether this route takes the request; when it says no, matching goes on to the next route
   * (the dashboard takes browser navigations to /runs/… and leaves API calls to the REST routes).
   */
  accepts?: (req: IncomingMessage) => boolean;
}

interface CompiledRoute extends Route {
  match: (path: string) => Record<string, string> | null;
}

function compile(route: Route): CompiledRoute {
  const names: string[] = [];
  const pattern = route.path.replace(/:([A-Za-z_]+)/g, (_, name: string) => {
    names.push(name);
    return '([^/]+)';
  });
  const re = new RegExp(`^${pattern}/?$`);
  return {
    ...route,
    match(path) {
      const m = re.exec(path);
      if (!m) return null;
      try {
        return Object.fromEntries(names.map((n, i) => [n, decodeURIComponent(m[i + 1])]));
      } catch {
        return null; // malformed percent-encoding: no such resource
      }
    },
  };
}

/** A small method+path router; unknown paths get a JSON 404, known paths with another method 405. */
export class Router {
  private readonly routes: CompiledRoute[] = [];

  add(...routes: Route[]): this {
    this.routes.push(...routes.map(compile));
    return this;
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    const method = req.method ?? 'GET';
    const allowed = new Set<string>();
    for (const route of this.routes) {
      const params = route.match(path);
      if (!params) continue;
      if (route.accepts && !route.accepts(req)) continue;
      if (route.method === '*' || route.method === method || (method === 'HEAD' && route.method === 'GET')) {
        await route.handler(req, res, params);
        return;
      }
      allowed.add(route.method);
    }
    if (allowed.size > 0) {
      sendError(res, 405, 'METHOD_NOT_ALLOWED', `${method} is not allowed on ${path}`, {
        allow: [...allowed].join(', '),
      });
      return;
    }
    sendError(res, 404, 'NOT_FOUND', `No route for ${method} ${path}`);
  }
}
