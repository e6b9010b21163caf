/**
 * Servers under test run in child processes, so their memory and CPU are their own and the load
 * generator in the parent does not share their event loop. A child announces itself over IPC with
 * {type: 'ready', url} and answers {type: 'mem'} (after a GC), {type: 'cpu'} and {type: 'stop'}.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface Memory {
  rss: number;
  heapUsed: number;
  /** V8 heap committed (used + free space kept by V8). */
  heapTotal: number;
  external: number;
  arrayBuffers: number;
}

/** A child's event-loop delay and GC pauses over a window. */
export interface Pauses {
  loopP99Ms: number;
  loopMaxMs: number;
  gcCount: number;
  gcTotalMs: number;
  gcMaxMs: number;
}

export interface Child {
  child: ChildProcess;
  url: string;
  /** ms from fork() to the ready message. */
  readyMs: number;
  /** Extra fields the child sent with its ready message. */
  info: Record<string, unknown>;
  memory(): Promise<Memory>;
  /** User+system CPU microseconds used by the child so far. */
  cpu(): Promise<{ user: number; system: number }>;
  call<T>(message: Record<string, unknown>): Promise<T>;
  stop(): Promise<void>;
}

export interface SpawnOptions {
  env?: Record<string, string | undefined>;
  /** Write a V8 CPU profile (node --cpu-prof) into this folder when the child exits. */
  cpuProfDir?: string;
}

let nextCall = 1;

/** Forks `entry` (a .ts file under bench/servers) with tsx and waits for its ready message. */
export async function spawnChild(entry: string, options: SpawnOptions = {}): Promise<Child> {
  const execArgv = ['--import', 'tsx', '--expose-gc'];
  if (options.cpuProfDir) execArgv.push('--cpu-prof', `--cpu-prof-dir=${options.cpuProfDir}`);
  const started = performance.now();
  const child = fork(entry, [], {
    cwd: ROOT,
    execArgv,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = once(child, 'exit');
  const pending = new Map<number, (value: unknown) => void>();
  const ready = new Promise<{ url: string; info: Record<string, unknown> }>((resolve, reject) => {
    child.on('message', (raw) => {
      const message = raw as { type: string; id?: number; url?: string; value?: unknown };
      if (message.type === 'ready') resolve({ url: message.url!, info: message as Record<string, unknown> });
      else if (message.type === 'reply' && message.id !== undefined) {
        pending.get(message.id)?.(message.value);
        pending.delete(message.id);
      }
    });
    child.once('exit', (code, signal) =>
      reject(new Error(`${entry} exited before ready (${code ?? signal})`)),
    );
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  let url: string;
  let info: Record<string, unknown>;
  try {
    ({ url, info } = await ready);
  } finally {
    clearTimeout(timer);
  }
  const readyMs = performance.now() - started;
  const call = <T>(message: Record<string, unknown>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      if (!child.connected) {
        reject(new Error('child is gone'));
        return;
      }
      const id = nextCall++;
      pending.set(id, resolve as (value: unknown) => void);
      child.send({ ...message, id });
    });
  return {
    child,
    url,
    readyMs,
    info,
    memory: () => call<Memory>({ type: 'mem' }),
    cpu: () => call<{ user: number; system: number }>({ type: 'cpu' }),
    call,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const force = setTimeout(() => child.kill('SIGKILL'), 20_000);
      if (child.connected) child.send({ type: 'stop' });
      else child.kill('SIGTERM');
      await exited;
      clearTimeout(force);
    },
  };
}

/**
 * The child side: report ready, answer memory/CPU questions, and stop cleanly (so --cpu-prof can
 * write its profile). `extra` handles scenario-specific messages.
 */
export function serveChild(
  url: string,
  stop: () => Promise<void>,
  info: Record<string, unknown> = {},
  extra: (message: Record<string, unknown>) => Promise<unknown> | unknown = () => null,
): void {
  // Event-loop delay and GC pauses since the last {type: 'pauses'} question (which resets them).
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  const gc = { count: 0, totalMs: 0, maxMs: 0 };
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      gc.count++;
      gc.totalMs += entry.duration;
      gc.maxMs = Math.max(gc.maxMs, entry.duration);
    }
  }).observe({ entryTypes: ['gc'] });
  process.on('message', async (raw) => {
    const message = raw as Record<string, unknown> & { type: string; id?: number };
    let value: unknown = null;
    if (message.type === 'pauses') {
      value = {
        loopP99Ms: loop.percentile(99) / 1e6,
        loopMaxMs: loop.max / 1e6,
        gcCount: gc.count,
        gcTotalMs: gc.totalMs,
        gcMaxMs: gc.maxMs,
      } satisfies Pauses;
      loop.reset();
      Object.assign(gc, { count: 0, totalMs: 0, maxMs: 0 });
    } else if (message.type === 'mem') {
      for (let i = 0; i < 3; i++) globalThis.gc?.();
      const m = process.memoryUsage();
      value = {
        rss: m.rss,
        heapUsed: m.heapUsed,
        heapTotal: m.heapTotal,
        external: m.external,
        arrayBuffers: m.arrayBuffers,
      };
    } else if (message.type === 'rss') {
      value = process.memoryUsage().rss;
    } else if (message.type === 'cpu') {
      value = process.cpuUsage();
    } else if (message.type === 'stop') {
      await stop().catch((error) => console.error('[bench child] stop failed', error));
      process.send?.({ type: 'reply', id: message.id, value: null });
      process.disconnect?.();
      process.exit(0);
    } else {
      value = await extra(message);
    }
    process.send?.({ type: 'reply', id: message.id, value });
  });
  process.send?.({ type: 'ready', url, uptimeMs: process.uptime() * 1000, ...info });
}
