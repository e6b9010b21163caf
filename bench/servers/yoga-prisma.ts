/**
 * The fixed stack's floor for scenario 8: bare graphql-yoga over Prisma (adapter-pg, the service's
 * generated client and pool size), answering the same three operations with the same statements
 * as the service — startRun through the service's own one-statement `createRun`, `run(id)` and
 * `runs(projectId, first)` through Prisma's model API reading the asked columns — and nothing
 * else: no auth, no limits, no metrics, no logging, no poller, no validation. What this costs per
 * request is what yoga + Prisma cost before any of the service's own work.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PrismaPg } from '@prisma/adapter-pg';
import { createSchema, createYoga } from 'graphql-yoga';
import { PrismaClient } from '../../src/generated/prisma/client.js';
import { createRun } from '../../src/runs/store/create-run.js';
import { serveChild } from '../lib/child.js';

const prisma = new PrismaClient({
  adapter: new PrismaPg({ connectionString: process.env.DATABASE_URL, max: 10 }),
});
await prisma.$connect();

const columns = {
  id: true,
  status: true,
  percent: true,
  phase: true,
  createdAt: true,
  repository: true,
} as const;

const yoga = createYoga({
  logging: false,
  maskedErrors: true,
  schema: createSchema({
    typeDefs: /* GraphQL */ `
      input StartRunInput { projectId: String!, compiledPrompt: String!, repository: String, branch: String, idempotencyKey: String }
      type Run { id: ID!, status: String!, percent: Int!, phase: String!, createdAt: String!, repository: String }
      type StartRunPayload { created: Boolean!, run: Run! }
      type RunEdge { cursor: String!, node: Run! }
      type PageInfo { hasNextPage: Boolean!, hasPreviousPage: Boolean!, startCursor: String, endCursor: String }
      type RunConnection { totalCount: Int!, edges: [RunEdge!]!, pageInfo: PageInfo! }
      type Query { run(id: ID!): Run, runs(projectId: String!, first: Int!): RunConnection! }
      type Mutation { startRun(input: StartRunInput!): StartRunPayload! }
    `,
    resolvers: {
      Run: { createdAt: (run: { createdAt: Date }) => run.createdAt.toISOString() },
      Query: {
        run: (_root: unknown, { id }: { id: string }) =>
          prisma.run.findUnique({ where: { id }, select: columns }),
        runs: async (_root: unknown, { projectId, first }: { projectId: string; first: number }) => {
          const [totalCount, rows] = await Promise.all([
            prisma.run.count({ where: { projectId } }),
            prisma.run.findMany({
              where: { projectId },
              orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
              take: first + 1,
              select: columns,
            }),
          ]);
          const page = rows.slice(0, first);
          return {
            totalCount,
            edges: page.map((node) => ({ cursor: node.id, node })),
            pageInfo: {
              hasNextPage: rows.length > first,
              hasPreviousPage: false,
              startCursor: page[0]?.id ?? null,
              endCursor: page.at(-1)?.id ?? null,
            },
          };
        },
      },
      Mutation: {
        startRun: async (_root: unknown, { input }: { input: Record<string, string | null> }) => {
          const now = new Date();
          const { run } = await createRun(
            prisma,
            true,
            {
              id: `run_${randomBytes(10).toString('hex')}`,
              projectId: input.projectId as string,
              compiledPrompt: input.compiledPrompt as string,
              repository: input.repository ?? null,
              branch: input.branch ?? null,
              gitProvider: null,
              metadata: null,
              idempotencyKey: input.idempotencyKey ?? null,
              phase: 'Queued',
              createdAt: now,
              notifyTarget: null,
            },
            { type: 'CREATED', at: now },
          );
          return { created: true, run };
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
  await prisma.$disconnect();
});
