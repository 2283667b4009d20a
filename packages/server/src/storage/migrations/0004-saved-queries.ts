import type { Kysely } from 'kysely';
import type { DialectHelpers } from '../dialect.js';

/**
 * Saved queries (seed 004 "Save queries"): a unique name (Elastic's "ID"), description, SQL,
 * timeout, ECS mapping (JSON text), the defaults used when the query is added to a pack, and
 * whether it ships with Mimir (prebuilt queries are read-only).
 */
export async function up(db: Kysely<unknown>, d: DialectHelpers): Promise<void> {
  const big = d.bigint;
  await d.addIdColumn(db.schema.createTable('saved_queries'))
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('sql', 'text', (c) => c.notNull())
    .addColumn('timeout', 'integer', (c) => c.notNull().defaultTo(60))
    .addColumn('ecs_mapping', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('interval', 'integer', (c) => c.notNull().defaultTo(3600))
    .addColumn('min_osquery_version', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('platform', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('prebuilt', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', big, (c) => c.notNull())
    .addColumn('updated_at', big, (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('updated_by', 'text', (c) => c.notNull().defaultTo(''))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('saved_queries').ifExists().execute();
}
