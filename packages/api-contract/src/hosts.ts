/**
 * Hosts (issue #4 "Hosts"): inventory list with filters, sorts and keyset cursors, counts, the
 * dashboard summary, CSV export, host details, refetch, and the live-query target picker.
 * Filters follow Fleet's `GET /hosts` (fleet.md §1.1) and seed 000 ("filter by osquery version").
 */
import Type from 'typebox';
import { Id, NullableTimestamp, Page, Timestamp } from './common.js';

/** Host platform families as Mimir stores them (osquery-protocol platform vocabulary). */
export const HostPlatform = Type.Union(
  [Type.Literal('linux'), Type.Literal('darwin'), Type.Literal('windows'), Type.Literal('freebsd'), Type.Literal('unknown')],
  { description: 'Platform family: linux, darwin (macOS), windows, freebsd, unknown' },
);
export type HostPlatform = Type.Static<typeof HostPlatform>;

/** Platform families a label or a target can name (no `unknown`). */
export const PlatformFamily = Type.Union([Type.Literal('linux'), Type.Literal('darwin'), Type.Literal('windows'), Type.Literal('freebsd')]);
export type PlatformFamily = Type.Static<typeof PlatformFamily>;

export const HostStatus = Type.Union([Type.Literal('online'), Type.Literal('offline')], {
  description: 'online = seen within max(distributed_interval, config_refresh) + the online buffer (Fleet §1.1)',
});
export type HostStatus = Type.Static<typeof HostStatus>;

export const HOST_SORT_KEYS = ['hostname', 'lastSeen', 'enrolledAt', 'osqueryVersion', 'platform'] as const;
export const HostSortKey = Type.Union(HOST_SORT_KEYS.map((k) => Type.Literal(k)));
export type HostSortKey = (typeof HOST_SORT_KEYS)[number];
export const SortOrder = Type.Union([Type.Literal('asc'), Type.Literal('desc')]);

const ShortText = (description: string) => Type.String({ maxLength: 200, description });

/** Filters shared by the list, the count and the CSV export. */
export const HostFilterFields = {
  q: Type.Optional(Type.String({ maxLength: 200, description: 'Free text over hostname, computer name, hardware UUID, identifier, serial and primary IP' })),
  status: Type.Optional(Type.Union([Type.Literal('online'), Type.Literal('offline'), Type.Literal('new')], { description: 'new = enrolled in the last 24 h (overlaps online/offline)' })),
  platform: Type.Optional(HostPlatform),
  osName: Type.Optional(ShortText('Exact os_version.name, e.g. Ubuntu')),
  osVersion: Type.Optional(ShortText('Exact os_version.version')),
  osqueryVersion: Type.Optional(ShortText('Exact osquery version, e.g. 5.23.1')),
  agentVersion: Type.Optional(ShortText('Exact agent version')),
  groupId: Type.Optional(Type.Integer({ minimum: 1 })),
  labelId: Type.Optional(Type.Integer({ minimum: 1 })),
  duplicateIdentifier: Type.Optional(Type.Boolean({ description: 'Hosts sharing an identifier with another live osquery instance (clones)' })),
};
export const HostFilterQuery = Type.Object(HostFilterFields);
export type HostFilterQuery = Type.Static<typeof HostFilterQuery>;

export const HostListQuery = Type.Object({
  ...HostFilterFields,
  sort: Type.Optional(HostSortKey),
  order: Type.Optional(SortOrder),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 50 })),
  cursor: Type.Optional(Type.String({ maxLength: 512 })),
});
export type HostListQuery = Type.Static<typeof HostListQuery>;

/** CSV export: the list's filters and sort, every page. */
export const HostExportQuery = Type.Object({ ...HostFilterFields, sort: Type.Optional(HostSortKey), order: Type.Optional(SortOrder) });

export const GroupRef = Type.Object({ id: Id, name: Type.String() });

