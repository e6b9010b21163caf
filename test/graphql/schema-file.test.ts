import { readFileSync } from 'node:fs';
import { printSchema } from 'graphql';
import { describe, expect, it } from 'vitest';
import { schema } from '../../src/graphql/schema/index.js';

describe('schema.graphql', () => {
  it('matches the schema built from the code (run `npm run schema:print` after changing it)', () => {
    const file = readFileSync(new URL('../../schema.graphql', import.meta.url), 'utf8');
    expect(file).toBe(`${printSchema(schema)}\n`);
  });

  it('keeps the contract names', () => {
    const sdl = printSchema(schema);
    for (const name of [
      'startRun(input: StartRunInput!): StartRunPayload!',
      'cancelRun(id: ID!): CancelRunPayload!',
      'run(id: ID!): Run',
      'enum RunStatus',
    ]) {
      expect(sdl).toContain(name);
    }
  });
});
