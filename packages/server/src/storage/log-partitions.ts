/**
 * Result and status logs at scale (issue #10): on PostgreSQL both tables are partitioned by day, so
 * retention drops whole partitions instead of deleting rows one batch at a time (a DELETE of a day
 * of a large fleet's results bloats the table and the indexes; DROP TABLE frees the space at once).
 * SQLite keeps one table each and delete-based retention.
 *
 * The partition key is the log line's own `unix_time` (seconds), not `received_at`: osquery re-sends
 * a batch after a failed flush (osquery-protocol.md §4.1), and the resent copy must meet the
 * original under the de-duplication index, which on a partitioned table has to include the
 * partition key. A line's `unix_time` is part of its content, so a resend lands in the same
 * partition. Lines whose time has no partition (a host clock far off) go to the DEFAULT partition.
 *
 * Retention stays defined by `received_at`: a daily partition is dropped only when its whole day
 * is older than the cutoff and nothing in it was received after the cutoff (a host that was
 * offline for a week delivers old lines late); everything else, including the default partition,
 * is left to the row-by-row delete that follows.
 */
import { sql, type Kysely } from 'kysely';

export const PARTITIONED_LOG_TABLES = ['result_logs', 'status_logs'] as const;
export type LogTable = (typeof PARTITIONED_LOG_TABLES)[number];

const DAY_S = 86_400;
/** Days of partitions kept ready ahead of today (and behind, at creation). */
export const PARTITION_DAYS_AHEAD = 7;

export interface LogPartitionHelpers {
  /** Migration: turn both log tables into partitioned tables, keeping their rows. */
  partitionTables(db: Kysely<unknown>): Promise<void>;
  /** Make sure daily partitions exist from yesterday to `PARTITION_DAYS_AHEAD` days ahead. Returns how many were created. */
  ensurePartitions(db: Kysely<unknown>, nowMs: number): Promise<number>;
  /** Drop partitions wholly older than `beforeMs` (see above). Returns the tables dropped. */
  dropPartitionsBefore(db: Kysely<unknown>, beforeMs: number): Promise<string[]>;
}

export const noLogPartitions: LogPartitionHelpers = {
  partitionTables: () => Promise.resolve(),
  ensurePartitions: () => Promise.resolve(0),
  dropPartitionsBefore: () => Promise.resolve([]),
};

function dayStart(unixSeconds: number): number {
  return Math.floor(unixSeconds / DAY_S) * DAY_S;
}

function partitionName(table: LogTable, dayStartS: number): string {
  const d = new Date(dayStartS * 1000);
  const ymd = `${d.getUTCFullYear()}${String(d.getUTCMonth() + 1).padStart(2, '0')}${String(d.getUTCDate()).padStart(2, '0')}`;
  return `${table}_p${ymd}`;
}

/** `result_logs_p20240101` → its day's start in unix seconds; undefined for other names. */
export function partitionDay(table: LogTable, name: string): number | undefined {
  const m = new RegExp(`^${table}_p(\\d{4})(\\d{2})(\\d{2})$`).exec(name);
  if (m === null) return undefined;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  return Number.isFinite(ms) ? ms / 1000 : undefined;
}

async function createDay(db: Kysely<unknown>, table: LogTable, dayStartS: number): Promise<boolean> {
  const name = partitionName(table, dayStartS);
  const exists = await sql<{ n: number }>`SELECT count(*) AS n FROM pg_class WHERE relname = ${name} AND relkind IN ('r', 'p')`.execute(db);
  if ((exists.rows[0]?.n ?? 0) > 0) return false;
  try {
    await sql.raw(`CREATE TABLE ${name} PARTITION OF ${table} FOR VALUES FROM (${dayStartS}) TO (${dayStartS + DAY_S})`).execute(db);
    return true;
  } catch (err) {
    // Another instance created it meanwhile (42P07), or rows of that day already sit in the default
    // partition (23514): they stay there and the row-by-row retention handles them.
    const code = (err as { code?: unknown }).code;
    if (code === '42P07' || code === '23514') return false;
    throw err;
  }
}

