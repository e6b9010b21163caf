import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // graphql 16 ships CJS (`main`) and ESM (`module`). Node — and so graphql-yoga and Pothos — load
    // the CJS file, but Vite's resolver would hand our own sources the ESM one: two graphql modules in
    // one process, so `instanceof GraphQLError` and schema checks fail in tests only. Use the one Node uses.
    alias: [{ find: /^graphql$/, replacement: 'graphql/index.js' }],
  },
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores: a couple of files at once, each with its own database.
    maxWorkers: 2,
    pool: 'forks',
  },
});
