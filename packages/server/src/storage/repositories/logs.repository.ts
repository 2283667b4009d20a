import type { Insertable, Kysely } from 'kysely';
import type { DialectHelpers } from '../dialect.js';
import type { Database, ResultLogsTable, StatusLogsTable } from '../schema.js';

export type NewResultLog = Insertable<ResultLogsTable>;
export type NewStatusLog = Insertable<StatusLogsTable>;

/** Rows per INSERT: 12 columns × 400 stays far below SQLite's bound-parameter limit. */
const CHUNK = 400;

export function createLogRepository(db: Kysely<Database>, dialect: DialectHelpers) {
  async function insertDeduped<T extends 'result_logs' | 'status_logs'>(table: T, rows: ReadonlyArray<Insertable<Database[T]>>): Promise<Set<string>> {
    const stored = new Set<string>();
    for (let i = 0; i < rows.length; i += CHUNK) {
      const inserted = await db
        .insertInto(table as 'result_logs')
        .values(rows.slice(i, i + CHUNK) as NewResultLog[])
        // No conflict target: the dedup index is (host_id, dedup) on SQLite and (host_id, dedup,
        // unix_time) on partitioned PostgreSQL tables (log-partitions.ts); ids never collide.
        .onConflict((oc) => oc.doNothing())
        .returning('dedup')
        .execute();
      for (const x of inserted) stored.add(x.dedup);
    }
    return stored;
  }

  return {
    /**
     * Insert result rows; rows already stored (same host + dedup hash) are skipped. Returns the
     * dedup hashes actually inserted (RETURNING reports only inserted rows on both databases).
     */
    insertResults: (rows: readonly NewResultLog[]) => insertDeduped('result_logs', rows),
    insertStatuses: (rows: readonly NewStatusLog[]) => insertDeduped('status_logs', rows),

    listResults(filter: { hostId?: number; name?: string; limit?: number }) {
      let q = db.selectFrom('result_logs').selectAll().orderBy('id', 'desc').limit(filter.limit ?? 100);
      if (filter.hostId !== undefined) q = q.where('host_id', '=', filter.hostId);
      if (filter.name !== undefined) q = q.where('name', '=', filter.name);
      return q.execute();
    },

    listStatuses(filter: { hostId?: number; minSeverity?: number; limit?: number }) {
      let q = db.selectFrom('status_logs').selectAll().orderBy('id', 'desc').limit(filter.limit ?? 100);
      if (filter.hostId !== undefined) q = q.where('host_id', '=', filter.hostId);
      if (filter.minSeverity !== undefined) q = q.where('severity', '>=', filter.minSeverity);
      return q.execute();
    },

    async countResults(): Promise<number> {
      const r = await db.selectFrom('result_logs').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      return r.n;
    },

    async countStatuses(): Promise<number> {
      const r = await db.selectFrom('status_logs').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      return r.n;
    },

    /** PostgreSQL: keep daily log partitions ready ahead of time (a leader job). */
    ensurePartitions: (nowMs: number) => dialect.logPartitions.ensurePartitions(db as unknown as Kysely<unknown>, nowMs),

    /** PostgreSQL: retention's first step, whole days dropped at once; SQLite: nothing. */
    dropPartitionsBefore: (beforeMs: number) => dialect.logPartitions.dropPartitionsBefore(db as unknown as Kysely<unknown>, beforeMs),

    /**
     * Retention: drop up to `batch` rows of each table received before `before` (ms). Callers loop,
     * one short transaction per batch, so a large purge never holds the writer for long.
     */
    async deleteReceivedBefore(before: number, batch = 10_000): Promise<number> {
      const a = await db
        .deleteFrom('result_logs')
        .where('id', 'in', (qb) => qb.selectFrom('result_logs').select('id').where('received_at', '<', before).limit(batch))
        .executeTakeFirst();
      const b = await db
        .deleteFrom('status_logs')
        .where('id', 'in', (qb) => qb.selectFrom('status_logs').select('id').where('received_at', '<', before).limit(batch))
        .executeTakeFirst();
      return Number(a.numDeletedRows) + Number(b.numDeletedRows);
    },
  };
}

export type LogRepository = ReturnType<typeof createLogRepository>;
