/**
 * Baseline for scenario 1: a bare graphql-yoga server whose startRun mutation does one
 * parameterised INSERT through `pg` (no auth, no validation, no idempotency, no event log).
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSchema, createYoga } from 'graphql-yoga';
import pg from 'pg';
import { serveChild } from '../lib/child.js';

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 });
await pool.query(`CREATE TABLE IF NOT EXISTS bench_run (
  id text PRIMARY KEY, project_id text NOT NULL, compiled_prompt text NOT NULL, repository text,
  branch text, idempotency_key text, status text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())`);

const yoga = createYoga({
  logging: false,
  maskedErrors: true,
  schema: createSchema({
    typeDefs: /* GraphQL */ `
      input StartRunInput { projectId: String!, compiledPrompt: String!, repository: String, branch: String, idempotencyKey: String }
      type Run { id: ID!, status: String!, percent: Int!, phase: String! }
      type StartRunPayload { created: Boolean!, run: Run! }
      type Query { ok: Boolean }
      type Mutation { startRun(input: StartRunInput!): StartRunPayload! }
    `,
    resolvers: {
      Mutation: {
        startRun: async (_root: unknown, { input }: { input: Record<string, string | null> }) => {
          const id = `run_${randomBytes(10).toString('hex')}`;
          const { rows } = await pool.query(
            `INSERT INTO bench_run (id, project_id, compiled_prompt, repository, branch, idempotency_key, status)
             VALUES ($1, $2, $3, $4, $5, $6, 'QUEUED') RETURNING id, status`,
            [id, input.projectId, input.compiledPrompt, input.repository, input.branch, input.idempotencyKey],
          );
          return { created: true, run: { ...rows[0], percent: 0, phase: 'Queued' } };
        },
      },
    },
  }),
});

const server = createServer(yoga);
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address() as AddressInfo;
serveChild(`http://127.0.0.1:${port}`, async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await pool.end();
});
