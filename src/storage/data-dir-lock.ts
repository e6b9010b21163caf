import { unlinkSync } from 'node:fs';
import { open, readFile, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';

/** The file in DATA_DIR that says which process has the embedded database open. */
export const LOCK_FILE = 'openhands-runner.lock';

export class DataDirInUseError extends Error {
  override name = 'DataDirInUseError';
  constructor(
    readonly dataDir: string,
    readonly pid: number,
  ) {
    super(
      `DATA_DIR ${dataDir} is in use by process ${pid}; stop the service or point DATABASE_URL at PostgreSQL`,
    );
  }
}

// Lock files this process holds: a lock file with our own pid is ours only if listed here (a
// container restarted as pid 1 finds its previous life's pid 1 in a stale file).
const held = new Set<string>();

/**
 * Takes DATA_DIR for this process: PGlite serves one process, and a second one (the tokens tool
 * while the service runs) would otherwise fail with PGlite's bare "External error". The lock is a
 * file created with O_EXCL holding the pid; a file whose process is gone is stale and taken over.
 * Returns the release function (also run at process exit).
 */
export async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  const path = resolve(join(dataDir, LOCK_FILE));
  for (let attempt = 0; attempt < 3; attempt++) {
    if (await create(path)) return holdUntilRelease(path);
    const owner = await ownerOf(path);
    if (owner !== null && isRunning(owner) && (owner !== process.pid || held.has(path))) {
      throw new DataDirInUseError(dataDir, owner);
    }
    // Stale (its process is gone) or half-written: remove it and try again.
    await unlink(path).catch(ignoreMissing);
  }
  throw new Error(`Could not take the lock ${path}; another process keeps creating it`);
}

/** Creates the lock file with our pid; false if it exists already. */
async function create(path: string): Promise<boolean> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, 'wx');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  try {
    await handle.writeFile(`${process.pid}\n`);
  } finally {
    await handle.close();
  }
  return true;
}

function holdUntilRelease(path: string): () => Promise<void> {
  held.add(path);
  const onExit = () => {
    try {
      unlinkSync(path);
    } catch {
      // Already gone; nothing to release.
    }
  };
  process.once('exit', onExit);
  return async () => {
    if (!held.delete(path)) return;
    process.off('exit', onExit);
    await unlink(path).catch(ignoreMissing);
  };
}

/** The pid in the lock file; null when it stays empty or unreadable (garbage, or gone). */
async function ownerOf(path: string): Promise<number | null> {
  for (let look = 0; look < 3; look++) {
    const text = await readFile(path, 'utf8').catch(() => '');
    const pid = Number.parseInt(text.trim(), 10);
    if (Number.isInteger(pid) && pid > 0) return pid;
    // Possibly created an instant ago and not yet written: look again before calling it stale.
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return null;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function ignoreMissing(error: NodeJS.ErrnoException): void {
  if (error.code !== 'ENOENT') throw error;
}
