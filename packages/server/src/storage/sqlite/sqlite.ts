/**
 * The embedded default backend: one SQLite file in WAL mode, opened through better-sqlite3.
 */
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect, type SqliteDatabase, type SqliteStatement } from 'kysely';
import type { Database } from '../schema.js';

export interface SqliteHandle {
  db: Kysely<Database>;
  raw: BetterSqlite3.Database;
}

/**
 * Kysely prepares every query it runs; better-sqlite3 statements are reusable, so keep the last
 * few hundred by SQL text. Check-ins repeat the same handful of statements, so this removes the
 * prepare cost from the hot path.
 */
function withStatementCache(raw: BetterSqlite3.Database, max = 512): SqliteDatabase {
  const cache = new Map<string, BetterSqlite3.Statement>();
  return {
    close: () => raw.close(),
    prepare(sql: string): SqliteStatement {
      let stmt = cache.get(sql);
      if (stmt === undefined) {
        stmt = raw.prepare(sql);
        if (cache.size >= max) {
          const oldest = cache.keys().next();
          if (oldest.done !== true) cache.delete(oldest.value);
        }
        cache.set(sql, stmt);
      }
      return stmt;
    },
  };
}

export function openSqlite(file: string): SqliteHandle {
  const raw = new BetterSqlite3(file);
  // WAL lets readers run while the single writer commits. synchronous=NORMAL is durable against
  // process crashes (what acknowledged osquery data must survive); only an OS crash/power loss can
  // roll back the last commits, which FULL would prevent at one fsync per request.
  raw.pragma('journal_mode = WAL');
  raw.pragma('synchronous = NORMAL');
  raw.pragma('foreign_keys = ON');
  raw.pragma('busy_timeout = 5000');
  raw.pragma('cache_size = -65536');
  raw.pragma('temp_store = MEMORY');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(raw) }) });
  return { db, raw };
}
