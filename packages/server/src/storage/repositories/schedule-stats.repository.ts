/** host_schedule_stats: per-host osquery_schedule stats (pack status, denylisted queries). */
import type { Insertable, Kysely } from 'kysely';
import type { Database, HostScheduleStatsTable } from '../schema.js';

/** One osquery_schedule row as stored (host_id added by `replace`). */
export type NewScheduleStat = Omit<Insertable<HostScheduleStatsTable>, 'host_id'>;

/** 12 bound values a row: 200 rows stay far below SQLite's 32766 and PostgreSQL's 65535 parameters. */
const CHUNK = 200;

export function createScheduleStatsRepository(db: Kysely<Database>) {
  return {
    /** The host's rows become exactly `rows` (names must be unique: the key is host_id + name). */
    async replace(hostId: number, rows: readonly NewScheduleStat[]): Promise<void> {
      await db.deleteFrom('host_schedule_stats').where('host_id', '=', hostId).execute();
      for (let i = 0; i < rows.length; i += CHUNK) {
        await db.insertInto('host_schedule_stats').values(rows.slice(i, i + CHUNK).map((r) => ({ host_id: hostId, ...r }))).execute();
      }
    },

    list(hostId: number) {
      return db.selectFrom('host_schedule_stats').selectAll().where('host_id', '=', hostId).orderBy('name').execute();
    },
  };
}

export type ScheduleStatsRepository = ReturnType<typeof createScheduleStatsRepository>;
