// Applies pending migrations to DATABASE_URL (or the embedded database in DATA_DIR) and exits.
// The service does this itself at start-up; this is for release pipelines that migrate first.
import { loadConfig } from '../src/config/service.js';
import { openDatabase } from '../src/storage/database.js';

const config = loadConfig();
const db = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir });
console.log(
  db.appliedMigrations.length ? `applied: ${db.appliedMigrations.join(', ')}` : 'database is up to date',
);
await db.close();
// The schema engine leaves a lock-timeout timer behind; do not wait for it.
process.exit(0);
