import { mkdir } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import { PrismaPg } from '@prisma/adapter-pg';
import type { SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { PrismaClient } from '../generated/prisma/client.js';
import { lockDataDir } from './data-dir-lock.js';
import { applyMigrations } from './migrations.js';

export { DataDirInUseError } from './data-dir-lock.js';

export type Db = PrismaClient;

export interface Database {
  prisma: PrismaClient;
  kind: 'postgres' | 'embedded';
  /** Migrations applied by this start-up (empty when the database was current). */
  appliedMigrations: string[];
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** PostgreSQL URL; when absent an embedded PGlite database is kept in dataDir. */
  url?: string;
  dataDir: string;
  poolSize?: number;
}

/** Opens the database, applies pending migrations, and returns a ready Prisma client. */
export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  if (options.url) {
    const factory = new PrismaPg({
      connectionString: options.url,
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: 10_000,
    });
    return open('postgres', factory, async () => {});
  }
  await mkdir(options.dataDir, { recursive: true });
  // One process at a time: throws DataDirInUseError naming the process that has it.
  const unlock = await lockDataDir(options.dataDir);
  let pglite: PGlite | undefined;
  try {
    pglite = new PGlite(options.dataDir);
    const opened = pglite;
    return await open('embedded', new PrismaPGlite(opened), async () => {
      await opened.close();
      await unlock();
    });
  } catch (error) {
    await pglite?.close().catch(() => {});
    await unlock();
    throw error;
  }
}

async function open(
  kind: Database['kind'],
  factory: SqlMigrationAwareDriverAdapterFactory,
  closeDriver: () => Promise<void>,
): Promise<Database> {
  const appliedMigrations = await applyMigrations(factory);
  const prisma = new PrismaClient({ adapter: factory });
  await prisma.$connect();
  return {
    prisma,
    kind,
    appliedMigrations,
    async close() {
      await prisma.$disconnect();
      await closeDriver();
    },
  };
}