export const postgresLogPartitions: LogPartitionHelpers = {
  async partitionTables(db) {
    const now = Math.floor(Date.now() / 1000);
    for (const table of PARTITIONED_LOG_TABLES) {
      // Same columns and indexes as 0001/0006; the primary key and the dedup index gain the
      // partition key, as PostgreSQL requires of unique indexes on partitioned tables.
      await sql.raw(`ALTER TABLE ${table} RENAME TO ${table}_unpartitioned`).execute(db);
      for (const idx of (await sql<{ indexname: string }>`SELECT indexname FROM pg_indexes WHERE tablename = ${`${table}_unpartitioned`}`.execute(db)).rows) {
        await sql.raw(`ALTER INDEX ${idx.indexname} RENAME TO ${idx.indexname}_old`).execute(db);
      }
      await sql.raw(`CREATE TABLE ${table} (LIKE ${table}_unpartitioned INCLUDING DEFAULTS INCLUDING IDENTITY, PRIMARY KEY (id, unix_time)) PARTITION BY RANGE (unix_time)`).execute(db);
      await sql.raw(`CREATE TABLE ${table}_default PARTITION OF ${table} DEFAULT`).execute(db);
      for (let d = -PARTITION_DAYS_AHEAD; d <= PARTITION_DAYS_AHEAD; d++) await createDay(db, table, dayStart(now) + d * DAY_S);
      await sql.raw(`CREATE UNIQUE INDEX ${table}_dedup ON ${table} (host_id, dedup, unix_time)`).execute(db);
      await sql.raw(`CREATE INDEX ${table}_host_time ON ${table} (host_id, unix_time)`).execute(db);
      await sql.raw(`CREATE INDEX ${table}_received ON ${table} (received_at)`).execute(db);
      if (table === 'result_logs') {
        await sql.raw(`CREATE INDEX result_logs_name_time ON result_logs (name, unix_time)`).execute(db);
        await sql.raw(`CREATE INDEX result_logs_pack_time ON result_logs (pack, query, unix_time)`).execute(db);
        await sql.raw(`CREATE INDEX result_logs_time_id ON result_logs (unix_time, id)`).execute(db);
        await sql.raw(`CREATE INDEX result_logs_pack_time_id ON result_logs (pack, unix_time, id)`).execute(db);
      }
      await sql.raw(`INSERT INTO ${table} SELECT * FROM ${table}_unpartitioned`).execute(db);
      // Identity values continue after the copied rows.
      await sql.raw(`SELECT setval(pg_get_serial_sequence('${table}', 'id'), coalesce((SELECT max(id) FROM ${table}), 0) + 1, false)`).execute(db);
      await sql.raw(`DROP TABLE ${table}_unpartitioned`).execute(db);
    }
  },

  async ensurePartitions(db, nowMs) {
    const today = dayStart(Math.floor(nowMs / 1000));
    let created = 0;
    for (const table of PARTITIONED_LOG_TABLES) {
      for (let d = -1; d <= PARTITION_DAYS_AHEAD; d++) if (await createDay(db, table, today + d * DAY_S)) created++;
    }
    return created;
  },

  async dropPartitionsBefore(db, beforeMs) {
    const dropped: string[] = [];
    for (const table of PARTITIONED_LOG_TABLES) {
      const parts = await sql<{ name: string }>`
        SELECT c.relname AS name FROM pg_inherits i
        JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
        WHERE p.relname = ${table}`.execute(db);
      for (const { name } of parts.rows) {
        const day = partitionDay(table, name);
        if (day === undefined || (day + DAY_S) * 1000 > beforeMs) continue;
        // Lines delivered late (an offline host) keep their partition until they age out too.
        const late = await sql<{ n: number }>`SELECT count(*) AS n FROM ${sql.table(name)} WHERE received_at >= ${beforeMs}`.execute(db);
        if ((late.rows[0]?.n ?? 0) > 0) continue;
        await sql.raw(`DROP TABLE ${name}`).execute(db);
        dropped.push(name);
      }
    }
    return dropped;
  },
};
