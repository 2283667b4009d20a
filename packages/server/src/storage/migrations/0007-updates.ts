import type { Kysely } from 'kysely';
import type { DialectHelpers } from '../dialect.js';

/**
 * Signed update artifacts (seed 000, issue #5): registered manifests with approval and rollout, an
 * approval history that outlives deleted rows (so deleting never sends a host back), stored
 * binaries, and each host's last update check (a side table, not more columns on `hosts`: Fleet
 * §2.7).
 */
export async function up(db: Kysely<unknown>, d: DialectHelpers): Promise<void> {
  const big = d.bigint;
  await d.addIdColumn(db.schema.createTable('update_artifacts'))
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('version', 'text', (c) => c.notNull())
    .addColumn('os', 'text', (c) => c.notNull())
    .addColumn('arch', 'text', (c) => c.notNull())
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('sha256', 'text', (c) => c.notNull())
    .addColumn('signature', 'text', (c) => c.notNull())
    .addColumn('timestamp', 'text', (c) => c.notNull())
    .addColumn('key_id', 'text', (c) => c.notNull())
    .addColumn('rollout', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('added_at', big, (c) => c.notNull())
    .addColumn('added_by_id', big)
    .addColumn('added_by_email', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('approved_at', big)
    .addColumn('approved_by_id', big)
    .addColumn('approved_by_email', 'text')
    .addColumn('updated_at', big, (c) => c.notNull())
    .addUniqueConstraint('update_artifacts_identity', ['kind', 'os', 'arch', 'version'])
    .execute();
  // What an agent is told: approved rows of one (kind, os, arch), newest approval first.
  await db.schema.createIndex('update_artifacts_serving').on('update_artifacts').columns(['kind', 'os', 'arch', 'approved_at']).execute();

  // No foreign key to update_artifacts: the history must survive a deleted row.
  await d.addIdColumn(db.schema.createTable('update_approvals'))
    .addColumn('artifact_id', big, (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('os', 'text', (c) => c.notNull())
    .addColumn('arch', 'text', (c) => c.notNull())
    .addColumn('version', 'text', (c) => c.notNull())
    .addColumn('approved_at', big, (c) => c.notNull())
    .addColumn('approved_by_id', big)
    .addColumn('approved_by_email', 'text', (c) => c.notNull().defaultTo(''))
    .execute();
  await db.schema.createIndex('update_approvals_version').on('update_approvals').columns(['kind', 'os', 'arch', 'version', 'approved_at']).execute();

  await d.addIdColumn(db.schema.createTable('update_binaries'))
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('os', 'text', (c) => c.notNull())
    .addColumn('arch', 'text', (c) => c.notNull())
    .addColumn('version', 'text', (c) => c.notNull())
    /** Relative to `<dataDir>/binaries`. */
    .addColumn('file', 'text', (c) => c.notNull())
    .addColumn('sha256', 'text', (c) => c.notNull())
    .addColumn('size', big, (c) => c.notNull())
    .addColumn('uploaded_at', big, (c) => c.notNull())
    .addColumn('uploaded_by_id', big)
    .addColumn('uploaded_by_email', 'text', (c) => c.notNull().defaultTo(''))
    .addUniqueConstraint('update_binaries_identity', ['kind', 'os', 'arch', 'version'])
    .execute();

  await db.schema.createTable('host_update_checks')
    .addColumn('host_id', big, (c) => c.primaryKey().references('hosts.id').onDelete('cascade'))
    .addColumn('os', 'text', (c) => c.notNull())
    .addColumn('arch', 'text', (c) => c.notNull())
    .addColumn('osquery_version', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('agent_version', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('auto_update', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('checked_at', big, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('host_update_checks_os').on('host_update_checks').columns(['os', 'arch']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of ['host_update_checks', 'update_binaries', 'update_approvals', 'update_artifacts']) {
    await db.schema.dropTable(t).ifExists().execute();
  }
}
