/**
 * Table types for Kysely. One interface per table; timestamps are integer milliseconds since the
 * epoch and JSON values are TEXT, so the same rows work on SQLite and PostgreSQL.
 */
import type { ColumnType, Generated } from 'kysely';

/** Integer ids: generated on insert. */
type Id = Generated<number>;
/** A column with a database default: optional on insert. */
type Default<T> = ColumnType<T, T | undefined, T>;

export interface GroupsTable {
  id: Id;
  name: string;
  description: Default<string>;
  /** JSON object of osquery options that override the global ones for this group. */
  options: Default<string>;
  created_at: number;
  updated_at: number;
}

export interface EnrollSecretsTable {
  id: Id;
  group_id: number;
  /** Kept readable: operators copy it into flagfiles, as in Fleet and Elastic. */
  secret: string;
  name: Default<string>;
  created_at: number;
  revoked_at: number | null;
}

export interface HostsTable {
  id: Id;
  /** SHA-256 (hex) of the current node key; the key itself is never stored. */
  node_key_hash: Default<string | null>;
  /** `host_identifier` as enrolled (or the fallback UUID), see services/enrollment. */
  identifier: string;
  /** `osquery_info.instance_id`: tells clones that share an identifier apart. */
  instance_id: Default<string>;
  /** Another live osquery instance enrolled with the same identifier (a clone). */
  duplicate_identifier: Default<number>;
  /** How the host authenticates: `secret` or `certificate` (TLS client-auth). */
  enroll_method: Default<string>;
  group_id: number;
  hostname: Default<string>;
  computer_name: Default<string>;
  hardware_uuid: Default<string>;
  hardware_serial: Default<string>;
  hardware_vendor: Default<string>;
  hardware_model: Default<string>;
  platform: Default<string>;
  platform_like: Default<string>;
  os_name: Default<string>;
  os_version: Default<string>;
  os_build: Default<string>;
  arch: Default<string>;
  osquery_version: Default<string>;
  agent_version: Default<string>;
  cpu_brand: Default<string>;
  cpu_logical_cores: Default<number>;
  physical_memory: Default<number>;
  primary_ip: Default<string>;
  primary_mac: Default<string>;
  remote_ip: Default<string>;
  uptime_seconds: Default<number>;
  disk_available_bytes: Default<number>;
  disk_total_bytes: Default<number>;
  enrolled_at: Default<number>;
  last_enrolled_at: Default<number>;
  detail_updated_at: Default<number>;
  refetch_requested: Default<number>;
  /** Intervals the host runs with (from the config we served), for online status. */
  distributed_interval: Default<number>;
  config_refresh: Default<number>;
  created_at: Default<number>;
  updated_at: Default<number>;
}

/** Narrow side table so batched last-seen writes never rewrite the wide hosts row (Fleet §2.2). */
export interface HostSeenTable {
  host_id: number;
  seen_at: number;
}

/** Raw host_details / vitals tables as last reported, for the host page. */
export interface HostVitalsTable {
  host_id: number;
  name: string;
  data: string;
  updated_at: number;
}

export interface HostSoftwareTable {
  host_id: number;
  name: string;
  version: string;
  source: string;
  vendor: Default<string>;
  arch: Default<string>;
}

export interface HostUsersTable {
  host_id: number;
  uid: string;
  username: string;
  description: Default<string>;
  directory: Default<string>;
  shell: Default<string>;
  type: Default<string>;
}

/** Per-host scheduled query stats from osquery_schedule (pack status, denylisted queries). */
export interface HostScheduleStatsTable {
  host_id: number;
  name: string;
  pack: string;
  query: string;
  executions: number;
  last_executed: number;
  denylisted: number;
  wall_time_ms: number;
  user_time: number;
  system_time: number;
  average_memory: number;
  output_size: number;
  updated_at: number;
}

export interface ResultLogsTable {
  id: Id;
  host_id: number;
  name: string;
  /** Pack and query names parsed from `pack/<pack>/<query>`; empty when not a pack query. */
  pack: Default<string>;
  query: Default<string>;
  action: string;
  columns: string;
  decorations: Default<string>;
  unix_time: number;
  epoch: Default<number>;
  counter: Default<number>;
  received_at: number;
  /** Hash of (host, request line, row) so a resent batch is not stored twice. */
  dedup: string;
}

export interface StatusLogsTable {
  id: Id;
  host_id: number;
  unix_time: number;
  severity: number;
  filename: Default<string>;
  line: Default<number>;
  message: string;
  version: Default<string>;
  received_at: number;
  dedup: string;
}

export interface DistributedQueueTable {
  id: Id;
  host_id: number;
  /** The query name sent to osquery, which routes its results back. */
  name: string;
  sql: string;
  discovery: string | null;
  source: string;
  created_at: number;
  expires_at: number | null;
  delivered_at: number | null;
  answered_at: number | null;
}

export interface DistributedResultsTable {
  host_id: number;
  name: string;
  status: number;
  message: string;
  rows: string;
  row_count: number;
  stats: string | null;
  received_at: number;
}

export interface CarvesTable {
  id: Id;
  session_id: string;
  host_id: number;
  carve_guid: string;
  request_id: string;
  block_count: number;
  block_size: number;
  carve_size: number;
  blocks_received: Default<number>;
  status: string;
  sha256: Default<string>;
  path: Default<string>;
  error: Default<string>;
  created_at: number;
  updated_at: number;
  completed_at: number | null;
}

export interface CarveBlocksTable {
  carve_id: number;
  block_id: number;
  size: number;
}

export interface PacksTable {
  id: Id;
  name: string;
  description: Default<string>;
  platform: Default<string>;
  min_osquery_version: Default<string>;
  /** JSON array of discovery SQL. */
  discovery: Default<string>;
  enabled: Default<number>;
  /** Deployed to every group (Elastic "Global"). */
  global: Default<number>;
  /** Global shard percentage 1–100 when `global` is set. */
  global_shard: Default<number>;
  /** Prebuilt packs stay read-only until copied (seed 004). */
  read_only: Default<number>;
  created_at: number;
  updated_at: number;
}

export interface PackQueriesTable {
  id: Id;
  pack_id: number;
  name: string;
  description: Default<string>;
  sql: string;
  interval: number;
  snapshot: Default<number>;
  removed: Default<number>;
  platform: Default<string>;
  min_osquery_version: Default<string>;
  shard: number | null;
  denylist: Default<number>;
  timeout: Default<number>;
  ecs_mapping: Default<string>;
  value: Default<string>;
}

export interface PackTargetsTable {
  pack_id: number;
  group_id: number;
  /** Percentage of the group's hosts that run the pack (osquery `shard`). */
  shard: Default<number>;
}

export interface SettingsTable {
  key: string;
  value: string;
  updated_at: number;
}

export interface Database {
  groups: GroupsTable;
  enroll_secrets: EnrollSecretsTable;
  hosts: HostsTable;
  host_seen: HostSeenTable;
  host_vitals: HostVitalsTable;
  host_software: HostSoftwareTable;
  host_users: HostUsersTable;
  host_schedule_stats: HostScheduleStatsTable;
  result_logs: ResultLogsTable;
  status_logs: StatusLogsTable;
  distributed_queue: DistributedQueueTable;
  distributed_results: DistributedResultsTable;
  carves: CarvesTable;
  carve_blocks: CarveBlocksTable;
  packs: PacksTable;
  pack_queries: PackQueriesTable;
  pack_targets: PackTargetsTable;
  settings: SettingsTable;
}

