import type { Kysely } from 'kysely';
import type { DialectHelpers } from '../dialect.js';

/**
 * Mimir agent identities (issue #6): the agent that wraps osqueryd enrolls on its own, with its own
 * key, and is tied to the osquery host of the same machine by hardware UUID (osqueryd runs with
 * `--host_identifier=uuid`). A side table rather than more columns on `hosts`: an agent may enroll
 * before its osqueryd does, and plain osquery hosts have no agent (Fleet §2.7 keeps such data apart
 * too). `agent_update_reports` keeps what agents said about each install attempt, so a rolled-back
 * build is visible on the server.
 */
export async function up(db: Kysely<unknown>, d: DialectHelpers): Promise<void> {
  const big = d.bigint;
  await d.addIdColumn(db.schema.createTable('agents'))
    /** SHA-256 of the agent key (the key itself is only ever on the host). */
    .addColumn('key_hash', 'text', (c) => c.notNull().unique())
    .addColumn('group_id', big, (c) => c.notNull())
    /** Upper case, as osquery reports `system_info.uuid`. */
    .addColumn('hardware_uuid', 'text', (c) => c.notNull())
    .addColumn('hostname', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('os', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('arch', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('agent_version', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('osquery_version', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('auto_update', 'integer', (c) => c.notNull().defaultTo(1))
    /** The osquery host of the same machine, once osqueryd has enrolled. */
    .addColumn('host_id', big, (c) => c.references('hosts.id').onDelete('set null'))
    .addColumn('enrolled_at', big, (c) => c.notNull())
    .addColumn('checked_in_at', big, (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema.createIndex('agents_hardware_uuid').on('agents').column('hardware_uuid').execute();
  await db.schema.createIndex('agents_host').on('agents').column('host_id').execute();

  await d.addIdColumn(db.schema.createTable('agent_update_reports'))
    .addColumn('agent_id', big, (c) => c.notNull().references('agents.id').onDelete('cascade'))
    .addColumn('host_id', big)
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('from_version', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('to_version', 'text', (c) => c.notNull())
    /** installed | rolled_back | refused */
    .addColumn('outcome', 'text', (c) => c.notNull())
    .addColumn('message', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('reported_at', big, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('agent_update_reports_agent').on('agent_update_reports').columns(['agent_id', 'reported_at']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of ['agent_update_reports', 'agents']) await db.schema.dropTable(t).ifExists().execute();
}
