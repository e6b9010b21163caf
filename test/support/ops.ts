/** Helpers for the operations tests: the tokens CLI, free ports, Prometheus text. */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Only what the child needs: no DATABASE_URL or tokens leaking in from the test's own environment. */
export function childEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of ['PATH', 'HOME', 'TMPDIR', 'LANG']) if (process.env[key]) env[key] = process.env[key]!;
  return { ...env, ...extra };
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Milliseconds from its last output to its exit: what a leftover timer would stretch. */
  lingerMs: number;
}

/**
 * `npm run tokens -- <args>` as an operator runs it (node + tsx, without npm's banner), against
 * `databaseUrl`, or with none the embedded database in `env.DATA_DIR`.
 */
export function tokensCli(
  args: string[],
  databaseUrl: string | undefined,
  env: Record<string, string> = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/tokens.ts', ...args], {
      cwd: ROOT,
      env: childEnv({ ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}), ...env }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let lastOutput = Date.now();
    child.stdout.on('data', (d) => {
      stdout += d;
      lastOutput = Date.now();
    });
    child.stderr.on('data', (d) => {
      stderr += d;
      lastOutput = Date.now();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, lingerMs: Date.now() - lastOutput });
    });
  });
}

/** Creates a stored token with the CLI and returns it. */
export async function createToken(
  databaseUrl: string,
  name: string,
  projects: string[] = [],
): Promise<string> {
  const result = await tokensCli(
    ['create', '--name', name, ...projects.flatMap((p) => ['--project', p])],
    databaseUrl,
  );
  if (result.code !== 0) throw new Error(`tokens create failed (${result.code}): ${result.stderr}`);
  return result.stdout.trim();
}

/** A loopback port nobody listens on (for "OpenHands is down" and child services). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Values of one metric from Prometheus text, keyed by their label set (`{a="1",b="2"}` or ``). */
export function metricValues(text: string, name: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)$/.exec(line);
    if (match && match[1] === name) values.set(match[2] ?? '', Number(match[3]));
  }
  return values;
}

/** One sample, matched by a subset of its labels; 0 when absent. */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const [set, value] of metricValues(text, name)) {
    if (Object.entries(labels).every(([k, v]) => set.includes(`${k}="${v}"`))) total += value;
  }
  return total;
}

export async function getMetrics(
  baseUrl: string,
  token?: string,
): Promise<{ status: number; text: string; type: string }> {
  const response = await fetch(`${baseUrl}/metrics`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  return {
    status: response.status,
    text: await response.text(),
    type: response.headers.get('content-type') ?? '',
  };
}