export const Host = Type.Object({
  id: Id,
  hostname: Type.String(),
  computerName: Type.String(),
  /** What the console shows: computer name when set, else hostname, else the identifier. */
  displayName: Type.String(),
  identifier: Type.String(),
  hardwareUuid: Type.String(),
  hardwareSerial: Type.String(),
  hardwareVendor: Type.String(),
  hardwareModel: Type.String(),
  platform: HostPlatform,
  platformLike: Type.String(),
  osName: Type.String(),
  osVersion: Type.String(),
  osBuild: Type.String(),
  arch: Type.String(),
  osqueryVersion: Type.String(),
  agentVersion: Type.String(),
  cpuBrand: Type.String(),
  cpuLogicalCores: Type.Integer(),
  physicalMemory: Type.Integer(),
  primaryIp: Type.String(),
  primaryMac: Type.String(),
  remoteIp: Type.String(),
  uptimeSeconds: Type.Integer(),
  diskAvailableBytes: Type.Integer(),
  diskTotalBytes: Type.Integer(),
  enrollMethod: Type.String(),
  duplicateIdentifier: Type.Boolean(),
  group: GroupRef,
  status: HostStatus,
  isNew: Type.Boolean({ description: 'Enrolled in the last 24 h' }),
  lastSeenAt: NullableTimestamp,
  enrolledAt: Timestamp,
  lastEnrolledAt: Timestamp,
  detailUpdatedAt: NullableTimestamp,
  refetchRequested: Type.Boolean(),
});
export type Host = Type.Static<typeof Host>;
export const HostList = Page(Host);
export type HostList = Type.Static<typeof HostList>;

export const HostCount = Type.Object({ count: Type.Integer() });

export const HostSummaryQuery = Type.Object({ groupId: Type.Optional(Type.Integer({ minimum: 1 })) });
export const HostSummary = Type.Object({
  total: Type.Integer(),
  online: Type.Integer(),
  offline: Type.Integer(),
  new: Type.Integer(),
  byPlatform: Type.Array(Type.Object({ platform: HostPlatform, total: Type.Integer(), online: Type.Integer(), offline: Type.Integer(), new: Type.Integer() })),
  byOsqueryVersion: Type.Array(Type.Object({ version: Type.String(), count: Type.Integer() })),
  /** When these counts were computed: the summary is cached for a few seconds. */
  generatedAt: Timestamp,
  maxAgeSeconds: Type.Integer(),
});
export type HostSummary = Type.Static<typeof HostSummary>;

export const LabelRef = Type.Object({
  id: Id,
  name: Type.String(),
  type: Type.Union([Type.Literal('builtin'), Type.Literal('dynamic'), Type.Literal('manual')]),
});

export const ScheduledQueryStats = Type.Object({
  /** The schedule name osquery reports, e.g. `pack/<pack>/<query>`. */
  name: Type.String(),
  pack: Type.String(),
  query: Type.String(),
  executions: Type.Integer(),
  lastExecutedAt: NullableTimestamp,
  /** The osquery watchdog stopped running this query on the host (Fleet §4 item 10). */
  denylisted: Type.Boolean(),
  wallTimeMs: Type.Integer(),
  userTime: Type.Integer(),
  systemTime: Type.Integer(),
  averageMemory: Type.Integer(),
  outputSize: Type.Integer(),
  updatedAt: Timestamp,
});
export type ScheduledQueryStats = Type.Static<typeof ScheduledQueryStats>;

export const HostPackQuery = Type.Object({
  name: Type.String(),
  sql: Type.String(),
  interval: Type.Integer(),
  platform: Type.String(),
  stats: Type.Union([ScheduledQueryStats, Type.Null()], { description: 'null until the host reports osquery_schedule for it' }),
});
export const HostPack = Type.Object({
  id: Id,
  name: Type.String(),
  platform: Type.String(),
  /** Percentage of the group's hosts that run the pack (osquery `shard`). */
  shard: Type.Integer(),
  queries: Type.Array(HostPackQuery),
});

export const HostStatusLogEntry = Type.Object({
  at: Timestamp,
  receivedAt: Timestamp,
  severity: Type.Integer({ description: '0 info, 1 warning, 2 error, 3 fatal' }),
  filename: Type.String(),
  line: Type.Integer(),
  message: Type.String(),
  version: Type.String(),
});

export const HostUser = Type.Object({
  uid: Type.String(),
  username: Type.String(),
  description: Type.String(),
  directory: Type.String(),
  shell: Type.String(),
  type: Type.String(),
});

