import type { IncomingMessage, ServerResponse } from 'node:http';
import type { OpenHandsClient } from '../openhands/client.js';
import { sendJson } from './respond.js';

export interface HealthDeps {
  /** Whether the database answers, within a couple of seconds. */
  databaseReachable: () => Promise<boolean>;
  openhands: OpenHandsClient;
  version: string;
  startedAt: number;
  isReady: () => boolean;
  /** Whether agent-server pushes arrive at this replica (src/push/activity.ts). */
  pushes?: () => unknown;
}

const OPENHANDS_TIMEOUT_MS = 2000;
const OPENHANDS_CACHE_MS = 5000;
const openhandsChecks = new WeakMap<OpenHandsClient, { at: number; result: Promise<boolean> }>();

/**
 * OpenHands /alive, answered within 2 s and shared for 5 s: probes come often, and the client's
 * own retries (seconds when OpenHands is down) must not hold up the answer or flood OpenHands.
 */
function openhandsAlive(openhands: OpenHandsClient): Promise<boolean> {
  const cached = openhandsChecks.get(openhands);
  if (cached && Date.now() - cached.at < OPENHANDS_CACHE_MS) return cached.result;
  const result = Promise.race([
    openhands.alive(),
    new Promise<boolean>((resolve) => setTimeout(() => resolve(false), OPENHANDS_TIMEOUT_MS).unref()),
  ]);
  openhandsChecks.set(openhands, { at: Date.now(), result });
  return result;
}

/** GET /health: 200 while the service works (OpenHands down = degraded), 503 without a database. */
export async function health(deps: HealthDeps, _req: IncomingMessage, res: ServerResponse): Promise<void> {
  const [database, openhands] = await Promise.all([deps.databaseReachable(), openhandsAlive(deps.openhands)]);
  const status = !database ? 'unavailable' : openhands ? 'ok' : 'degraded';
  sendJson(res, database ? 200 : 503, {
    status,
    database: database ? 'ok' : 'unreachable',
    openhands: openhands ? 'ok' : 'unreachable',
    version: deps.version,
    uptimeSeconds: Math.round((Date.now() - deps.startedAt) / 1000),
    ...(deps.pushes ? { pushes: deps.pushes() } : {}),
  });
}

/** GET /ready: 503 until migrations are applied and again during shutdown. */
export function ready(deps: HealthDeps, _req: IncomingMessage, res: ServerResponse): void {
  const isReady = deps.isReady();
  sendJson(res, isReady ? 200 : 503, { ready: isReady });
}
