/**
 * Presenters for hosts, groups and labels: exactly the fields that leave the server, snake_case
 * rows → camelCase (same rule as ../presenters.ts). Times are ISO strings.
 */
import type { EnrollSecret, Group, Host, HostDetail, HostPlatform, HostSummary, Label, PlatformFamily, ScheduledQueryStats } from '@mimir/api-contract';
import { HOST_PLATFORMS } from '@mimir/osquery-protocol';
import type { Selectable } from 'kysely';
import type { EnrollSecretsTable, HostScheduleStatsTable, StatusLogsTable } from '../../storage/schema.js';
import type { HostRecord, HostsService, HostSummaryData } from '../../services/hosts/hosts.service.js';
import type { GroupView } from '../../services/hosts/groups.service.js';
import { labelPlatforms, type LabelView } from '../../services/labels/labels.service.js';
import { iso, isoOrNull } from '../presenters.js';

function platformOf(p: string): HostPlatform {
  return (HOST_PLATFORMS as readonly string[]).includes(p) ? (p as HostPlatform) : 'unknown';
}

export function presentHost(h: HostRecord): Host {
  const r = h.row;
  return {
    id: r.id,
    hostname: r.hostname,
    computerName: r.computer_name,
    displayName: r.computer_name || r.hostname || r.identifier,
    identifier: r.identifier,
    hardwareUuid: r.hardware_uuid,
    hardwareSerial: r.hardware_serial,
    hardwareVendor: r.hardware_vendor,
    hardwareModel: r.hardware_model,
    platform: platformOf(r.platform),
    platformLike: r.platform_like,
    osName: r.os_name,
    osVersion: r.os_version,
    osBuild: r.os_build,
    arch: r.arch,
    osqueryVersion: r.osquery_version,
    agentVersion: r.agent_version,
    cpuBrand: r.cpu_brand,
    cpuLogicalCores: r.cpu_logical_cores,
    physicalMemory: r.physical_memory,
    primaryIp: r.primary_ip,
    primaryMac: r.primary_mac,
    remoteIp: r.remote_ip,
    uptimeSeconds: r.uptime_seconds,
    diskAvailableBytes: r.disk_available_bytes,
    diskTotalBytes: r.disk_total_bytes,
    enrollMethod: r.enroll_method,
    duplicateIdentifier: r.duplicate_identifier !== 0,
    group: { id: r.group_id, name: r.group_name },
    status: h.online ? 'online' : 'offline',
    isNew: h.isNew,
    lastSeenAt: h.seenAt > 0 ? iso(h.seenAt) : null,
    enrolledAt: iso(r.enrolled_at),
    lastEnrolledAt: iso(r.last_enrolled_at),
    detailUpdatedAt: r.detail_updated_at > 0 ? iso(r.detail_updated_at) : null,
    refetchRequested: r.refetch_requested !== 0,
  };
}

export function presentSummary(s: HostSummaryData, maxAgeSeconds: number): HostSummary {
  return {
    total: s.total,
    online: s.online,
    offline: s.offline,
    new: s.new,
    byPlatform: s.byPlatform.map((p) => ({ platform: platformOf(p.platform), total: p.total, online: p.online, offline: p.offline, new: p.new })),
    byOsqueryVersion: s.byOsqueryVersion,
    generatedAt: iso(s.generatedAt),
    maxAgeSeconds,
  };
}

