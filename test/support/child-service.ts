/**
 * The service in a child process, so a test can kill it hard (SIGKILL: no shutdown, no lease release).
 * Usage: spawnService(dbUrl, simUrl, env, instanceId) from a test; the child prints one JSON line
 * {"url": ...} once it serves. `nodeArgs` go to node itself (e.g. --max-old-space-size=128).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export interface ChildService {
  child: ChildProcess;
  graphqlUrl: string;
  /** SIGKILL, then wait for the process to be gone. */
  kill(): Promise<void>;
}

const SELF = fileURLToPath(import.meta.url);

export async function spawnService(
  databaseUrl: string,
  openhandsUrl: string,
  env: Record<string, string>,
  instanceId: string,
  nodeArgs: string[] = [],
): Promise<ChildService> {
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', SELF], {
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    env: {
      ...process.env,
      CHILD_SERVICE: JSON.stringify({ databaseUrl, openhandsUrl, env, instanceId }),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = once(child, 'exit');
  const lines = createInterface({ input: child.stdout! });
  const ready = new Promise<string>((resolve, reject) => {
    lines.on('line', (line) => {
      try {
        const parsed = JSON.parse(line) as { url?: string };
        if (parsed.url) resolve(`${parsed.url}/graphql`);
      } catch {
        // not our line
      }
    });
    child.once('exit', (code) => reject(new Error(`child service exited early (${code})`)));
  });
  const timeout = setTimeout(() => child.kill('SIGKILL'), 30_000);
  try {
    const graphqlUrl = await ready;
    return {
      child,
      graphqlUrl,
      async kill() {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        await exited;
      },
    };
  } finally {
    clearTimeout(timeout);
  }
}

// When run as the child: start the service and report where it listens.
if (process.env.CHILD_SERVICE && process.argv[1] === SELF) {
  const { databaseUrl, openhandsUrl, env, instanceId } = JSON.parse(process.env.CHILD_SERVICE);
  const { startService } = await import('./service.js');
  const service = await startService(databaseUrl, openhandsUrl, env, { instanceId });
  process.stdout.write(`${JSON.stringify({ url: service.url })}\n`);
}
