/**
 * Accepts the URL forms operators already have: `postgresql://`, `postgres://`, and the SQLAlchemy
 * `postgresql+psycopg2://` (or `+psycopg`, `+asyncpg`) form the old Python service used.
 */
export function normaliseDatabaseUrl(raw: string): string {
  const match = /^(postgres(?:ql)?)(\+[a-z0-9_]+)?:\/\//i.exec(raw);
  if (!match) throw new Error('expected a postgresql:// URL');
  const normalised = `postgresql://${raw.slice(match[0].length)}`;
  try {
    new URL(normalised);
  } catch {
    throw new Error('not a valid URL');
  }
  return normalised;
}

/** The URL with its password replaced, for logs and errors. */
export function redactDatabaseUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '<invalid url>';
  }
}
