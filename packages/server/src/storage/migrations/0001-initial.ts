import type { Kysely } from 'kysely';
import type { DialectHelpers } from '../dialect.js';

/** The core tables: groups and enroll secrets, hosts and vitals, logs, distributed queue, carves, packs. */
export async function up(db: Kysely<unknown>, d: DialectHelpers): Promise<void> {
  const big = d.bigint;

  await d.addIdColumn(db.schema.createTable('groups'))
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('options', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('created_at', big, (c) => c.notNull())
    .addColumn('updated_at', big, (c) => c.notNull())
    .execute();

  await d.addIdColumn(db.schema.createTable('enroll_secrets'))
    .addColumn('group_id', big, (c) => c.notNull().references('groups.id').onDelete('cascade'))
    .addColumn('secret', 'text', (c) => c.notNull().unique())
    .addColumn('name', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('created_at', big, (c) => c.notNull())
    .addColumn('revoked_at', big)
    .execute();

  let hosts = d.addIdColumn(db.schema.createTable('hosts'))
    .addColumn('node_key_hash', 'text', (c) => c.unique())
    .addColumn('identifier', 'text', (c) => c.notNull())
    .addColumn('instance_id', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('duplicate_identifier', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('enroll_method', 'text', (c) => c.notNull().defaultTo('secret'))
    .addColumn('group_id', big, (c) => c.notNull().references('groups.id'));
  for (const col of [
    'hostname', 'computer_name', 'hardware_uuid', 'hardware_serial', 'hardware_vendor', 'hardware_model', 'platform',
    'platform_like', 'os_name', 'os_version', 'os_build', 'arch', 'osquery_version', 'agent_version', 'cpu_brand',
    'primary_ip', 'primary_mac', 'remote_ip',
  ]) {
    hosts = hosts.addColumn(col, 'text', (c) => c.notNull().defaultTo(''));
  }
  for (const col of [
    'cpu_logical_cores', 'physical_memory', 'uptime_seconds', 'disk_available_bytes', 'disk_total_bytes', 'enrolled_at',
    'last_enrolled_at', 'detail_updated_at', 'refetch_requested', 'distributed_interval', 'config_refresh', 'created_at',
    'updated_at',
  ]) {
    hosts = hosts.addColumn(col, big, (c) => c.notNull().defaultTo(0));
  }
  await hosts.addUniqueConstraint('hosts_identity', ['identifier', 'instance_id']).execute();
  for (const col of ['platform', 'osquery_version', 'agent_version', 'group_id', 'hostname', 'os_version', 'hardware_serial', 'primary_ip']) {
    await db.schema.createIndex(`hosts_${col}`).on('hosts').column(col).execute();
  }

  await db.schema.createTable('host_seen')
    .addColumn('host_id', big, (c) => c.primaryKey().references('hosts.id').onDelete('cascade'))
    .addColumn('seen_at', big, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('host_seen_seen_at').on('host_seen').column('seen_at').execute();

  await db.schema.createTable('host_vitals')
    .addColumn('host_id', big, (c) => c.notNull().references('hosts.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('data', 'text', (c) => c.notNull())
    .addColumn('updated_at', big, (c) => c.notNull())
    .addPrimaryKeyConstraint('host_vitals_pk', ['host_id', 'name'])
    .execute();

  await db.schema.createTable('host_software')
    .addColumn('host_id', big, (c) => c.notNull().references('hosts.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('version', 'text', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('vendor', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('arch', 'text', (c) => c.notNull().defaultTo(''))
    .execute();
  await db.schema.createIndex('host_software_host').on('host_software').column('host_id').execute();
  await db.schema.createIndex('host_software_name').on('host_software').columns(['name', 'version']).execute();

  await db.schema.createTable('host_users')
    .addColumn('host_id', big, (c) => c.notNull().references('hosts.id').onDelete('cascade'))
    .addColumn('uid', 'text', (c) => c.notNull())
    .addColumn('username', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('directory', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('shell', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('type', 'text', (c) => c.notNull().defaultTo(''))
    .execute();
  await db.schema.createIndex('host_users_host').on('host_users').column('host_id').execute();
  await db.schema.createIndex('host_users_username').on('host_users').column('username').execute();

  let stats = db.schema.createTable('host_schedule_stats')
    .addColumn('host_id', big, (c) => c.notNull().references('hosts.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('pack', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('query', 'text', (c) => c.notNull().defaultTo(''));
  for (const col of ['executions', 'last_executed', 'denylisted', 'wall_time_ms', 'user_time', 'system_time', 'average_memory', 'output_size', 'updated_at']) {
    stats = stats.addColumn(col, big, (c) => c.notNull().defaultTo(0));
  }
  await stats.addPrimaryKeyConstraint('host_schedule_stats_pk', ['host_id', 'name']).execute();
  await db.schema.createIndex('host_schedule_stats_pack').on('host_schedule_stats').columns(['pack', 'query']).execute();

  await d.addIdColumn(db.schema.createTable('result_logs'))
    .addColumn('host_id', big, (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('pack', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('query', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('columns', 'text', (c) => c.notNull())
    .addColumn('decorations', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('unix_time', big, (c) => c.notNull())
    .addColumn('epoch', big, (c) => c.notNull().defaultTo(0))
    .addColumn('counter', big, (c) => c.notNull().defaultTo(0))
    .addColumn('received_at', big, (c) => c.notNull())
    .addColumn('dedup', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('result_logs_dedup').unique().on('result_logs').columns(['host_id', 'dedup']).execute();
  await db.schema.createIndex('result_logs_name_time').on('result_logs').columns(['name', 'unix_time']).execute();
  await db.schema.createIndex('result_logs_pack_time').on('result_logs').columns(['pack', 'query', 'unix_time']).execute();
  await db.schema.createIndex('result_logs_host_time').on('result_logs').columns(['host_id', 'unix_time']).execute();
  await db.schema.createIndex('result_logs_received').on('result_logs').column('received_at').execute();

  await d.addIdColumn(db.schema.createTable('status_logs'))
    .addColumn('host_id', big, (c) => c.notNull())
    .addColumn('unix_time', big, (c) => c.notNull())
    .addColumn('severity', 'integer', (c) => c.notNull())
    .addColumn('filename', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('line', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('message', 'text', (c) => c.notNull())
    .addColumn('version', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('received_at', big, (c) => c.notNull())
    .addColumn('dedup', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('status_logs_dedup').unique().on('status_logs').columns(['host_id', 'dedup']).execute();
  await db.schema.createIndex('status_logs_host_time').on('status_logs').columns(['host_id', 'unix_time']).execute();
  await db.schema.createIndex('status_logs_received').on('status_logs').column('received_at').execute();

  await d.addIdColumn(db.schema.createTable('distributed_queue'))
    .addColumn('host_id', big, (c) => c.notNull().references('hosts.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('sql', 'text', (c) => c.notNull())
    .addColumn('discovery', 'text')
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('created_at', big, (c) => c.notNull())
    .addColumn('expires_at', big)
    .addColumn('delivered_at', big)
    .addColumn('answered_at', big)
    .addUniqueConstraint('distributed_queue_host_name', ['host_id', 'name'])
    .execute();
  await db.schema.createIndex('distributed_queue_pending').on('distributed_queue').columns(['delivered_at', 'host_id']).execute();

  await db.schema.createTable('distributed_results')
    .addColumn('host_id', big, (c) => c.notNull().references('hosts.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('status', 'integer', (c) => c.notNull())
    .addColumn('message', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('rows', 'text', (c) => c.notNull())
    .addColumn('row_count', 'integer', (c) => c.notNull())
    .addColumn('stats', 'text')
    .addColumn('received_at', big, (c) => c.notNull())
    .addPrimaryKeyConstraint('distributed_results_pk', ['host_id', 'name'])
    .execute();
  await db.schema.createIndex('distributed_results_name').on('distributed_results').column('name').execute();

  await d.addIdColumn(db.schema.createTable('carves'))
    .addColumn('session_id', 'text', (c) => c.notNull().unique())
    .addColumn('host_id', big, (c) => c.notNull())
    .addColumn('carve_guid', 'text', (c) => c.notNull())
    .addColumn('request_id', 'text', (c) => c.notNull())
    .addColumn('block_count', big, (c) => c.notNull())
    .addColumn('block_size', big, (c) => c.notNull())
    .addColumn('carve_size', big, (c) => c.notNull())
    .addColumn('blocks_received', big, (c) => c.notNull().defaultTo(0))
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('sha256', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('path', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('error', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('created_at', big, (c) => c.notNull())
    .addColumn('updated_at', big, (c) => c.notNull())
    .addColumn('completed_at', big)
    .execute();
  await db.schema.createIndex('carves_host').on('carves').column('host_id').execute();
  await db.schema.createIndex('carves_guid').on('carves').column('carve_guid').execute();

  await db.schema.createTable('carve_blocks')
    .addColumn('carve_id', big, (c) => c.notNull().references('carves.id').onDelete('cascade'))
    .addColumn('block_id', big, (c) => c.notNull())
    .addColumn('size', big, (c) => c.notNull())
    .addPrimaryKeyConstraint('carve_blocks_pk', ['carve_id', 'block_id'])
    .execute();

  await d.addIdColumn(db.schema.createTable('packs'))
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('platform', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('min_osquery_version', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('discovery', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('enabled', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('global', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('global_shard', 'integer', (c) => c.notNull().defaultTo(100))
    .addColumn('read_only', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', big, (c) => c.notNull())
    .addColumn('updated_at', big, (c) => c.notNull())
    .execute();

  await d.addIdColumn(db.schema.createTable('pack_queries'))
    .addColumn('pack_id', big, (c) => c.notNull().references('packs.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('sql', 'text', (c) => c.notNull())
    .addColumn('interval', 'integer', (c) => c.notNull())
    .addColumn('snapshot', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('removed', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('platform', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('min_osquery_version', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('shard', 'integer')
    .addColumn('denylist', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('timeout', 'integer', (c) => c.notNull().defaultTo(60))
    .addColumn('ecs_mapping', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('value', 'text', (c) => c.notNull().defaultTo(''))
    .addUniqueConstraint('pack_queries_name', ['pack_id', 'name'])
    .execute();

  await db.schema.createTable('pack_targets')
    .addColumn('pack_id', big, (c) => c.notNull().references('packs.id').onDelete('cascade'))
    .addColumn('group_id', big, (c) => c.notNull().references('groups.id').onDelete('cascade'))
    .addColumn('shard', 'integer', (c) => c.notNull().defaultTo(100))
    .addPrimaryKeyConstraint('pack_targets_pk', ['pack_id', 'group_id'])
    .execute();

  await db.schema.createTable('settings')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .addColumn('updated_at', big, (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of [
    'settings', 'pack_targets', 'pack_queries', 'packs', 'carve_blocks', 'carves', 'distributed_results',
    'distributed_queue', 'status_logs', 'result_logs', 'host_schedule_stats', 'host_users', 'host_software', 'host_vitals', 'host_seen',
    'hosts', 'enroll_secrets', 'groups',
  ]) {
    await db.schema.dropTable(t).ifExists().execute();
  }
}
