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
  /** Which file of assets/packs a prebuilt pack came from ('' for operator packs); migration 0006. */
  prebuilt_id: Default<string>;
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

export interface UsersTable {
  id: Id;
  email: string;
  name: Default<string>;
  role: string;
  password_hash: string;
  created_at: number;
  updated_at: number;
  disabled_at: number | null;
  last_login_at: number | null;
}

export interface SessionsTable {
  /** SHA-256 of the session token; the token is only in the operator's cookie. */
  id: string;
  user_id: number;
  created_at: number;
  last_used_at: number;
  expires_at: number;
  ip: Default<string>;
  user_agent: Default<string>;
  revoked_at: number | null;
}

export interface ApiTokensTable {
  id: Id;
  user_id: number;
  name: string;
  token_hash: string;
  prefix: string;
  role: string;
  created_at: number;
  expires_at: number | null;
  last_used_at: number | null;
  revoked_at: number | null;
}

export interface AuditLogTable {
  id: Id;
  at: number;
  actor_id: number | null;
  actor_email: Default<string>;
  action: string;
  target_type: Default<string>;
  target_id: Default<string>;
  ip: Default<string>;
  details: Default<string>;
}

/** Live queries (seed 004): one run of one SQL or of several (a pack), with counters kept current. */
export interface LiveQueriesTable {
  id: Id;
  created_at: number;
  /** No foreign key: history outlives deleted users (the email is kept for display). */
  created_by: number | null;
  created_by_email: Default<string>;
  pack_id: number | null;
  pack_name: Default<string>;
  saved_query_id: number | null;
  rerun_of: number | null;
  /** JSON TargetSpec as requested (rerun resolves it again). */
  targets: string;
  timeout_seconds: number;
  expires_at: number;
  target_count: number;
  /** target_count × queries: answers expected. */
  expected: number;
  /** Answers in a final status (successful, failed, expired, cancelled). */
  resolved: Default<number>;
  /** Bumped per answer: the order the SSE stream replays answers in. */
  answer_seq: Default<number>;
  row_count: Default<number>;
  stored_rows: Default<number>;
  truncated: Default<number>;
  /** JSON array of SQL validator warnings. */
  warnings: Default<string>;
  cancelled_at: number | null;
  finished_at: number | null;
}

export interface LiveQueryQueriesTable {
  live_query_id: number;
  idx: number;
  name: string;
  /** The name sent to osquery: mimir_live_<id> or mimir_live_<id>_<n>. */
  dist_name: string;
  sql: string;
  ecs_mapping: Default<string>;
  /** JSON array of result column names, first-seen order. */
  columns: Default<string>;
  successful: Default<number>;
  failed: Default<number>;
  expired: Default<number>;
  cancelled: Default<number>;
}

/** One row per (live query, query, host); no foreign key to hosts so history survives host deletion. */
export interface LiveQueryHostsTable {
  live_query_id: number;
  query_idx: number;
  host_id: number;
  status: Default<string>;
  message: Default<string>;
  row_count: Default<number>;
  answered_at: number | null;
  seq: number | null;
}

export interface LiveQueryResultsTable {
  id: Id;
  live_query_id: number;
  query_idx: number;
  host_id: number;
  row_idx: number;
  /** The row as JSON. */
  data: string;
}

/** Labels (hosts area): builtin platform labels, dynamic (SQL) and manual labels. */
export interface LabelsTable {
  id: Id;
  name: string;
  description: Default<string>;
  /** `builtin`, `dynamic` or `manual`. */
  label_type: string;
  /** Dynamic labels: a host is a member while this returns rows (Fleet §1.6). */
  query: Default<string>;
  /** Comma-separated platform families; empty = all. Builtin labels: membership by platform. */
  platforms: Default<string>;
  created_at: number;
  updated_at: number;
}

/** Members of dynamic and manual labels (only members are stored). */
export interface LabelMembershipTable {
  label_id: number;
  host_id: number;
  created_at: number;
}

/** When each host's dynamic label queries are next due. */
export interface HostLabelScheduleTable {
  host_id: number;
  due_at: number;
}

