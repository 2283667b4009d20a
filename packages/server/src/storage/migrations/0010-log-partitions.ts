import type { Kysely } from 'kysely';
import type { DialectHelpers } from '../dialect.js';

/**
 * Result and status logs partitioned by day on PostgreSQL, so retention drops whole days (issue
 * #10; see log-partitions.ts for the partition key and the rules). Nothing changes on SQLite.
 */
export async function up(db: Kysely<unknown>, d: DialectHelpers): Promise<void> {
  await d.logPartitions.partitionTables(db);
}

export async function down(): Promise<void> {
  // One way: the partitioned tables answer every query the plain ones did.
  await Promise.resolve();
}
