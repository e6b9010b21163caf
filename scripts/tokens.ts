// Manages the API tokens stored in the database (DATABASE_URL, or the embedded one in DATA_DIR —
// stop the service first then, as the embedded database serves one process at a time).
//
//   npm run tokens -- create --name ci --project my-project [--project other] [--expires-in 90d]
//   npm run tokens -- list [--json]
//   npm run tokens -- revoke ci
//
// `create` prints the token once on stdout (nothing else goes there, so it can be captured).
import { parseArgs } from 'node:util';
import {
  createApiToken,
  listApiTokens,
  parseLifetime,
  revokeApiToken,
  TokenAdminError,
  type TokenInfo,
} from '../src/auth/token-admin.js';
import { TokenStore } from '../src/auth/token-store.js';
import { ConfigError, loadConfig } from '../src/config/service.js';
import { type Database, DataDirInUseError, openDatabase } from '../src/storage/database.js';

const USAGE = `Usage:
  npm run tokens -- create --name <name> [--project <id>]... [--expires-in <n>s|m|h|d]
      (no --project: every project; no --expires-in: never expires)
  npm run tokens -- list [--json]
  npm run tokens -- revoke <name>`;

function fail(message: string, code: number): never {
  process.stderr.write(`${message}\n`);
  // The schema engine leaves a lock-timeout timer behind; exit instead of waiting for it.
  process.exit(code);
}

const day = (d: Date | null) => (d ? d.toISOString().replace('T', ' ').slice(0, 19) : '-');

function state(t: TokenInfo, now: number): string {
  if (t.revokedAt) return 'revoked';
  return t.expiresAt && t.expiresAt.getTime() <= now ? 'expired' : 'active';
}

function row(t: TokenInfo, now: number): string[] {
  return [
    t.name,
    state(t, now),
    t.projects.length ? t.projects.join(',') : '*',
    day(t.createdAt),
    day(t.lastUsedAt),
    t.expiresAt ? day(t.expiresAt) : 'never',
    day(t.revokedAt),
  ];
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows
    .map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i]))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

async function main(db: Database, command: string | undefined, args: string[]): Promise<void> {
  const store = new TokenStore(db.prisma);
  if (command === 'create') {
    const { values } = parseArgs({
      args,
      options: {
        name: { type: 'string' },
        project: { type: 'string', multiple: true },
        'expires-in': { type: 'string' },
      },
    });
    if (!values.name) fail(`create needs --name\n${USAGE}`, 2);
    const lifetime = values['expires-in'];
    const { token, info } = await createApiToken(store, {
      name: values.name,
      projects: values.project,
      expiresInMs: lifetime === undefined ? undefined : parseLifetime(lifetime),
    });
    const scope = info.projects.length ? `projects ${info.projects.join(', ')}` : 'every project';
    const until = info.expiresAt ? `, valid until ${day(info.expiresAt)} UTC` : '';
    process.stderr.write(`Created token "${info.name}" for ${scope}${until}. It is shown only this once:\n`);
    process.stdout.write(`${token}\n`);
  } else if (command === 'list') {
    const { values } = parseArgs({ args, options: { json: { type: 'boolean' } } });
    const tokens = await listApiTokens(store);
    if (values.json) process.stdout.write(`${JSON.stringify(tokens, null, 2)}\n`);
    else if (tokens.length === 0)
      process.stdout.write('No stored tokens (API_TOKENS entries are not listed).\n');
    else {
      const header = ['NAME', 'STATE', 'PROJECTS', 'CREATED', 'LAST USED', 'EXPIRES', 'REVOKED'];
      const now = Date.now();
      process.stdout.write(`${table([header, ...tokens.map((t) => row(t, now))])}\n`);
    }
  } else if (command === 'revoke') {
    const { positionals } = parseArgs({ args, allowPositionals: true });
    if (positionals.length !== 1) fail(`revoke needs exactly one token name\n${USAGE}`, 2);
    const { info, alreadyRevoked } = await revokeApiToken(store, positionals[0]);
    process.stdout.write(
      alreadyRevoked
        ? `Token "${info.name}" was already revoked.\n`
        : `Revoked token "${info.name}"; requests with it are refused and its subscriptions close within seconds.\n`,
    );
  } else {
    fail(USAGE, 2);
  }
}

const [command, ...rest] = process.argv.slice(2);
if (!['create', 'list', 'revoke'].includes(command ?? '')) fail(USAGE, 2);
let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig();
} catch (error) {
  fail(error instanceof ConfigError ? error.message : String(error), 2);
}
let db: Database;
try {
  db = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir, poolSize: 2 });
} catch (error) {
  // The service holds the embedded database: say so instead of PGlite's "External error".
  if (error instanceof DataDirInUseError) fail(error.message, 1);
  throw error;
}
let code = 0;
try {
  await main(db, command, rest);
} catch (error) {
  // Known problems (bad name, unknown token, bad arguments) are the operator's to fix; say so plainly.
  const known =
    error instanceof TokenAdminError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
  process.stderr.write(`${known ? (error as Error).message : `tokens: ${(error as Error).message}`}\n`);
  code = known ? 1 : 3;
} finally {
  await db.close().catch(() => {});
}
process.exit(code);
