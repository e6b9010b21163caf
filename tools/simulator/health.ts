/** Health routes: never behind the session key, but still rate limited like every path. */
import { ok, type Route } from './http.js';
import type { ApiVersion } from './types.js';

export function healthRoutes(version: ApiVersion, startedMs: number, lastRequestMs: () => number): Route[] {
  const r = (path: string, body: () => unknown): Route => ({
    method: 'GET',
    pattern: new RegExp(`^${path}$`),
    handle: () => ok(body()),
  });
  const routes = [
    r('/alive', () => ({ status: 'ok' })),
    // A JSON string, not an object.
    r('/health', () => 'OK'),
    r('/server_info', () => ({
      uptime: (Date.now() - startedMs) / 1000,
      idle_time: (Date.now() - lastRequestMs()) / 1000,
      resources: {
        cpu_count: 4,
        cpu_percent: 3.5,
        memory_rss: 187_000_000,
        memory_vms: 912_000_000,
        memory_percent: 1.2,
        disk_total: 100_000_000_000,
        disk_used: 42_000_000_000,
        disk_free: 58_000_000_000,
        disk_percent: 42,
      },
    })),
  ];
  // Only 2026 servers (which are V1-only) have /ready.
  if (version === 'v1') routes.push(r('/ready', () => ({ status: 'ready' })));
  return routes;
}

export const HEALTH_PATHS = new Set(['/alive', '/health', '/server_info', '/ready']);
