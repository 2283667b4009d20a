/**
 * Portable SQL fragments used by several repositories. Both SQLite and PostgreSQL accept
 * `LIKE … ESCAPE '\'`; without ESCAPE, SQLite has no escape character at all.
 */
import { sql, type RawBuilder, type SqlBool } from 'kysely';

/**
 * Case-insensitive substring match: `lower(column) LIKE '%text%' ESCAPE '\'`, with the user's % and
 * _ taken literally. SQLite's LIKE ignores ASCII case and PostgreSQL's does not; lowering both
 * sides gives the same answer on both (storage contract test).
 */
export function likeContains(column: string, text: string): RawBuilder<SqlBool> {
  const pattern = `%${text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  return sql<SqlBool>`lower(${sql.ref(column)}) like ${pattern} escape '\\'`;
}

/** Opaque keyset cursors: base64url JSON. */
export function encodeCursor(v: unknown): string {
  return Buffer.from(JSON.stringify(v)).toString('base64url');
}

export function decodeCursor(cursor: string | undefined): unknown {
  if (cursor === undefined || cursor === '') return undefined;
  try {
    return JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
  } catch {
    return null;
  }
}
