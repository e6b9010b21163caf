/**
 * Scenario 6 — openhands-runner against PostGraphile v5 (Amber preset) over the same database and
 * the same "Run"/"RunEvent" rows, measured in the same run with interleaved rounds (issue 15):
 * create, list (10,000+ runs in the project, with totalCount), read one, and the REST list.
 * Every answer is checked for `errors` (GraphQL errors come back with HTTP 200).
 */
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { startSimulator } from '../../tools/simulator/index.js';
import { type Child, ROOT, spawnChild } from '../lib/child.js';
import { createDatabase, log, mib, round } from '../lib/common.js';
import { type LoadOptions, type LoadResult, runLoad } from '../lib/load.js';
import { serviceEnv, TOKEN } from './startrun.js';

export interface PeerOptions {
  connections: number;
  durationMs: number;
  warmupMs: number;
  rounds: number;
  /** Runs in the listed project. */
  listRuns: number;
  cpuProfDir?: string;
}

export interface Side {
  rps: number;
  p50: number;
  p99: number;
  /** Failed answers (non-2xx, GraphQL errors, socket errors) over all rounds. */
  failures: number;
  requests: number;
  cpuMsPerRequest: number;
  rounds: Array<{ rps: number; p99: number }>;
}

export interface Operation {
  name: string;
  ours: Side;
  peer: Side | null;
  /** Bare yoga + Prisma with the same statements (bench/servers/yoga-prisma.ts): the stack's floor. */
  floor?: Side | null;
}

export interface PeerResult {
  connections: number;
  durationMs: number;
  listRuns: number;
  operations: Operation[];
  startup: { ours: { readyMs: number; rssIdleMiB: number }; peer: { readyMs: number; rssIdleMiB: number } };
  versions: Record<string, string>;
}

const LIST_PROJECT = 'bench-list';
/** The floor's creates: the service's poller must not start conversations for them (trigger below). */
const FLOOR_PROJECT = 'bench-floor';
const RUN_FIELDS = 'id status percent phase createdAt repository';
// Amber names the global Node id `id`, so the table's own id column becomes `rowId`.
const PEER_RUN_FIELDS = 'rowId status percent phase createdAt repository';
const PAGE_INFO = 'pageInfo { hasNextPage hasPreviousPage startCursor endCursor }';
const START_RUN = `mutation($input: StartRunInput!) { startRun(input: $input) { created run { id status percent phase } } }`;
const LIST = `query($p: String!) { runs(projectId: $p, first: 20) { totalCount edges { node { ${RUN_FIELDS} } } ${PAGE_INFO} } }`;
const READ_ONE = `query($id: ID!) { run(id: $id) { ${RUN_FIELDS} } }`;

/**
 * PostGraphile's side of "create": the run row comes from its create mutation; a trigger writes
 * the first event and the notice, the same work as the service's one-statement create (on its own
 * channel, so the service's listener does not handle PostGraphile's notices). Only rows
 * inserted without a first event (lastSeq 0, i.e. PostGraphile's) fire it. The two column defaults
 * exist only in this database: the service always sends both values.
 */
const PEER_TABLES_SQL = `
  ALTER TABLE "Run" ALTER COLUMN "id" SET DEFAULT 'run_' || replace(gen_random_uuid()::text, '-', '');
  ALTER TABLE "Run" ALTER COLUMN "updatedAt" SET DEFAULT now();
  CREATE FUNCTION bench_first_event() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    INSERT INTO "RunEvent" ("runId", "seq", "type", "status", "percent", "phase", "at")
      VALUES (NEW.id, 1, 'CREATED', NEW.status, NEW.percent, NEW.phase, NEW."createdAt");
    PERFORM pg_notify('bench_peer_run_events', json_build_object(
      'runId', NEW.id, 'projectId', NEW."projectId", 'seq', 1, 'status', NEW.status)::text);
    RETURN NULL;
  END $$;
  CREATE TRIGGER bench_first_event AFTER INSERT ON "Run"
    FOR EACH ROW WHEN (NEW."lastSeq" = 0) EXECUTE FUNCTION bench_first_event();
  CREATE FUNCTION bench_floor_not_polled() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    NEW."nextPollAt" := '2100-01-01T00:00:00Z';
    RETURN NEW;
  END $$;
  CREATE TRIGGER bench_floor_not_polled BEFORE INSERT ON "Run"
    FOR EACH ROW WHEN (NEW."projectId" = '${FLOOR_PROJECT}') EXECUTE FUNCTION bench_floor_not_polled();`;

