import type { Kysely } from 'kysely';
import type { DialectHelpers } from '../dialect.js';

/**
 * Pack additions, prebuilt packs and result browsing indexes.
 *
 * - `packs.prebuilt_id`: the asset a prebuilt pack was loaded from, so loading again updates it in
 *   place (seed 004 "Load and activate prebuilt Elastic packs") and never touches operator packs.
 * - Result browsing is newest first by (unix_time, id) with keyset cursors. 0001 has indexes for
 *   host + time and pack + query + time; these add the unfiltered order and the pack-only filter,
 *   each ending in `id` so PostgreSQL can walk them without a sort (SQLite appends the rowid anyway).
 */
export async function up(db: Kysely<unknown>, _d: DialectHelpers): Promise<void> {
  await db.schema.alterTable('packs').addColumn('prebuilt_id', 'text', (c) => c.notNull().defaultTo('')).execute();
  await db.schema.createIndex('packs_prebuilt').on('packs').column('prebuilt_id').execute();
  await db.schema.createIndex('result_logs_time_id').on('result_logs').columns(['unix_time', 'id']).execute();
  await db.schema.createIndex('result_logs_pack_time_id').on('result_logs').columns(['pack', 'unix_time', 'id']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('result_logs_pack_time_id').ifExists().execute();
  await db.schema.dropIndex('result_logs_time_id').ifExists().execute();
  await db.schema.dropIndex('packs_prebuilt').ifExists().execute();
  await db.schema.alterTable('packs').dropColumn('prebuilt_id').execute();
}
