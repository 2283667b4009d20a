/**
 * The embedded default backend: one SQLite file in WAL mode, opened through better-sqlite3.
 */
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect, type SqliteDatabase, type SqliteStatement } from 'kysely';
import type { Database } from '../schema.js';
import { WalCheckpointer } from './checkpointer.js';

export interface SqliteHandle {
  db: Kysely<Database>;
  raw: BetterSqlite3.Database;
  /** Stop the checkpoint worker, then close the connection (prefer this to `db.destroy()`). */
  close: () => Promise<void>;
}

/**
 * Kysely prepares every query it runs; better-sqlite3 statements are reusable, so keep the last
 * few hundred by SQL text. Check-ins repeat the same handful of statements, so this removes the
 * prepare cost from the hot path.
 */
function withStatementCache(raw: BetterSqlite3.Database, onClose: () => void, max = 512): SqliteDatabase {
  const cache = new Map<string, BetterSqlite3.Statement>();
  return {
    close: () => {
      onClose();
      raw.close();
    },
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

export function openSqlite(file: string, onCheckpointError: (message: string) => void = (m) => process.emitWarning(m)): SqliteHandle {
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
  // A WAL file that grew under a burst is cut back once checkpointed.
  raw.pragma('journal_size_limit = 67108864');
  const checkpointer = file === '' || file === ':memory:' ? undefined : new WalCheckpointer(raw, file, 1000, onCheckpointError);
  // db.destroy() alone still stops the worker, without waiting for it.
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(raw, () => void checkpointer?.stop()) }) });
  return {
    db,
    raw,
    close: async () => {
      await checkpointer?.stop();
      await db.destroy();
    },
  };
}
