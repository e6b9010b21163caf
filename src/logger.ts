import { type Logger, pino } from 'pino';

export type { Logger };

/**
 * Structured JSON logs. Anything that could carry a secret is redacted by key wherever it appears,
 * so a careless `log.info({ headers })` cannot leak a token.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'openhands-runner' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: [
          'token',
          '*.token',
          'authorization',
          '*.authorization',
          'headers.authorization',
          'headers["x-session-api-key"]',
          'headers["x-hub-signature-256"]',
          'headers["x-gitlab-token"]',
          'secret',
          '*.secret',
          'password',
          '*.password',
          'databaseUrl',
          '*.databaseUrl',
        ],
        censor: '[redacted]',
      },
    },
    destination,
  );
}
