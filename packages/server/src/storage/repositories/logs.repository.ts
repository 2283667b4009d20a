import type { Insertable, Kysely } from 'kysely';
import type { Database, ResultLogsTable, StatusLogsTable } from '../schema.js';

export type NewResultLog = Insertable<ResultLogsTable>;
export type NewStatusLog = Insertable<StatusLogsTable>;

/** Rows per INSERT: 12 columns × 400 stays far below SQLite's bound-parameter limit. */
const CHUNK = 400;

export function createLogRepository(db: Kysely<Database>) {
  return {
    /** Insert result rows; rows already stored (same host + dedup hash) are skipped. Returns rows stored. */
    async insertResults(rows: readonly NewResultLog[]): Promise<number> {
      let stored = 0;
      for (let i = 0; i < rows.length; i += CHUNK) {
        const r = await db
          .insertInto('result_logs')
          .values(rows.slice(i, i + CHUNK))
          .onConflict((oc) => oc.columns(['host_id', 'dedup']).doNothing())
          .executeTakeFirst();
        stored += Number(r.numInsertedOrUpdatedRows ?? 0n);
      }
      return stored;
    },

    async insertStatuses(rows: readonly NewStatusLog[]): Promise<number> {
      let stored = 0;
      for (let i = 0; i < rows.length; i += CHUNK) {
        const r = await db
          .insertInto('status_logs')
          .values(rows.slice(i, i + CHUNK))
          .onConflict((oc) => oc.columns(['host_id', 'dedup']).doNothing())
          .executeTakeFirst();
        stored += Number(r.numInsertedOrUpdatedRows ?? 0n);
      }
      return stored;
    },

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

    /** Retention: drop rows received before `before` (ms). Returns rows removed. */
    async deleteReceivedBefore(before: number): Promise<number> {
      const a = await db.deleteFrom('result_logs').where('received_at', '<', before).executeTakeFirst();
      const b = await db.deleteFrom('status_logs').where('received_at', '<', before).executeTakeFirst();
      return Number(a.numDeletedRows) + Number(b.numDeletedRows);
    },
  };
}

export type LogRepository = ReturnType<typeof createLogRepository>;