/** Finished runs (the poller leaves them alone), one a second back in time, newest first. */
const SEED_SQL = `
  INSERT INTO "Run" ("id", "projectId", "compiledPrompt", "repository", "branch", "status", "percent",
                     "phase", "lastSeq", "createdAt", "updatedAt", "nextPollAt", "finishedAt")
  SELECT 'run_seed_' || lpad(i::text, 6, '0'), $1, 'Seeded run ' || i, 'acme/web', 'main',
         (ARRAY['COMPLETED', 'FAILED', 'CANCELLED'])[1 + i % 3]::"RunStatus", 100, 'Done', 0,
         now() - i * interval '1 second', now(), now() + interval '1 year', now()
  FROM generate_series(1, $2::int) AS i;
  `;

async function prepareDatabase(url: string, listRuns: number): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(PEER_TABLES_SQL);
    await client.query(SEED_SQL, [LIST_PROJECT, listRuns]);
    // Both servers read the same rows with the same statistics (autovacuum would get there later).
    await client.query('ANALYZE "Run"');
  } finally {
    await client.end();
  }
}

type Request = Pick<LoadOptions, 'method' | 'headers' | 'body'> & { path: string };

interface Pair {
  name: string;
  ours: Request | null;
  peer: Request | null;
  floor: Request | null;
  /** Checks an answer's body beyond "no errors" (e.g. the list has 20 nodes and the right total). */
  check: (body: string) => boolean;
}

const graphql = (
  query: string,
  variables: (n: number) => Record<string, unknown>,
  auth: boolean,
): Request => ({
  path: '/graphql',
  headers: auth ? { authorization: `Bearer ${TOKEN}` } : undefined,
  body: (n: number) => ({ query, variables: variables(n) }),
});

function pairs(listRuns: number): Pair[] {
  const input = (tag: string) => (n: number) => ({
    projectId: `bench-${tag}`,
    compiledPrompt: `Benchmark run ${tag}-${n}: fix the flaky test [sim:hang]`,
    repository: 'acme/web',
    branch: 'main',
    idempotencyKey: `${tag}-${process.pid}-${n}-${Math.random()}`,
  });
  const readId = 'run_seed_000042';
  const total = `"totalCount":${listRuns}`;
  return [
    {
      name: 'create',
      ours: graphql(START_RUN, (n) => ({ input: input('ours')(n) }), true),
      floor: graphql(START_RUN, (n) => ({ input: input('floor')(n) }), false),
      peer: graphql(
        `mutation($run: RunInput!) { createRun(input: { run: $run }) { run { rowId status percent phase } } }`,
        // A poll time far ahead: the service's poller must not pick PostGraphile's rows up.
        (n) => ({ run: { ...input('pgl')(n), nextPollAt: '2100-01-01T00:00:00Z' } }),
        false,
      ),
      check: (body) => body.includes('"status":"QUEUED"'),
    },
    {
      name: 'list',
      ours: graphql(LIST, () => ({ p: LIST_PROJECT }), true),
      floor: graphql(LIST, () => ({ p: LIST_PROJECT }), false),
      peer: graphql(
        `query($p: String!) { allRuns(condition: { projectId: $p }, first: 20, orderBy: [CREATED_AT_DESC, ROW_ID_DESC]) { totalCount edges { node { ${PEER_RUN_FIELDS} } } ${PAGE_INFO} } }`,
        () => ({ p: LIST_PROJECT }),
        false,
      ),
      check: (body) => body.includes(total) && body.split('"node"').length === 21,
    },
    {
      name: 'read one',
      ours: graphql(READ_ONE, () => ({ id: readId }), true),
      floor: graphql(READ_ONE, () => ({ id: readId }), false),
      peer: graphql(
        `query($id: String!) { runByRowId(rowId: $id) { ${PEER_RUN_FIELDS} } }`,
        () => ({ id: readId }),
        false,
      ),
      check: (body) => body.includes(`"${readId}"`),
    },
    {
      name: 'REST GET /runs?project_id= (first 20)',
      ours: {
        path: `/runs?project_id=${LIST_PROJECT}&limit=20`,
        method: 'GET',
        headers: { authorization: `Bearer ${TOKEN}` },
      },
      peer: null,
      floor: null,
      check: (body) => body.includes(readId.slice(0, 9)),
    },
  ];
}