/** Signed update artifacts (seed 000): one registered manifest per (kind, os, arch, version). */
export interface UpdateArtifactsTable {
  id: Id;
  /** `osquery` or `agent`. */
  kind: string;
  /** Kept exactly as typed. */
  version: string;
  os: string;
  arch: string;
  url: string;
  /** Lower-case hex. */
  sha256: string;
  /** Lower-case hex Ed25519 signature over the canonical manifest (docs/updates.md). */
  signature: string;
  /** RFC 3339 UTC, as signed. */
  timestamp: string;
  /** Which configured public key verified the signature. */
  key_id: string;
  /** Percent 0–100; 0 = paused. */
  rollout: Default<number>;
  added_at: number;
  added_by_id: number | null;
  added_by_email: Default<string>;
  /** Null while pending. */
  approved_at: number | null;
  approved_by_id: number | null;
  approved_by_email: string | null;
  updated_at: number;
}

/** Every approval ever given, kept after a row is deleted: the order "newer than what a host runs" needs it. */
export interface UpdateApprovalsTable {
  id: Id;
  artifact_id: number;
  kind: string;
  os: string;
  arch: string;
  version: string;
  approved_at: number;
  approved_by_id: number | null;
  approved_by_email: Default<string>;
}

/** Uploaded binaries under `<dataDir>/binaries`. */
export interface UpdateBinariesTable {
  id: Id;
  kind: string;
  os: string;
  arch: string;
  version: string;
  /** Path relative to `<dataDir>/binaries`. */
  file: string;
  sha256: string;
  size: number;
  uploaded_at: number;
  uploaded_by_id: number | null;
  uploaded_by_email: Default<string>;
}

/** Mimir agent identities (migration 0009): tied to the osquery host of the same hardware UUID. */
export interface AgentsTable {
  id: Id;
  key_hash: string;
  group_id: number;
  hardware_uuid: string;
  hostname: Default<string>;
  os: Default<string>;
  arch: Default<string>;
  agent_version: Default<string>;
  osquery_version: Default<string>;
  auto_update: Default<number>;
  host_id: number | null;
  enrolled_at: number;
  checked_in_at: Default<number>;
}

/** What agents reported about install attempts (installed, rolled back, refused). */
export interface AgentUpdateReportsTable {
  id: Id;
  agent_id: number;
  host_id: number | null;
  kind: string;
  from_version: Default<string>;
  to_version: string;
  outcome: string;
  message: Default<string>;
  reported_at: number;
}

/** Each host's last update check from its agent (side table: Fleet §2.7). */
export interface HostUpdateChecksTable {
  host_id: number;
  os: string;
  arch: string;
  osquery_version: Default<string>;
  agent_version: Default<string>;
  /** 1 when the installer enabled osquery auto-updates. */
  auto_update: Default<number>;
  checked_at: number;
}

/** Saved queries (seed 004); `prebuilt` rows ship with Mimir and are read-only. */
export interface SavedQueriesTable {
  id: Id;
  /** Unique: Elastic's query "ID". */
  name: string;
  description: Default<string>;
  sql: string;
  /** Seconds, 60–900. */
  timeout: Default<number>;
  /** JSON object: ECS field → {field} or {value}. */
  ecs_mapping: Default<string>;
  /** Pack defaults: interval (seconds), minimum osquery version, platform filter. */
  interval: Default<number>;
  min_osquery_version: Default<string>;
  platform: Default<string>;
  prebuilt: Default<number>;
  created_at: number;
  updated_at: number;
  created_by: Default<string>;
  updated_by: Default<string>;
}

export interface Database {
  saved_queries: SavedQueriesTable;
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
  users: UsersTable;
  sessions: SessionsTable;
  api_tokens: ApiTokensTable;
  audit_log: AuditLogTable;
  live_queries: LiveQueriesTable;
  live_query_queries: LiveQueryQueriesTable;
  live_query_hosts: LiveQueryHostsTable;
  live_query_results: LiveQueryResultsTable;
  labels: LabelsTable;
  label_membership: LabelMembershipTable;
  host_label_schedule: HostLabelScheduleTable;
  update_artifacts: UpdateArtifactsTable;
  update_approvals: UpdateApprovalsTable;
  update_binaries: UpdateBinariesTable;
  host_update_checks: HostUpdateChecksTable;
  agents: AgentsTable;
  agent_update_reports: AgentUpdateReportsTable;
}

