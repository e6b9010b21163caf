/** A unique index refused the write, through the query builder (P2002) or raw SQL (23505). */
export function isUniqueViolation(error: unknown): boolean {
  const e = error as { code?: string; meta?: { driverAdapterError?: { cause?: { originalCode?: string } } } };
  return e?.code === 'P2002' || e?.meta?.driverAdapterError?.cause?.originalCode === '23505';
}