export const HostVitalsTable = Type.Object({
  /** The osquery table (or detail query) name, e.g. system_info. */
  name: Type.String(),
  data: Type.Unknown(),
  updatedAt: Timestamp,
});

/** What the host's mimir-agent last reported, and its recent install outcomes (issue #6). */
export const HostAgent = Type.Object({
  version: Type.String(),
  osqueryVersion: Type.String({ description: 'osquery version as the agent reported it' }),
  os: Type.String(),
  arch: Type.String(),
  /** false when the installer did not enable osquery auto-updates (seed 000 troubleshooting (2)). */
  autoUpdate: Type.Boolean(),
  enrolledAt: Timestamp,
  lastCheckInAt: NullableTimestamp,
  recentUpdates: Type.Array(Type.Object({
    kind: Type.String({ description: 'osquery or agent' }),
    fromVersion: Type.String(),
    toVersion: Type.String(),
    outcome: Type.String({ description: 'e.g. installed, rolled_back, refused' }),
    message: Type.String(),
    reportedAt: Timestamp,
  })),
});
export type HostAgent = Type.Static<typeof HostAgent>;

export const HostDetail = Type.Object({
  ...Host.properties,
  vitals: Type.Array(HostVitalsTable),
  labels: Type.Array(LabelRef),
  packs: Type.Array(HostPack),
  /** Every scheduled query the watchdog denylisted on this host, in or out of current packs. */
  denylistedQueries: Type.Array(ScheduledQueryStats),
  /** Reported schedule entries that match no current pack query (removed packs, local schedule). */
  otherScheduledQueries: Type.Array(ScheduledQueryStats),
  /** Newest 50 status-log lines with severity ≥ 1 (warning and above). */
  recentErrors: Type.Array(HostStatusLogEntry),
  users: Type.Array(HostUser),
  softwareCount: Type.Integer(),
  /** The mimir-agent wrapping this host's osqueryd (seeds 000, 002), or null when none checked in. */
  agent: Type.Union([HostAgent, Type.Null()]),
});
export type HostDetail = Type.Static<typeof HostDetail>;

export const SoftwareQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
  cursor: Type.Optional(Type.String({ maxLength: 512 })),
  q: Type.Optional(Type.String({ maxLength: 200, description: 'Substring of the package name' })),
});
export const Software = Type.Object({
  name: Type.String(),
  version: Type.String(),
  source: Type.String(),
  vendor: Type.String(),
  arch: Type.String(),
});
export const SoftwareList = Page(Software);

// --- live-query target picker (seed 004: "suggestions for agents by name, ID, platform, and policy")

export const TargetSearchQuery = Type.Object({
  q: Type.String({ maxLength: 200 }),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 50, default: 10 })),
});
export const TargetSearchResult = Type.Object({
  hosts: Type.Array(Type.Object({ id: Id, displayName: Type.String(), hostname: Type.String(), identifier: Type.String(), platform: HostPlatform, status: HostStatus })),
  groups: Type.Array(Type.Object({ id: Id, name: Type.String(), hostCount: Type.Integer() })),
  labels: Type.Array(Type.Object({ ...LabelRef.properties, hostCount: Type.Integer() })),
  platforms: Type.Array(Type.Object({ platform: PlatformFamily, hostCount: Type.Integer() })),
});
export type TargetSearchResult = Type.Static<typeof TargetSearchResult>;

const IdList = Type.Array(Type.Integer({ minimum: 1 }), { maxItems: 100_000 });
/** A host matching any part is targeted (Fleet: labels are OR-ed). */
export const TargetSpec = Type.Object({
  all: Type.Optional(Type.Boolean()),
  hostIds: Type.Optional(IdList),
  labelIds: Type.Optional(Type.Array(Type.Integer({ minimum: 1 }), { maxItems: 1000 })),
  groupIds: Type.Optional(Type.Array(Type.Integer({ minimum: 1 }), { maxItems: 1000 })),
  platforms: Type.Optional(Type.Array(PlatformFamily, { maxItems: 4 })),
}, { additionalProperties: false });
export type TargetSpec = Type.Static<typeof TargetSpec>;
export const TargetCount = Type.Object({ total: Type.Integer(), online: Type.Integer(), offline: Type.Integer() });
