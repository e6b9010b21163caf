import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import type { MigrationList } from '@prisma/schema-engine-wasm';
import { noSchemaFilter, withSchemaEngine } from './schema-engine.js';

export const prismaDir = resolve(import.meta.dirname, '../../prisma');
export const migrationsDir = join(prismaDir, 'migrations');
export const schemaPath = join(prismaDir, 'schema.prisma');

/** Reads prisma/migrations the way `prisma migrate deploy` does. */
export async function loadMigrations(dir = migrationsDir): Promise<MigrationList> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const names = entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  const migrationDirectories = await Promise.all(
    names.map(async (name) => ({
      path: name,
      migrationFile: {
        path: 'migration.sql',
        content: { tag: 'ok' as const, value: await readFile(join(dir, name, 'migration.sql'), 'utf8') },
      },
    })),
  );
  const lock = await readFile(join(dir, 'migration_lock.toml'), 'utf8').catch(() => null);
  return {
    baseDir: dir,
    lockfile: { path: 'migration_lock.toml', content: lock },
    shadowDbInitScript: '',
    migrationDirectories,
  };
}

/**
 * Applies pending migrations and records them in `_prisma_migrations`, the table `prisma migrate
 * deploy` uses, so a machine that has Prisma's native engine stays compatible.
 */
export async function applyMigrations(factory: SqlMigrationAwareDriverAdapterFactory): Promise<string[]> {
  const schemaText = await readFile(schemaPath, 'utf8');
  const migrationsList = await loadMigrations();
  const result = await withSchemaEngine(schemaPath, schemaText, factory, (engine) =>
    engine.applyMigrations({ migrationsList, filters: noSchemaFilter }),
  );
  return result.appliedMigrationNames;
}

/** SQL that takes a database at the last migration to the state prisma/schema.prisma describes. */
export async function diffSchemaAgainstMigrations(
  factory: SqlMigrationAwareDriverAdapterFactory,
): Promise<string> {
  const schemaText = await readFile(schemaPath, 'utf8');
  const migrations = await loadMigrations();
  const result = await withSchemaEngine(schemaPath, schemaText, factory, (engine) =>
    engine.diff({
      from: migrations.migrationDirectories.length ? { tag: 'migrations', ...migrations } : { tag: 'empty' },
      to: { tag: 'schemaDatamodel', files: [{ path: schemaPath, content: schemaText }] },
      script: true,
      exitCode: null,
      filters: noSchemaFilter,
    }),
  );
  return result.stdout ?? '';
}
