// Creates prisma/migrations/<timestamp>_<name>/migration.sql from the change between the existing
// migrations and prisma/schema.prisma. Runs against an in-memory embedded database (the shadow
// database replays the migrations there), so no PostgreSQL server is needed.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { diffSchemaAgainstMigrations, migrationsDir } from '../src/storage/migrations.js';

const name = (process.argv[2] ?? '').trim();
if (!/^[a-z0-9_]+$/.test(name)) {
  console.error('usage: npm run migrate:create -- <name>   (lowercase letters, digits, underscores)');
  process.exit(2);
}
const db = new PGlite();
const sql = await diffSchemaAgainstMigrations(new PrismaPGlite(db));
await db.close();
if (!sql.trim() || /^-- This is an empty migration\.?\s*$/.test(sql.trim())) {
  console.log('prisma/schema.prisma matches the migrations: nothing to create.');
  process.exit(0);
}
const stamp = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
const dir = join(migrationsDir, `${stamp}_${name}`);
await mkdir(dir, { recursive: true });
await writeFile(join(migrationsDir, 'migration_lock.toml'), 'provider = "postgresql"\n');
await writeFile(join(dir, 'migration.sql'), sql);
console.log(`created ${dir}/migration.sql`);
