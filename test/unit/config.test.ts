import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/service.js';

describe('loadConfig', () => {
  it('has sane defaults with an empty environment', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 8080,
      databaseUrl: undefined,
      dataDir: './.data',
      apiTokens: [],
      authDisabled: false,
      openhands: { baseUrl: 'http://127.0.0.1:3000', apiVersion: 'auto', token: undefined },
    });
    // Below OpenHands' 10 requests per second per IP.
    expect(config.openhands.maxRequestsPerSecond).toBeLessThan(10);
    expect(config.openhands.maxRequestsPerSecond).toBeGreaterThan(0);
    expect(config.poller.intervalMs).toBeGreaterThan(0);
    expect(config.poller.maxActiveRuns).toBeGreaterThan(0);
    expect(config.poller.startTimeoutMs).toBeLessThan(config.poller.maxRunMs);
  });

  it('reads every documented variable', () => {
    const config = loadConfig({
      PORT: '9000',
      HOST: '127.0.0.1',
      DATABASE_URL: 'postgresql://u:p@db:5432/runs',
      DATA_DIR: '/var/lib/ohr',
      OPENHANDS_BASE_URL: 'https://oh.example.com/',
      OPENHANDS_TOKEN: 'secret',
      OPENHANDS_API_VERSION: 'V0',
      API_TOKENS: ' a , b,,c ',
      POLL_INTERVAL_MS: '500',
      LOG_LEVEL: 'debug',
      MAX_ACTIVE_RUNS: '3',
      OPENHANDS_MAX_RPS: '5',
    });
    expect(config).toMatchObject({
      port: 9000,
      host: '127.0.0.1',
      databaseUrl: 'postgresql://u:p@db:5432/runs',
      dataDir: '/var/lib/ohr',
      apiTokens: ['a', 'b', 'c'],
      logLevel: 'debug',
      openhands: {
        baseUrl: 'https://oh.example.com',
        token: 'secret',
        apiVersion: 'v0',
        maxRequestsPerSecond: 5,
      },
      poller: { intervalMs: 500, maxActiveRuns: 3 },
    });
  });

  it.each([
    'postgresql+psycopg2://u:p@db:5432/runs',
    'postgresql+psycopg://u:p@db:5432/runs',
    'postgres://u:p@db:5432/runs',
  ])('accepts the old service’s database URL form %s', (url) => {
    expect(loadConfig({ DATABASE_URL: url }).databaseUrl).toBe('postgresql://u:p@db:5432/runs');
  });

  it('treats empty values as unset', () => {
    expect(loadConfig({ PORT: '', DATABASE_URL: '  ', API_TOKENS: '' })).toMatchObject({
      port: 8080,
      databaseUrl: undefined,
      apiTokens: [],
    });
  });

  it.each([
    ['PORT', 'eighty'],
    ['PORT', '70000'],
    ['DATABASE_URL', 'mysql://u@h/db'],
    ['OPENHANDS_BASE_URL', 'not a url'],
    ['OPENHANDS_BASE_URL', 'ftp://host'],
    ['OPENHANDS_API_VERSION', 'v2'],
    ['POLL_INTERVAL_MS', '-1'],
    ['POLL_INTERVAL_MS', '1.5'],
    ['POLL_INTERVAL_MS', '0'],
    ['LOG_LEVEL', 'loud'],
    ['AUTH_DISABLED', 'maybe'],
    ['MAX_ACTIVE_RUNS', '0'],
    ['OPENHANDS_MAX_RPS', '0'],
    ['POLL_LEASE_MS', '10'],
  ])('refuses %s=%s with an error naming the variable', (name, value) => {
    let error: unknown;
    try {
      loadConfig({ [name]: value });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe(name);
    expect((error as Error).message).toContain(name);
  });

  it('AUTH_DISABLED must be said explicitly', () => {
    expect(loadConfig({ AUTH_DISABLED: 'true' }).authDisabled).toBe(true);
    expect(loadConfig({ AUTH_DISABLED: 'false' }).authDisabled).toBe(false);
  });
});
