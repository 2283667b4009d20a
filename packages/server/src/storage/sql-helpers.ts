/**
 * Portable SQL fragments used by several repositories. Both SQLite and PostgreSQL accept
 * `LIKE … ESCAPE '\'`; without ESCAPE, SQLite has no escape character at all.
 */
import { sql, type RawBuilder } from 'kysely';

/** `column LIKE '%text%'` with the user's % and _ taken literally. Case-insensitive for ASCII on SQLite; use on lower-cased columns for PostgreSQL parity. */
export function likeContains(column: string, text: string): RawBuilder<boolean> {
  const pattern = `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  return sql<boolean>`${sql.ref(column)} like ${pattern} escape '\\'`;
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