function presentStats(s: Selectable<HostScheduleStatsTable>): ScheduledQueryStats {
  return {
    name: s.name,
    pack: s.pack,
    query: s.query,
    executions: s.executions,
    // osquery_schedule.last_executed is in seconds.
    lastExecutedAt: s.last_executed > 0 ? iso(s.last_executed * 1000) : null,
    denylisted: s.denylisted !== 0,
    wallTimeMs: s.wall_time_ms,
    userTime: s.user_time,
    systemTime: s.system_time,
    averageMemory: s.average_memory,
    outputSize: s.output_size,
    updatedAt: iso(s.updated_at),
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function presentStatus(s: Selectable<StatusLogsTable>) {
  return {
    at: iso(s.unix_time * 1000),
    receivedAt: iso(s.received_at),
    severity: s.severity,
    filename: s.filename,
    line: s.line,
    message: s.message,
    version: s.version,
  };
}

type LabelKindName = 'builtin' | 'dynamic' | 'manual';
function kind(t: string): LabelKindName {
  return t === 'builtin' || t === 'dynamic' ? t : 'manual';
}

export function presentHostDetail(d: Awaited<ReturnType<HostsService['detail']>>): HostDetail {
  return {
    ...presentHost(d.host),
    vitals: d.vitals.map((v) => ({ name: v.name, data: parseJson(v.data), updatedAt: iso(v.updated_at) })),
    labels: d.labels.map((l) => ({ id: l.id, name: l.name, type: kind(l.label_type) })),
    packs: d.packs.map(({ pack, queries }) => ({
      id: pack.id,
      name: pack.name,
      platform: pack.platform,
      shard: pack.shard,
      queries: queries.map(({ query, stats }) => ({
        name: query.name,
        sql: query.sql,
        interval: query.interval,
        platform: query.platform,
        stats: stats === undefined ? null : presentStats(stats),
      })),
    })),
    denylistedQueries: d.denylisted.map(presentStats),
    otherScheduledQueries: d.otherScheduled.map(presentStats),
    recentErrors: d.errors.map(presentStatus),
    users: d.users.map((u) => ({ uid: u.uid, username: u.username, description: u.description, directory: u.directory, shell: u.shell, type: u.type })),
    softwareCount: d.softwareCount,
    agent: d.agent === undefined ? null : {
      version: d.agent.row.agent_version,
      osqueryVersion: d.agent.row.osquery_version,
      os: d.agent.row.os,
      arch: d.agent.row.arch,
      autoUpdate: d.agent.row.auto_update !== 0,
      enrolledAt: iso(d.agent.row.enrolled_at),
      lastCheckInAt: d.agent.row.checked_in_at > 0 ? iso(d.agent.row.checked_in_at) : null,
      recentUpdates: d.agent.updates.map((u) => ({
        kind: u.kind, fromVersion: u.from_version, toVersion: u.to_version, outcome: u.outcome, message: u.message, reportedAt: iso(u.reported_at),
      })),
    },
  };
}

export function presentGroup(g: GroupView): Group {
  return {
    id: g.id,
    name: g.name,
    description: g.description,
    options: g.options,
    isDefault: g.isDefault,
    hostCount: g.hostCount,
    activeSecrets: g.activeSecrets,
    createdAt: iso(g.createdAt),
    updatedAt: iso(g.updatedAt),
  };
}

export function presentSecret(s: Selectable<EnrollSecretsTable>): EnrollSecret {
  return {
    id: s.id,
    groupId: s.group_id,
    name: s.name,
    secret: s.secret,
    active: s.revoked_at === null,
    createdAt: iso(s.created_at),
    revokedAt: isoOrNull(s.revoked_at),
  };
}

export function presentLabel(l: LabelView): Label {
  const t = kind(l.row.label_type);
  return {
    id: l.row.id,
    name: l.row.name,
    description: l.row.description,
    type: t,
    query: l.row.query,
    platforms: labelPlatforms(l.row).filter((p): p is PlatformFamily => p === 'linux' || p === 'darwin' || p === 'windows' || p === 'freebsd'),
    readOnly: t === 'builtin',
    hostCount: l.hostCount,
    createdAt: iso(l.row.created_at),
    updatedAt: iso(l.row.updated_at),
  };
}

/** CSV export columns (header, value). */
export const HOST_CSV_COLUMNS: ReadonlyArray<readonly [string, (h: HostRecord) => string | number]> = [
  ['id', (h) => h.row.id],
  ['display_name', (h) => h.row.computer_name || h.row.hostname || h.row.identifier],
  ['hostname', (h) => h.row.hostname],
  ['computer_name', (h) => h.row.computer_name],
  ['status', (h) => (h.online ? 'online' : 'offline')],
  ['last_seen', (h) => (h.seenAt > 0 ? iso(h.seenAt) : '')],
  ['enrolled_at', (h) => iso(h.row.enrolled_at)],
  ['platform', (h) => h.row.platform],
  ['os_name', (h) => h.row.os_name],
  ['os_version', (h) => h.row.os_version],
  ['osquery_version', (h) => h.row.osquery_version],
  ['agent_version', (h) => h.row.agent_version],
  ['group', (h) => h.row.group_name],
  ['primary_ip', (h) => h.row.primary_ip],
  ['primary_mac', (h) => h.row.primary_mac],
  ['remote_ip', (h) => h.row.remote_ip],
  ['hardware_serial', (h) => h.row.hardware_serial],
  ['hardware_uuid', (h) => h.row.hardware_uuid],
  ['hardware_vendor', (h) => h.row.hardware_vendor],
  ['hardware_model', (h) => h.row.hardware_model],
  ['identifier', (h) => h.row.identifier],
  ['cpu_brand', (h) => h.row.cpu_brand],
  ['cpu_logical_cores', (h) => h.row.cpu_logical_cores],
  ['physical_memory', (h) => h.row.physical_memory],
  ['disk_available_bytes', (h) => h.row.disk_available_bytes],
  ['disk_total_bytes', (h) => h.row.disk_total_bytes],
  ['uptime_seconds', (h) => h.row.uptime_seconds],
  ['duplicate_identifier', (h) => (h.row.duplicate_identifier !== 0 ? 'true' : 'false')],
];
