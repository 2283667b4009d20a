import type { Kysely } from 'kysely';
import type { DialectHelpers } from '../dialect.js';

/**
 * Indexed host free-text search (issue #4 "Fast at 100k hosts"): the `q` filter of the host list,
 * count, export and target picker used a six-column LIKE scan (~0.55 s at 100k hosts). Each
 * dialect builds its own index (SQLite FTS5 trigram table kept by triggers, PostgreSQL pg_trgm GIN):
 * see `hostSearch` in dialect.ts.
 */
export async function up(db: Kysely<unknown>, d: DialectHelpers): Promise<void> {
  await d.hostSearch.createHostIndex(db);
}

export async function down(db: Kysely<unknown>, d: DialectHelpers): Promise<void> {
  await d.hostSearch.dropHostIndex(db);
}