const accept = (check: (body: string) => boolean) => (body: string) =>
  !body.includes('"errors"') && check(body);

async function measure(
  child: Child,
  request: Request,
  check: (body: string) => boolean,
  connections: number,
  durationMs: number,
): Promise<{ load: LoadResult; cpuUs: number }> {
  const before = await child.cpu();
  const load = await runLoad({
    ...request,
    urls: [child.url],
    connections,
    durationMs,
    accept: accept(check),
  });
  const after = await child.cpu();
  return { load, cpuUs: after.user + after.system - before.user - before.system };
}

function side(rounds: Array<{ load: LoadResult; cpuUs: number }>): Side {
  const sorted = [...rounds].sort((a, b) => a.load.rps - b.load.rps);
  const mid = sorted[Math.floor(sorted.length / 2)].load;
  const ok = rounds.reduce((s, r) => s + r.load.ok, 0);
  return {
    rps: round(mid.rps, 0),
    p50: round(mid.latency.p50, 2),
    p99: round(mid.latency.p99, 2),
    failures: rounds.reduce(
      (s, r) => s + r.load.errors + Object.values(r.load.failures).reduce((a, b) => a + b, 0),
      0,
    ),
    requests: rounds.reduce((s, r) => s + r.load.requests, 0),
    cpuMsPerRequest: round(rounds.reduce((s, r) => s + r.cpuUs, 0) / 1000 / Math.max(1, ok), 2),
    rounds: rounds.map((r) => ({ rps: round(r.load.rps, 0), p99: round(r.load.latency.p99, 1) })),
  };
}

/** One request of each kind on each side, before measuring: a wrong answer stops the scenario. */
async function verify(child: Child, request: Request, check: (body: string) => boolean, what: string) {
  const load = await runLoad({
    ...request,
    urls: [child.url],
    connections: 1,
    durationMs: 1,
    accept: accept(check),
  });
  if (load.ok !== load.requests || load.requests === 0) {
    const res = await fetch(new URL(request.path, child.url), {
      method: request.method ?? 'POST',
      headers: { 'content-type': 'application/json', ...request.headers },
      body: request.method === 'GET' ? undefined : JSON.stringify(request.body?.(0)),
    });
    throw new Error(`${what}: wrong answer (${res.status}): ${(await res.text()).slice(0, 600)}`);
  }
}

function versions(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of ['postgraphile', 'grafast', '@dataplan/pg', 'graphile-build-pg', 'grafserv']) {
    try {
      out[name] = JSON.parse(
        readFileSync(`${process.env.BENCH_PEER_MODULES ?? ROOT}/node_modules/${name}/package.json`, 'utf8'),
      ).version;
    } catch {
      out[name] = 'n/a';
    }
  }
  return out;
}

