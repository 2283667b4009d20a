import type { Kysely } from 'kysely';
import type { DialectHelpers } from '../dialect.js';

/**
 * Log indexes that cost less per stored row (issue #9, ingestion; measured in docs/performance.md).
 *
 * - The de-duplication index becomes (host_id, unix_time, dedup). Keyed on (host_id, dedup), every
 *   row landed on a random leaf page of the index (dedup is a hash), so each commit rewrote about
 *   one index page per row stored. The line's own time first keeps a request's rows, and a host's
 *   successive requests, on a few neighbouring pages. Uniqueness is unchanged: dedup already hashes
 *   unix_time, so a resent line (osquery-protocol.md §4.1) still meets its original. PostgreSQL's
 *   partitioned tables needed unix_time in the index anyway (log-partitions.ts).
 * - `(name, unix_time)` goes: it served the results browser's name filter only, and a stored row's
 *   name is a function of its pack and query, so that filter now walks `(pack, query, unix_time)`
 *   (results.service.ts filterOf).
 *
 * DROP/CREATE INDEX on a partitioned PostgreSQL parent applies to every partition.
 */
const DEDUP: ReadonlyArray<'result_logs' | 'status_logs'> = ['result_logs', 'status_logs'];

export async function up(db: Kysely<unknown>, _d: DialectHelpers): Promise<void> {
  await db.schema.dropIndex('result_logs_name_time').ifExists().execute();
  for (const table of DEDUP) {
    await db.schema.dropIndex(`${table}_dedup`).execute();
    await db.schema.createIndex(`${table}_dedup`).unique().on(table).columns(['host_id', 'unix_time', 'dedup']).execute();
  }
}

export async function down(db: Kysely<unknown>, d: DialectHelpers): Promise<void> {
  for (const table of DEDUP) {
    await db.schema.dropIndex(`${table}_dedup`).execute();
    // Partitioned PostgreSQL tables must keep the partition key in a unique index (log-partitions.ts).
    const columns = d.name === 'postgres' ? ['host_id', 'dedup', 'unix_time'] : ['host_id', 'dedup'];
    await db.schema.createIndex(`${table}_dedup`).unique().on(table).columns(columns).execute();
  }
  await db.schema.createIndex('result_logs_name_time').ifNotExists().on('result_logs').columns(['name', 'unix_time']).execute();
}
