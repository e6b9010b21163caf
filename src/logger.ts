import { createRequire } from 'node:module';
import { type Logger, pino } from 'pino';
import { currentLogContext } from './log-context.js';

export type { Logger };

/**
 * Keys that could carry a secret, redacted wherever they appear, so a careless
 * `log.info({ headers })` cannot leak a token, a webhook signature or a database password.
 */
export const REDACT_PATHS = [
  'token',
  '*.token',
  '*.*.token',
  'tokenHash',
  '*.tokenHash',
  'authorization',
  '*.authorization',
  '*.*.authorization',
  'headers.authorization',
  'headers.cookie',
  'req.headers.authorization',
  'req.headers.cookie',
  'connectionParams',
  '*.connectionParams',
  'headers["x-session-api-key"]',
  '*.headers["x-session-api-key"]',
  'headers["x-hub-signature-256"]',
  '*.headers["x-hub-signature-256"]',
  'headers["x-hub-signature"]',
  'headers["x-gitlab-token"]',
  '*.headers["x-gitlab-token"]',
  'headers["webhook-signature"]',
  '*.headers["webhook-signature"]',
  'signature',
  '*.signature',
  'secret',
  '*.secret',
  'githubSecret',
  '*.githubSecret',
  '*.*.githubSecret',
  'gitlabSecret',
  '*.gitlabSecret',
  '*.*.gitlabSecret',
  'metricsToken',
  '*.metricsToken',
  '*.*.metricsToken',
  'apiTokens',
  '*.apiTokens',
  'password',
  '*.password',
  'databaseUrl',
  '*.databaseUrl',
];

/** pino-pretty is a development dependency: used when present, on a terminal, outside production. */
function prettyTransport(): pino.TransportSingleOptions | undefined {
  if (process.env.NODE_ENV === 'production' || !process.stdout.isTTY) return undefined;
  try {
    createRequire(import.meta.url).resolve('pino-pretty');
  } catch {
    return undefined;
  }
  return {
    target: 'pino-pretty',
    options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service' },
  };
}

/**
 * Structured JSON logs (one object per line). Lines written while handling a request carry its
 * `requestId` (and `runId` where known) through the mixin, whichever child logger wrote them.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level,
    base: { service: 'openhands-runner' },
    timestamp: pino.stdTimeFunctions.isoTime,
    mixin: () => ({ ...currentLogContext() }),
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
  };
  const transport = destination ? undefined : prettyTransport();
  if (transport) return pino({ ...options, transport });
  return pino(options, destination);
}
