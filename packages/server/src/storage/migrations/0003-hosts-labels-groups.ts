import type { Kysely } from 'kysely';
import type { DialectHelpers } from '../dialect.js';

/**
 * Built-in platform labels (Fleet §1.6 "All Hosts" and platform labels): membership is computed
 * from hosts.platform, never stored. `platforms` empty = every host.
 */
export const BUILTIN_LABELS: ReadonlyArray<{ name: string; description: string; platforms: string }> = [
  { name: 'All hosts', description: 'Every enrolled host', platforms: '' },
  { name: 'Linux', description: 'Hosts running Linux', platforms: 'linux' },
  { name: 'macOS', description: 'Hosts running macOS', platforms: 'darwin' },
  { name: 'Windows', description: 'Hosts running Windows', platforms: 'windows' },
  { name: 'FreeBSD', description: 'Hosts running FreeBSD', platforms: 'freebsd' },
];

/** Labels, label membership, the label re-run schedule, and indexes for every host filter and sort. */
export async function up(db: Kysely<unknown>, d: DialectHelpers): Promise<void> {
  const big = d.bigint;

  await d.addIdColumn(db.schema.createTable('labels'))
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('label_type', 'text', (c) => c.notNull())
    .addColumn('query', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('platforms', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('created_at', big, (c) => c.notNull())
    .addColumn('updated_at', big, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('labels_type').on('labels').columns(['label_type', 'id']).execute();

  // Only members are stored (Fleet label_membership): a dynamic query with rows adds the row, an
  // empty answer deletes it. Cascades keep it clean when a host or label is deleted.
  await db.schema.createTable('label_membership')
    .addColumn('label_id', big, (c) => c.notNull().references('labels.id').onDelete('cascade'))
    .addColumn('host_id', big, (c) => c.notNull().references('hosts.id').onDelete('cascade'))
    .addColumn('created_at', big, (c) => c.notNull())
    .addPrimaryKeyConstraint('label_membership_pk', ['label_id', 'host_id'])
    .execute();
  await db.schema.createIndex('label_membership_host').on('label_membership').columns(['host_id', 'label_id']).execute();

  // When each host's dynamic labels are next due (label interval + per-host jitter, Fleet §2.3).
  // A side table, not a hosts column: the timer's writes never touch the wide hosts row (Fleet §2.7).
  await db.schema.createTable('host_label_schedule')
    .addColumn('host_id', big, (c) => c.primaryKey().references('hosts.id').onDelete('cascade'))
    .addColumn('due_at', big, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('host_label_schedule_due').on('host_label_schedule').columns(['due_at', 'host_id']).execute();

  // Keyset sorts: (sort column, id) so "ORDER BY x, id" and "(x, id) > (?, ?)" walk one index on
  // PostgreSQL as well (SQLite indexes carry the rowid already).
  for (const col of ['hostname', 'enrolled_at', 'osquery_version', 'platform']) {
    await db.schema.createIndex(`hosts_sort_${col}`).on('hosts').columns([col, 'id']).execute();
  }
  // Filters not covered by 0001's single-column indexes.
  await db.schema.createIndex('hosts_enrolled_at').on('hosts').column('enrolled_at').execute();
  await db.schema.createIndex('hosts_duplicate_identifier').on('hosts').columns(['duplicate_identifier', 'id']).execute();
  await db.schema.createIndex('hosts_os_name_version').on('hosts').columns(['os_name', 'os_version']).execute();
  await db.schema.createIndex('host_seen_seen_host').on('host_seen').columns(['seen_at', 'host_id']).execute();
  // Host software pages (GET /hosts/:id/software) in name order.
  await db.schema.createIndex('host_software_host_name').on('host_software').columns(['host_id', 'name', 'version']).execute();

  const now = Date.now();
  await (db as Kysely<{ labels: { name: string; description: string; label_type: string; query: string; platforms: string; created_at: number; updated_at: number } }>)
    .insertInto('labels')
    .values(BUILTIN_LABELS.map((l) => ({ ...l, label_type: 'builtin', query: '', created_at: now, updated_at: now })))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const i of [
    'host_software_host_name', 'host_seen_seen_host', 'hosts_os_name_version', 'hosts_duplicate_identifier', 'hosts_enrolled_at',
    'hosts_sort_platform', 'hosts_sort_osquery_version', 'hosts_sort_enrolled_at', 'hosts_sort_hostname',
  ]) {
    await db.schema.dropIndex(i).ifExists().execute();
  }
  for (const t of ['host_label_schedule', 'label_membership', 'labels']) await db.schema.dropTable(t).ifExists().execute();
}
