/**
 * Driver errors translated once per backend (Directus database/errors/dialects), so services see
 * the same error on SQLite and PostgreSQL.
 */
export class UniqueViolationError extends Error {
  override readonly name = 'UniqueViolationError';
}

export function isUniqueViolation(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as Error & { code?: unknown }).code;
  // better-sqlite3: SQLITE_CONSTRAINT_UNIQUE / SQLITE_CONSTRAINT_PRIMARYKEY; pg: 23505.
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === '23505';
}
