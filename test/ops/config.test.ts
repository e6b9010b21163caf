import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadOpsConfig } from '../../src/config/ops.js';
import { ConfigError, loadConfig } from '../../src/config/service.js';
import { TokenBuckets } from '../../src/limits/rate-limiter.js';
import { ROOT } from '../support/ops.js';

const read = (path: string) => readFileSync(`${ROOT}/${path}`, 'utf8');

/** Variable names the code reads: the first argument of read/int/bool/oneOf/httpUrl/webhookSecret. */
function variablesIn(source: string): string[] {
  return [...source.matchAll(/\b(?:read|int|bool|oneOf|httpUrl|webhookSecret)\(env, '([A-Z0-9_]+)'/g)].map(
    (m) => m[1],
  );
}

describe('operations configuration', () => {
  it('.env.example lists every variable the service reads, and docs/operations.md documents every operations one', () => {
    const example = read('.env.example');
    const all = [
      ...variablesIn(read('src/config/service.ts')),
      ...variablesIn(read('src/config/ops.ts')),
      ...variablesIn(read('src/config/notifications.ts')),
    ];
    expect(all.length).toBeGreaterThan(30);
    expect(all.filter((name) => !new RegExp(`^#? ?${name}=`, 'm').test(example))).toEqual([]);
    const docs = read('docs/operations.md');
    expect(variablesIn(read('src/config/ops.ts')).filter((name) => !docs.includes(name))).toEqual([]);
  });

  it('has safe defaults and names the variable of a bad value', () => {
    const ops = loadOpsConfig({});
    expect(ops.limits).toMatchObject({ maxQueryDepth: 12, mutationsPerMinute: 300, mutationBurst: 60 });
    expect(ops.limits).toMatchObject({
      queriesPerMinute: 1200,
      queryBurst: 120,
      maxAliases: 30,
      maxResponseBytes: 4 * 1024 * 1024,
    });
    expect(ops.metricsToken).toBeUndefined();
    expect(loadOpsConfig({ RATE_LIMIT_MUTATIONS_PER_MINUTE: '0' }).limits.mutationsPerMinute).toBe(0);
    expect(loadConfig({ GRAPHQL_MAX_DEPTH: '30' }).ops.limits.maxQueryDepth).toBe(30);
    expect(() => loadConfig({ GRAPHQL_MAX_DEPTH: 'deep' })).toThrow(ConfigError);
    expect(() => loadConfig({ GRAPHQL_MAX_DEPTH: 'deep' })).toThrow(/GRAPHQL_MAX_DEPTH/);
    expect(() => loadConfig({ GRAPHQL_INTROSPECTION: 'maybe' })).toThrow(/GRAPHQL_INTROSPECTION/);
  });
});

describe('token buckets', () => {
  it('allows a burst, then one request per refill interval, per key', () => {
    let now = 0;
    const buckets = new TokenBuckets(60, 3, () => now); // one per second
    expect([buckets.take('a'), buckets.take('a'), buckets.take('a')]).toEqual([0, 0, 0]);
    expect(buckets.take('a')).toBe(1);
    expect(buckets.take('b')).toBe(0);
    now += 1000;
    expect(buckets.take('a')).toBe(0);
    expect(buckets.take('a')).toBe(1);
    now += 10_000;
    // Refills up to the burst, not beyond.
    expect([buckets.take('a'), buckets.take('a'), buckets.take('a'), buckets.take('a')]).toEqual([
      0, 0, 0, 1,
    ]);
  });

  it('is off at 0 per minute', () => {
    const buckets = new TokenBuckets(0, 1);
    for (let i = 0; i < 100; i++) expect(buckets.take('a')).toBe(0);
  });
});
