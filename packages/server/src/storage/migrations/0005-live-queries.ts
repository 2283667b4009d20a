import type { Kysely } from 'kysely';
import type { DialectHelpers } from '../dialect.js';

/**
 * Live queries, their queries (one, or several for a pack run), per-host status and results.
 * Counters live on the parent rows so status and history never count 100k host rows (Fleet
 * scaling-fleet.md: "precompute counts"); host ids carry no foreign key (Fleet §2.7: side tables
 * without FKs; history keeps the id of a deleted host).
 */
export async function up(db: Kysely<unknown>, d: DialectHelpers): Promise<void> {
  const big = d.bigint;

  let lq = d.addIdColumn(db.schema.createTable('live_queries'))
    .addColumn('created_at', big, (c) => c.notNull())
    .addColumn('created_by', big)
    .addColumn('created_by_email', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('pack_id', big)
    .addColumn('pack_name', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('saved_query_id', big)
    .addColumn('rerun_of', big)
    .addColumn('targets', 'text', (c) => c.notNull())
    .addColumn('timeout_seconds', 'integer', (c) => c.notNull())
    .addColumn('expires_at', big, (c) => c.notNull())
    .addColumn('target_count', big, (c) => c.notNull())
    .addColumn('expected', big, (c) => c.notNull());
  for (const col of ['resolved', 'answer_seq', 'row_count', 'stored_rows']) lq = lq.addColumn(col, big, (c) => c.notNull().defaultTo(0));
  await lq
    .addColumn('truncated', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('warnings', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('cancelled_at', big)
    .addColumn('finished_at', big)
    .execute();
  await db.schema.createIndex('live_queries_created').on('live_queries').column('created_at').execute();
  await db.schema.createIndex('live_queries_open').on('live_queries').columns(['finished_at', 'expires_at']).execute();

  let qq = db.schema.createTable('live_query_queries')
    .addColumn('live_query_id', big, (c) => c.notNull().references('live_queries.id').onDelete('cascade'))
    .addColumn('idx', 'integer', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('dist_name', 'text', (c) => c.notNull())
    .addColumn('sql', 'text', (c) => c.notNull())
    .addColumn('ecs_mapping', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('columns', 'text', (c) => c.notNull().defaultTo('[]'));
  for (const col of ['successful', 'failed', 'expired', 'cancelled']) qq = qq.addColumn(col, big, (c) => c.notNull().defaultTo(0));
  await qq.addPrimaryKeyConstraint('live_query_queries_pk', ['live_query_id', 'idx']).execute();

  await db.schema.createTable('live_query_hosts')
    .addColumn('live_query_id', big, (c) => c.notNull().references('live_queries.id').onDelete('cascade'))
    .addColumn('query_idx', 'integer', (c) => c.notNull())
    .addColumn('host_id', big, (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('pending'))
    .addColumn('message', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('row_count', big, (c) => c.notNull().defaultTo(0))
    .addColumn('answered_at', big)
    .addColumn('seq', big)
    .addPrimaryKeyConstraint('live_query_hosts_pk', ['live_query_id', 'query_idx', 'host_id'])
    .execute();
  await db.schema.createIndex('live_query_hosts_status').on('live_query_hosts').columns(['live_query_id', 'status', 'query_idx', 'host_id']).execute();
  await db.schema.createIndex('live_query_hosts_seq').on('live_query_hosts').columns(['live_query_id', 'seq']).execute();

  await d.addIdColumn(db.schema.createTable('live_query_results'))
    .addColumn('live_query_id', big, (c) => c.notNull().references('live_queries.id').onDelete('cascade'))
    .addColumn('query_idx', 'integer', (c) => c.notNull())
    .addColumn('host_id', big, (c) => c.notNull())
    .addColumn('row_idx', 'integer', (c) => c.notNull())
    .addColumn('data', 'text', (c) => c.notNull())
    .execute();
  // Unique: a re-sent distributed write can never store a host's rows twice.
  await db.schema.createIndex('live_query_results_answer').unique().on('live_query_results').columns(['live_query_id', 'query_idx', 'host_id', 'row_idx']).execute();
  await db.schema.createIndex('live_query_results_page').on('live_query_results').columns(['live_query_id', 'id']).execute();
  await db.schema.createIndex('live_query_results_host').on('live_query_results').columns(['live_query_id', 'host_id', 'id']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of ['live_query_results', 'live_query_hosts', 'live_query_queries', 'live_queries']) await db.schema.dropTable(t).ifExists().execute();
}