const SIDES = ['ours', 'peer', 'floor'] as const;

export async function peerBench(options: PeerOptions): Promise<PeerResult> {
  const db = await createDatabase();
  const sim = await startSimulator({ apiVersion: 'v1', stepMs: 150, rateLimit: false });
  const children: Child[] = [];
  try {
    // The service first: it applies the migrations the peer then introspects.
    const ours = await spawnChild(`${ROOT}/bench/servers/service.ts`, {
      env: serviceEnv(db.url, sim.url, 'peer', { LOG_LEVEL: 'info', BENCH_LOG_FILE: '/dev/null' }),
      cpuProfDir: options.cpuProfDir ? `${options.cpuProfDir}/ours` : undefined,
    });
    children.push(ours);
    const oursIdle = (await ours.memory()).rss;
    await prepareDatabase(db.url, options.listRuns);
    const peer = await spawnChild(`${ROOT}/bench/servers/postgraphile.ts`, {
      env: { DATABASE_URL: db.url, GRAPHILE_ENV: 'production' },
      cpuProfDir: options.cpuProfDir ? `${options.cpuProfDir}/peer` : undefined,
    });
    children.push(peer);
    const peerIdle = (await peer.memory()).rss;
    const floor = await spawnChild(`${ROOT}/bench/servers/yoga-prisma.ts`, {
      env: { DATABASE_URL: db.url },
      cpuProfDir: options.cpuProfDir ? `${options.cpuProfDir}/floor` : undefined,
    });
    children.push(floor);
    const servers = { ours, peer, floor };
    const names = { ours: 'ours', peer: 'PostGraphile', floor: 'yoga + Prisma' };

    const all = pairs(options.listRuns);
    for (const p of all) {
      for (const who of SIDES) {
        const request = p[who];
        if (request) await verify(servers[who], request, p.check, `${names[who]} ${p.name}`);
      }
    }
    log(
      `scenario 6: ${options.connections} connections, ${options.rounds} rounds of ${options.durationMs} ms`,
    );
    const { connections, durationMs, warmupMs } = options;
    for (const p of all) {
      for (const who of SIDES) {
        const request = p[who];
        if (request) await measure(servers[who], request, p.check, connections, warmupMs);
      }
    }
    const measured = all.map(() => ({
      ours: [] as Array<{ load: LoadResult; cpuUs: number }>,
      peer: [] as Array<{ load: LoadResult; cpuUs: number }>,
      floor: [] as Array<{ load: LoadResult; cpuUs: number }>,
    }));
    for (let r = 0; r < options.rounds; r++) {
      for (const [i, p] of all.entries()) {
        // Rotate who goes first, so drift within a round does not favour one side.
        const order = SIDES.map((_, k) => SIDES[(k + r) % SIDES.length]);
        for (const who of order) {
          const request = p[who];
          if (!request) continue;
          const m = await measure(servers[who], request, p.check, connections, durationMs);
          measured[i][who].push(m);
          log(
            `  ${p.name} ${who} round ${r + 1}: ${round(m.load.rps, 0)} req/s p99 ${round(m.load.latency.p99, 1)} ms`,
          );
        }
      }
    }
    return {
      connections,
      durationMs,
      listRuns: options.listRuns,
      operations: all.map((p, i) => ({
        name: p.name,
        ours: side(measured[i].ours),
        peer: p.peer ? side(measured[i].peer) : null,
        floor: p.floor ? side(measured[i].floor) : null,
      })),
      startup: {
        ours: { readyMs: round(ours.readyMs, 0), rssIdleMiB: mib(oursIdle) },
        peer: { readyMs: round(peer.readyMs, 0), rssIdleMiB: mib(peerIdle) },
      },
      versions: versions(),
    };
  } finally {
    await Promise.all(children.map((c) => c.stop().catch(() => {})));
    await sim.stop();
    await db.drop().catch(() => {});
  }
}
