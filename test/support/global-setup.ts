import pg from 'pg';
import { adminUrl } from './database.js';

/** Fails early and clearly when the test PostgreSQL is not running. */
export default async function setup(): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl() });
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (error) {
    throw new Error(
      `The tests need PostgreSQL at ${adminUrl()} (set TEST_DATABASE_URL to change it): ${(error as Error).message}`,
    );
  } finally {
    await client.end().catch(() => {});
  }
}
