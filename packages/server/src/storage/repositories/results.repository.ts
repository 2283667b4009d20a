/**
 * Operator-side reads of what osquery sent: scheduled results (browse/export), the figures behind
 * pack status (result counts, osquery_schedule stats, status-log lines naming a query) and the carve
 * list. Writes stay with logs/schedule-stats/carves repositories; these are keyset-paginated reads
 * served by the indexes of migrations 0001 and 0006.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../schema.js';
import { likeContains } from '../sql-helpers.js';

/** Aggregates: numbers on SQLite; PostgreSQL returns bigint counts and sums as strings. Read with Number(). */
export type DbNumber = number | string | bigint;

export interface ResultFilter {
  pack?: string | undefined;
  query?: string | undefined;
  name?: string | undefined;
  /** The pack and query a `name` filter splits into: the index that serves a name filter. */
  packOfName?: string | undefined;
  queryOfName?: string | undefined;
  hostId?: number | undefined;
  action?: string | undefined;
  /** unix_time (seconds) bounds: since inclusive, until exclusive. */
  since?: number | undefined;
  until?: number | undefined;
  /** Free text over the row's columns (JSON text). */
  q?: string | undefined;
}

/** Position of the last row of a page: rows are ordered by (unix_time, id) descending. */
export interface ResultPosition { unixTime: number; id: number }

export interface CarveFilter {
  hostId?: number | undefined;
  status?: string | undefined;
  beforeId?: number | undefined;
  limit: number;
}

export function createResultsRepository(db: Kysely<Database>) {
  return {
    /** Newest first by (unix_time, id), strictly after `before` in that order. */
    search(f: ResultFilter, before: ResultPosition | undefined, limit: number) {
      let q = db
        .selectFrom('result_logs as r')
        .leftJoin('hosts as h', 'h.id', 'r.host_id')
        .select([
          'r.id', 'r.host_id', 'r.name', 'r.pack', 'r.query', 'r.action', 'r.columns', 'r.decorations', 'r.unix_time',
          'r.received_at', 'h.hostname',
        ])
        .orderBy('r.unix_time', 'desc')
        .orderBy('r.id', 'desc')
        .limit(limit);
      if (f.pack !== undefined) q = q.where('r.pack', '=', f.pack);
      if (f.query !== undefined) q = q.where('r.query', '=', f.query);
      if (f.name !== undefined) q = q.where('r.name', '=', f.name);
      if (f.packOfName !== undefined) q = q.where('r.pack', '=', f.packOfName);
      if (f.queryOfName !== undefined) q = q.where('r.query', '=', f.queryOfName);
      if (f.hostId !== undefined) q = q.where('r.host_id', '=', f.hostId);
      if (f.action !== undefined) q = q.where('r.action', '=', f.action);
      if (f.since !== undefined) q = q.where('r.unix_time', '>=', f.since);
      if (f.until !== undefined) q = q.where('r.unix_time', '<', f.until);
      if (f.q !== undefined && f.q !== '') {
        const text = f.q;
        q = q.where(() => likeContains('r.columns', text));
      }
      if (before !== undefined) {
        const { unixTime, id } = before;
        q = q.where((eb) => eb.or([eb('r.unix_time', '<', unixTime), eb.and([eb('r.unix_time', '=', unixTime), eb('r.id', '<', id)])]));
      }
      return q.execute();
    },

    /** Stored result rows and the newest unix_time, per query of a pack. */
    resultCounts(pack: string) {
      return db
        .selectFrom('result_logs')
        .select((eb) => ['query', eb.fn.countAll<DbNumber>().as('rows'), eb.fn.max<DbNumber | null>('unix_time').as('last_unix_time')])
        .where('pack', '=', pack)
        .groupBy('query')
        .execute();
    },

    /** osquery_schedule figures per query of a pack, over every host that reported them. */
    scheduleTotals(pack: string) {
      return db
        .selectFrom('host_schedule_stats')
        .select((eb) => [
          'query',
          eb.fn.countAll<DbNumber>().as('hosts'),
          eb.fn.sum<DbNumber | null>(eb.case().when('executions', '>', 0).then(1).else(0).end()).as('ran'),
          eb.fn.sum<DbNumber | null>('executions').as('executions'),
          eb.fn.max<DbNumber | null>('last_executed').as('last_executed'),
          eb.fn.sum<DbNumber | null>('denylisted').as('denylisted'),
          eb.fn.sum<DbNumber | null>('wall_time_ms').as('wall_time_ms'),
        ])
        .where('pack', '=', pack)
        .groupBy('query')
        .execute();
    },

    /** Hosts on which the osquery watchdog denylisted a query of this pack. */
    denylistedHosts(pack: string, limit: number) {
      return db
        .selectFrom('host_schedule_stats as s')
        .leftJoin('hosts as h', 'h.id', 's.host_id')
        .select(['s.query', 's.host_id', 'h.hostname'])
        .where('s.pack', '=', pack)
        .where('s.denylisted', '=', 1)
        .orderBy('s.host_id')
        .limit(limit)
        .execute();
    },

    /** Status-log lines received since `since` (ms) whose message contains `text`, newest first. */
    statusMentions(text: string, since: number, limit: number) {
      return db
        .selectFrom('status_logs as s')
        .leftJoin('hosts as h', 'h.id', 's.host_id')
        .select(['s.id', 's.host_id', 's.unix_time', 's.severity', 's.message', 'h.hostname'])
        .where('s.received_at', '>=', since)
        .where(() => likeContains('s.message', text))
        // By reception time, so the status_logs_received index bounds the scan to the window.
        .orderBy('s.received_at', 'desc')
        .limit(limit)
        .execute();
    },

    /** Carves newest first (keyset by id), with the host's name. */
    carves(f: CarveFilter) {
      let q = db
        .selectFrom('carves as c')
        .leftJoin('hosts as h', 'h.id', 'c.host_id')
        .selectAll('c')
        .select('h.hostname')
        .orderBy('c.id', 'desc')
        .limit(f.limit);
      if (f.hostId !== undefined) q = q.where('c.host_id', '=', f.hostId);
      if (f.status !== undefined) q = q.where('c.status', '=', f.status);
      if (f.beforeId !== undefined) q = q.where('c.id', '<', f.beforeId);
      return q.execute();
    },

    async hostnames(ids: readonly number[]): Promise<Map<number, string>> {
      const out = new Map<number, string>();
      if (ids.length === 0) return out;
      const rows = await db.selectFrom('hosts').select(['id', 'hostname']).where('id', 'in', [...new Set(ids)]).execute();
      for (const r of rows) out.set(r.id, r.hostname);
      return out;
    },
  };
}

export type ResultsRepository = ReturnType<typeof createResultsRepository>;
