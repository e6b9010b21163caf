/**
 * Vitest fixtures for tests that need real parts: a fresh database, the OpenHands simulator and the
 * service, each set up once per test file (`scope: 'file'`) when a test first asks for it, and torn
 * down in reverse order after the file's last test.
 *
 * Set-up that differs between files is a fixture option, given at the top level of the file:
 *
 *   test.override({ simulatorOptions: { apiVersion: 'v0', stepMs: 40 }, serviceEnv: { MAX_PAGE_SIZE: '2' } });
 *   test('…', async ({ service, sim, db }) => { … });
 *
 * Vitest refuses to override a file-scoped fixture inside a `describe`. A file whose describes need
 * different set-ups (one per OpenHands API version, say) builds one `test` per set-up at the top
 * level with `fixturesWith(options)` (or `fixturesPerApiVersion`) and uses each in its describe; those
 * stacks all stop when the file ends.
 */
import { test as base } from 'vitest';
import { type Simulator, type SimulatorOptions, startSimulator } from '../../tools/simulator/index.js';
import { createTestDatabase, type TestDatabase } from './database.js';
import { type RunningService, startService } from './service.js';

/** What the simulator of a test file starts with unless the file says otherwise. */
export const SIMULATOR_DEFAULTS: SimulatorOptions = { stepMs: 30, rateLimit: false, maxConversations: 100 };

export interface Stack {
  db: TestDatabase;
  sim: Simulator;
  service: RunningService;
  /** The service's GraphQL endpoint. */
  url: string;
  stop(): Promise<void>;
}

export interface StackOptions {
  /** Merged over SIMULATOR_DEFAULTS. */
  simulatorOptions?: SimulatorOptions;
  /** Service environment; OPENHANDS_API_VERSION defaults to the simulator's API version. */
  serviceEnv?: Record<string, string>;
}

type ServiceOptions = Parameters<typeof startService>[3];
/** Starts another service on the file's database and simulator; it stops after the file at the latest. */
export type Launch = (env?: Record<string, string>, options?: ServiceOptions) => Promise<RunningService>;

/** The service environment a simulator needs: the API version it speaks, unless the file chose one. */
export function envFor(
  simulatorOptions: SimulatorOptions,
  env: Record<string, string>,
): Record<string, string> {
  return { OPENHANDS_API_VERSION: simulatorOptions.apiVersion ?? 'v1', ...env };
}

export function fixturesWith(defaults: StackOptions = {}) {
  return (
    base
      .extend('simulatorOptions', { scope: 'file' }, defaults.simulatorOptions ?? {})
      .extend('serviceEnv', { scope: 'file' }, defaults.serviceEnv ?? {})
      // biome-ignore lint/correctness/noEmptyPattern: vitest reads a fixture's dependencies from this pattern
      .extend('db', { scope: 'file' }, async ({}, { onCleanup }) => {
        const db = await createTestDatabase();
        onCleanup(() => db.drop());
        return db;
      })
      .extend('sim', { scope: 'file' }, async ({ simulatorOptions }, { onCleanup }) => {
        const sim = await startSimulator({ ...SIMULATOR_DEFAULTS, ...simulatorOptions });
        onCleanup(() => sim.stop());
        return sim;
      })
      .extend(
        'service',
        { scope: 'file' },
        async ({ db, sim, simulatorOptions, serviceEnv }, { onCleanup }) => {
          const service = await startService(db.url, sim.url, envFor(simulatorOptions, serviceEnv));
          onCleanup(() => service.stop());
          return service;
        },
      )
      .extend('stack', { scope: 'file' }, ({ db, sim, service }): Stack => {
        // The parts stop with the file; `stop` is for callers that want them gone sooner.
        const stop = async () => {
          await service.stop().catch(() => {});
          await sim.stop().catch(() => {});
        };
        return { db, sim, service, url: service.graphqlUrl, stop };
      })
      .extend('launch', { scope: 'file' }, ({ db, sim }, { onCleanup }): Launch => {
        const started: RunningService[] = [];
        onCleanup(async () => {
          await Promise.all(started.map((service) => service.stop().catch(() => {})));
        });
        return async (env = {}, options = {}) => {
          const service = await startService(db.url, sim.url, env, options);
          started.push(service);
          return service;
        };
      })
  );
}

export const API_VERSIONS = ['v1', 'v0'] as const;
export type ApiVersion = (typeof API_VERSIONS)[number];

/** One `test` per OpenHands API version, each with its own database, simulator and service. */
export function fixturesPerApiVersion(
  options: StackOptions = {},
): Record<ApiVersion, ReturnType<typeof fixturesWith>> {
  const forVersion = (apiVersion: ApiVersion) =>
    fixturesWith({ ...options, simulatorOptions: { ...options.simulatorOptions, apiVersion } });
  return { v1: forVersion('v1'), v0: forVersion('v0') };
}

export const test = fixturesWith();
export const it = test;
